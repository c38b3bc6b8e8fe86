"""Distributed batch operations (ETSI GS CIM 009 v1.8 5.6.7–5.6.10 with context sources, 4.3.6):
/entityOperations/create, upsert, update, merge and delete send what exclusive and redirect registrations own
to their sources, as a batch of the same operation, and the rest is done here; inclusive registrations
get a copy of what they register, which is done here too (4.3.6.2).

* Which: active registrations (not auxiliary) whose operations include createBatch /
  upsertBatch / updateBatch / mergeBatch / deleteBatch (no operation group does, redirectionOps
  neither: Table 4.20-1; they are named one by one) and whose information matches the entity (id,
  idPattern, type; an update's or merge's entity is typed by the local one).
* An exclusive or redirect registration matching the entity whose operations do not include the
  batch's: what it owns is neither sent nor done here (no other local or distributed operation on it,
  4.3.6.3); the entity is reported in the 207 with 422 OperationNotSupported naming the registration
  (the rest of it is done as usual). An inclusive one is then not consulted (the batch is done here).
* What is sent: each entity's attributes the registration owns or registers (all when it names none),
  with the entity's id and type, in one batch per registration: POST
  {endpoint}/ngsi-ld/v1/entityOperations/{op} with the request's options, the Link @context (or each
  item's own @context), the registration's tenant and contextSourceInfo, and `Via`. A delete sends
  the ids to every owner and deletes here too. An entity left with no attribute of its own is not
  written here (its id and type alone are not local data).
* The answer: an entity succeeded when every part of it did, wherever it went; otherwise its first
  error is reported (a source's names the registration) in the usual 207 `{success, errors}`. A delete
  a source took counts even when there was nothing to delete here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import orjson
from starlette.requests import Request

from toshi.core.errors import NgsiError, OperationNotSupported
from toshi.csources.merge import covered
from toshi.csources.model import operations_of
from toshi.csources.sources import BadGateway, Failure, forwarding_allowed, judged, local_only, send
from toshi.csources.store import registrations_of
from toshi.csources.writes import NOT_ATTRIBUTES
from toshi.formats import ngsild_http as http

PATHS = {"createBatch": "create", "upsertBatch": "upsert", "updateBatch": "update", "mergeBatch": "merge",
         "deleteBatch": "delete"}
FORWARDED_OPTIONS = ("options",)


@dataclass
class BatchSplit:
    """A batch with parts for context sources: `local` is what is done here; `combine` sends the rest
    and folds the sources' outcomes into the local ones."""

    request: Request
    tenant: str
    operation: str
    local: list
    parts: list[tuple[dict, list]]                      # (registration, the items it is sent)
    media: str
    forwarded: dict[str, list[str]] = field(default_factory=dict)  # entity id -> registration ids
    refused: dict[str, dict] = field(default_factory=dict)  # entity id -> the problem of what it could not do

    def refuse(self, registration: dict, entity_id: str, names: list[str]) -> None:
        """What an exclusive / redirect registration not supporting the operation owns of an entity."""
        what = entity_id if names == [entity_id] else ", ".join(names) + " of " + entity_id
        self.refused.setdefault(entity_id, OperationNotSupported(
            f"context source registration {registration['id']} ({registration['mode']}) holds {what} and does "
            f"not support {self.operation}").problem())

    async def combine(self, done: list[str], created: list[str], errors: list[dict]
                      ) -> tuple[list[str], list[str], list[dict]]:
        """Send the parts; the batch's (successful ids, created ids, errors) over here and there."""
        outcomes = await asyncio.gather(*(self._send(reg, items) for reg, items in self.parts))
        failed: dict[str, dict] = {}
        took: set[str] = set()
        for (_, items), (ok, made, refused) in zip(self.parts, outcomes, strict=True):
            for entity_id in [_id_of(i) for i in items]:
                if entity_id in refused:
                    failed.setdefault(entity_id, refused[entity_id])
                elif entity_id in ok:
                    took.add(entity_id)
            created += [i for i in made if i not in created]
        local_errors = {e.get("entityId"): e for e in errors}
        merged_errors = [e for e in errors if not _not_found_elsewhere(e, self.operation, took)
                         and e.get("entityId") not in self.refused]
        merged_errors += [{"entityId": i, "error": problem} for i, problem in self.refused.items()]
        merged_errors += [{"entityId": i, "error": problem} for i, problem in failed.items()
                          if i not in local_errors and i not in self.refused]
        bad = {e.get("entityId") for e in merged_errors}
        ids = [*done, *[i for i in self.forwarded if i not in done]]
        return [i for i in ids if i not in bad], [i for i in created if i not in bad], merged_errors

    async def _send(self, registration: dict, items: list) -> tuple[set[str], list[str], dict[str, dict]]:
        """(the ids the source took, those it created, {id: problem} of those it did not)."""
        ids = [_id_of(i) for i in items]
        params = {k: self.request.query_params[k] for k in FORWARDED_OPTIONS if k in self.request.query_params}
        response = await send(self.request, self.tenant, registration, "POST",
                              "/entityOperations/" + PATHS[self.operation], {**params, **local_only(registration)},
                              items, self.media)
        if isinstance(response, Failure):
            return _refused(ids, response.error())
        status = response.status_code
        judged(self.request, self.tenant, registration, ok=status < 300)
        try:
            answer = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            answer = None
        if status in (200, 201, 204):
            made = [i for i in answer if isinstance(i, str)] if status == 201 and isinstance(answer, list) else []
            return set(ids), made, {}
        if status == 207 and isinstance(answer, dict):
            return _partly(registration, ids, answer)
        return _refused(ids, BadGateway(f"context source {registration['id']}: answered {status}"))


def _refused(ids: list[str], error: NgsiError) -> tuple[set, list, dict]:
    """Nothing of the batch taken: every id has `error` (its detail names the registration)."""
    return set(), [], {i: error.problem() for i in ids}


def _partly(registration: dict, ids: list[str], answer: dict) -> tuple[set, list, dict]:
    """What a source's 207 {success, errors} says of the ids it was sent."""
    took = {i for i in answer.get("success") or [] if isinstance(i, str)}
    refused = {}
    for error in answer.get("errors") or []:
        if isinstance(error, dict) and error.get("entityId") in ids:
            problem = error.get("error") if isinstance(error.get("error"), dict) else {}
            refused[error["entityId"]] = {
                **BadGateway("").problem(), **problem,
                "detail": f"context source {registration['id']}: {problem.get('detail', 'refused')}"}
    missing = BadGateway(f"context source {registration['id']}: answered 207 without it").problem()
    refused.update({i: missing for i in ids if i not in took and i not in refused})
    return took, [], refused


def _id_of(item) -> str:
    return item if isinstance(item, str) else item["id"]


def _not_found_elsewhere(error: dict, operation: str, took: set[str]) -> bool:
    """A local 404 of a delete a source did (the entity was theirs)."""
    return operation == "deleteBatch" and error.get("entityId") in took \
        and (error.get("error") or {}).get("status") == 404


async def split_batch(request: Request, tenant: str, operation: str, items: list, body: http.Body
                      ) -> BatchSplit | None:
    """The batch's parts for the registrations (not auxiliary) matching its entities, or None when it is
    all local: what exclusive / redirect ones supporting `operation` (createBatch, upsertBatch,
    updateBatch, mergeBatch, deleteBatch) own goes to them, inclusive ones supporting it get a copy;
    what an exclusive / redirect one not supporting it owns is refused (neither sent nor done here,
    4.3.6.3). Items that are not well formed stay local (the entity API reports them)."""
    if not forwarding_allowed(request):
        return None
    registrations = [r for r in registrations_of(request.app.state.toshi).active(tenant) if r["mode"] != "auxiliary"]
    # exclusive / redirect ones first: what they own is theirs alone; inclusive ones get a copy
    registrations = sorted((r for r in registrations if operation in operations_of(r) or r["mode"] != "inclusive"),
                           key=lambda r: r["mode"] == "inclusive")
    if not registrations:
        return None
    split = BatchSplit(request, tenant, operation, [], [], body.media)
    sent: dict[str, tuple[dict, list]] = {}
    for item in items:
        if operation == "deleteBatch" and isinstance(item, str):
            await _split_delete(split, sent, registrations, item)
        elif operation != "deleteBatch" and isinstance(item, dict) and isinstance(item.get("id"), str):
            await _split_entity(split, sent, registrations, item, body)
        else:
            split.local.append(item)
    if not sent and not split.refused:
        return None
    split.parts = list(sent.values())
    return split


async def _split_delete(split: BatchSplit, sent: dict, registrations: list[dict], entity_id: str) -> None:
    """A delete goes to every owner of the entity supporting it and is done here too."""
    found = await split.request.app.state.toshi.store.get_entity(split.tenant, entity_id)
    types = list(found["type"]) if found else []
    for registration in registrations:
        if covered(registration, entity_id, types) is False:
            continue
        if split.operation in operations_of(registration):
            sent.setdefault(registration["id"], (registration, []))[1].append(entity_id)
            split.forwarded.setdefault(entity_id, []).append(registration["id"])
        else:
            split.refuse(registration, entity_id, [entity_id])
    split.local.append(entity_id)


async def _split_entity(split: BatchSplit, sent: dict, registrations: list[dict], item: dict,
                        body: http.Body) -> None:
    """An entity's attributes to the registrations owning (or, inclusive, registering) them; what is
    left is done here (not when only its id and type are left)."""
    context = item.get("@context") if body.media == http.LD_JSON else body.context
    try:
        ctx = await http.context_for(split.request, context, from_link=False)
    except NgsiError:
        split.local.append(item)
        return
    types = item.get("type")
    types = [ctx.expand_term(t) for t in ([types] if isinstance(types, str) else types or []) if isinstance(t, str)]
    if not types:
        found = await split.request.app.state.toshi.store.get_entity(split.tenant, item["id"])
        types = list(found["type"]) if found else []
    remaining = dict(item)
    for registration in registrations:
        owned = covered(registration, item["id"], types)
        if owned is False:
            continue
        names = [k for k in remaining if k not in NOT_ATTRIBUTES and (owned is None or ctx.expand_term(k) in owned)]
        if not names:
            continue
        inclusive = registration["mode"] == "inclusive"
        taken = {k: remaining[k] if inclusive else remaining.pop(k) for k in names}
        if split.operation not in operations_of(registration):
            split.refuse(registration, item["id"], names)
            continue
        part = {k: v for k, v in item.items() if k in ("id", "type", "@context")}
        sent.setdefault(registration["id"], (registration, []))[1].append({**part, **taken})
        split.forwarded.setdefault(item["id"], []).append(registration["id"])
    handled = item["id"] in split.forwarded or item["id"] in split.refused
    if not handled or any(k not in NOT_ATTRIBUTES for k in remaining):
        split.local.append(remaining)
