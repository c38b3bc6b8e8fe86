"""Writes to context sources (ETSI GS CIM 009 v1.8 5.6 with context sources, 4.3.6.2; Purge Entities,
v1.9 5.6.21): exclusive and redirect registrations own what they register (it is not written here);
inclusive ones are sent a copy of what they register (written here too); auxiliary ones are never
written to."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request

from toshi.core.errors import NgsiError
from toshi.csources.matching import Target
from toshi.csources.merge import covered
from toshi.csources.model import operations_of
from toshi.csources.sources import Failure, candidates, forwarding_allowed, judged, local_only, send
from toshi.csources.store import registrations_of

if TYPE_CHECKING:
    import httpx


@dataclass
class Split:
    """A write whose attributes are partly (or wholly) owned by exclusive / redirect registrations:
    `parts` go to their sources, `local` (the payload's other members) is written here."""

    request: Request
    tenant: str
    entity_id: str
    local: dict | None
    parts: list[tuple[dict, dict]]           # (registration, the attributes it owns, as sent)
    ctx: object
    media: str = "application/json"
    refused: list[tuple[dict, dict, Failure]] = field(default_factory=list)  # owned by who cannot take the write
    created_there: bool = False  # a source answered 201 Created

    async def respond(self, method: str, path: str, local_write, *, extra: dict | None = None,
                      created: bool | None = False, attribute: str | None = None, location: str | None = None,
                      either: bool = False):
        """Send the parts, write the rest through `local_write(payload) -> Response`, and answer:
        the local answer when every source accepted; 207 naming what a source did not take (or was
        refused); a lone source's own failure (404, 422, 502, 504: 6.3.17) when nothing was written here.
        `created` None: 201 when a source answered 201 (an upsert), else 204; `location`: the Location of
        a 201 (default the entity's); `either`: what is written is on one side only (an attribute instance:
        instanceIds are each broker's own), so a side without it (404) is no failure when another had it."""
        from starlette.responses import Response

        # `attribute`: an operation on one attribute's path: its payload alone is sent (none to delete it)
        sends = [self._send(reg, method, path, part.get(attribute) if attribute else {**(extra or {}), **part} or None)
                 for reg, part in self.parts]
        outcomes = [*await asyncio.gather(*sends), *(failure for _, _, failure in self.refused)]
        parts = [*self.parts, *((reg, part) for reg, part, _ in self.refused)]
        local_response, local_error = None, None
        if self.local is not None:
            try:
                local_response = await local_write(self.local)
            except NgsiError as exc:
                local_error = exc
        if either and (local_response is not None or any(o is None for o in outcomes)):
            outcomes = [None if o is not None and o.status == 404 else o for o in outcomes]
            local_error = None if local_error is not None and local_error.status == 404 else local_error
        updated: list[str] = []
        not_updated: list[dict] = []
        for (registration, part), outcome in zip(parts, outcomes, strict=True):
            names = [k for k in part if k not in (extra or {}) and k != "@context"] or [self.entity_id]
            if outcome is None:
                updated += names
            else:
                not_updated += [{"attributeName": n, "reason": outcome.detail, "registrationId": registration["id"]}
                                for n in names]
        failures = [o for o in outcomes if o is not None]
        if self.local is None and failures and not updated \
                and all(f.status == failures[0].status for f in failures):
            raise failures[0].error()
        if local_error is not None:
            if not updated:
                raise local_error
            not_updated += [{"attributeName": n, "reason": local_error.detail}
                            for n in self.local if n not in ("id", "type", "@context")]
        elif local_response is not None and local_response.status_code == 207:
            body = orjson.loads(local_response.body)
            updated = body.get("updated", []) + updated
            not_updated = body.get("notUpdated", []) + not_updated
        elif local_response is not None:
            updated = [n for n in self.local if n not in NOT_ATTRIBUTES] + updated
        refused = {n["attributeName"] for n in not_updated}
        updated = [n for n in dict.fromkeys(updated) if n not in refused]  # inclusive: written here and there
        if not not_updated:
            if local_response is not None:
                return local_response
            created = self.created_there if created is None else created
            status = 201 if created else 204
            headers = {"Location": location or f"/ngsi-ld/v1/entities/{self.entity_id}"} if created else None
            return Response(status_code=status, headers=headers)
        return Response(orjson.dumps({"updated": updated, "notUpdated": not_updated}), status_code=207,
                        media_type="application/json")

    async def _send(self, registration: dict, method: str, path: str, body: dict | None, *,
                    params: dict[str, str] | None = None, keep: bool = False) -> Failure | httpx.Response | None:
        """None when the source took it, else its Failure; `keep`: a 207 answer is returned as it came
        (its body names what failed)."""
        response = await send(self.request, self.tenant, registration, method, path, params, body, self.media)
        if isinstance(response, Failure):
            return response
        status = response.status_code
        ok = status < 300 and status != 207
        judged(self.request, self.tenant, registration, ok=ok or status == 404)
        if ok:
            self.created_there = self.created_there or status == 201
            return None
        if keep and status == 207:
            return response
        return Failure(registration["id"], f"answered {status}", 404 if status == 404 else 502)


async def split_write(request: Request, tenant: str, operation: str, entity_id: str, data: dict | None,
                      ctx, *, media: str = "application/json", types: list[str] | None = None) -> Split | None:
    """The write's parts for registrations supporting `operation` (5.6 with context sources, 4.3.6.2):
    what exclusive or redirect ones own goes only to them; inclusive ones get a copy of what they
    register, which is written here too; what an exclusive or redirect one not supporting it owns is
    refused (neither sent nor written here, 4.3.6.3: 422 OperationNotSupported when nothing else was
    written, else named in the 207); None when it is all local. `data`: the payload as sent (None: the
    whole entity, e.g. delete)."""
    if not forwarding_allowed(request):
        return None
    registrations = registrations_of(request.app.state.toshi).active(tenant)
    if not registrations:
        return None
    if types is None:
        local = await request.app.state.toshi.store.get_entity(tenant, entity_id)
        types = list(local["type"]) if local else []
    owners, copies, barred = [], [], []
    for registration in registrations:
        owned = False if registration["mode"] == "auxiliary" else covered(registration, entity_id, types)
        if owned is False:
            continue
        if operation not in operations_of(registration):  # an inclusive one is then not told
            barred += [(registration, owned)] if registration["mode"] != "inclusive" else []
        else:
            (copies if registration["mode"] == "inclusive" else owners).append((registration, owned))
    if not owners and not copies and not barred:
        return None
    if data is None:  # the whole entity: every owner and inclusive source is told; it is deleted here too
        split = Split(request, tenant, entity_id, {}, [(reg, {}) for reg, _ in owners + copies], ctx, media)
        split.refused = [(reg, {}, _unsupported(reg, operation)) for reg, _ in barred]
        return split
    remaining = {k: v for k, v in data.items() if k != "@context"}
    parts, refused = [], []
    for registration, owned, supported in [(*o, True) for o in owners] + [(*b, False) for b in barred]:
        # what they own is theirs alone (4.3.6.3)
        names = [k for k in remaining if k not in NOT_ATTRIBUTES and (owned is None or ctx.expand_term(k) in owned)]
        if names and supported:
            parts.append((registration, {k: remaining.pop(k) for k in names}))
        elif names:
            refused.append((registration, {k: remaining.pop(k) for k in names}, _unsupported(registration, operation)))
    for registration, provided in copies:  # inclusive: the source gets its attributes, and they are written here too
        names = [k for k in remaining if k not in NOT_ATTRIBUTES
                 and (provided is None or ctx.expand_term(k) in provided)]
        if names:
            parts.append((registration, {k: remaining[k] for k in names}))
    if not parts and not refused:
        return None
    if media == "application/ld+json" and "@context" in data:
        parts = [(reg, {**part, "@context": data["@context"]}) for reg, part in parts]
    left = [k for k in remaining if k not in NOT_ATTRIBUTES]
    here = left or operation in REPLACES
    return Split(request, tenant, entity_id, remaining if here else None, parts, ctx, media, refused)


def _unsupported(registration: dict, operation: str) -> Failure:
    return Failure(registration["id"], f"its registration ({registration['mode']}) does not support {operation}", 422)


NOT_ATTRIBUTES = frozenset({"id", "type", "scope", "expiresAt", "@context", "createdAt", "modifiedAt"})
REPLACES = frozenset({"replaceEntity"})  # the local part is written even with no attribute left: it removes the rest


# -- Purge Entities (v1.9 5.6.21) at context sources ---------------------------------------------

async def purge(request: Request, tenant: str, entity_query) -> list[dict] | None:
    """DELETE /entities (purge) at the registrations (not auxiliary) supporting purgeEntity whose
    information matches the query (ids, idPattern, type): the same request, with the client's
    parameters as they came. The batch errors of what the sources did not purge (a source's own 207
    errors, or one error naming the registration when it failed as a whole), [] when all did; None
    when no source is to be asked."""
    import httpx

    if not forwarding_allowed(request):
        return None
    target = Target(ids=entity_query.ids, id_pattern=entity_query.id_pattern, type_expr=entity_query.types)
    owners = [reg for reg, _ in candidates(request, tenant, "purgeEntity", target) if reg["mode"] != "auxiliary"]
    if not owners:
        return None
    split = Split(request, tenant, "", None, [], None)
    params = {k: v for k, v in request.query_params.items() if k != "local"}
    outcomes = await asyncio.gather(*(split._send(reg, "DELETE", "/entities", None, params={**params, **local_only(reg)},
                                                  keep=True) for reg in owners))
    errors = []
    for registration, outcome in zip(owners, outcomes, strict=True):
        if outcome is None:
            continue
        if isinstance(outcome, httpx.Response):
            try:
                body = orjson.loads(outcome.content)
            except orjson.JSONDecodeError:
                body = {}
            errors += [{**e, "error": {**(e.get("error") or {}), "detail": f"context source {registration['id']}: "
                                       f"{(e.get('error') or {}).get('detail', 'not purged')}"}}
                       for e in (body.get("errors") or [] if isinstance(body, dict) else []) if isinstance(e, dict)]
            continue
        if outcome.status == 404:
            continue  # nothing there to purge
        errors.append({"entityId": None, "error": {**outcome.error().problem(),
                                                   "registrationId": registration["id"]}})
    return errors
