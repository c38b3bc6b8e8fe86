"""Distributed operations (ETSI GS CIM 009 v1.8 clauses 4.3.6, 5.7 with context sources, 6.3.17,
6.3.18): retrieving and querying entities consult the matching registrations of the tenant.

* Which: active (not expired) registrations supporting the operation (retrieveEntity / queryEntity,
  directly or through a group), whose information matches the entity id / query (id, idPattern,
  type, attrs), and not cooling down after a failure (management.cooldown).
* Modes: `inclusive` — the source's attributes are merged with the local ones; `exclusive` — the
  attributes it registers for that entity come only from the source (local ones are dropped);
  `redirect` — the same for everything it registers (all attributes when it lists none);
  `auxiliary` — used only for attributes (and datasetIds) nobody else has.
* Merge (4.3.6.4): instances are matched by attribute name and datasetId; of two, the one with the
  most recent `observedAt` stays, else the one met first (local, then exclusive/redirect, inclusive,
  auxiliary sources in registration order).
* The request sent: GET {endpoint}/ngsi-ld/v1/entities[/{id}] with the client's query (normalized form;
  limit = max_limit) — for POST /entityOperations/query (operation queryBatch), a POST of the client's
  Query to {endpoint}/ngsi-ld/v1/entityOperations/query —, its Link @context, the registration's `tenant` as NGSILD-Tenant, its
  contextSourceInfo as headers, `local=true` when management.localOnly, and `Via` naming this broker
  (setting federation_name). The client's own credentials are never passed on.
* Loops: a request whose Via already names this broker, or with `local=true`, is answered from local
  data only.
* Failures: a source that times out (management.timeout ms, else federation_timeout), cannot be
  reached or answers an error is left out and reported in an `NGSILD-Warning` header (6.3.18:
  `199 <registration id> "<what failed>"`); when nothing at all is found and a source failed, the
  answer is 504 GatewayTimeout or 502 BadGateway (6.3.17).
* Every merged entity is filtered by the one read path (`visible()`) before it is rendered: a remote
  entity is shown only as far as the local reader may see it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import httpx
import orjson
from starlette.requests import Request

from toshi.core.access import judging, visible
from toshi.core.errors import NgsiError
from toshi.core.outbound import OutboundRefused, outbound_policy
from toshi.core.times import now_iso, parse_duration
from toshi.csources.matching import Target, info_matches, provided_attrs
from toshi.csources.model import operations_of
from toshi.csources.store import registrations_of
from toshi.formats.ngsild_parse import parse_entity

log = logging.getLogger("toshi.csources")
FORWARDED_PARAMS = ("type", "id", "idPattern", "q", "attrs", "georel", "geometry", "coordinates", "geoproperty",
                    "scopeQ", "datasetId")
MODE_ORDER = {"exclusive": 0, "redirect": 0, "inclusive": 1, "auxiliary": 2}
MAX_ANSWER_BYTES = 50_000_000


class GatewayTimeout(NgsiError):
    kind, status, title = "GatewayTimeout", 504, "Gateway timeout"


class BadGateway(NgsiError):
    kind, status, title = "BadGateway", 502, "Bad gateway"


@dataclass
class Failure:
    registration_id: str
    detail: str
    timeout: bool = False


@dataclass
class Answer:
    """What the sources gave: entities by id (internal form), who gave them, and the failures."""

    entities: dict[str, list[tuple[dict, dict]]] = field(default_factory=dict)  # id -> [(registration, entity)]
    failures: list[Failure] = field(default_factory=list)

    def warnings(self) -> list[str]:
        return [f'199 {f.registration_id} "{_quoted(f.detail)}"' for f in self.failures]

    def error(self) -> NgsiError:
        """The answer when nothing was found and sources failed (6.3.17)."""
        detail = "; ".join(f"{f.registration_id}: {f.detail}" for f in self.failures)
        if all(f.timeout for f in self.failures):
            return GatewayTimeout(f"context source(s) did not answer in time: {detail}")
        return BadGateway(f"context source(s) failed: {detail}")


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def broker_name(settings) -> str:
    return settings.federation_name or f"toshi-{settings.host}:{settings.port}"


def _via_names(header: str) -> list[str]:
    """The received-by names of a Via header (`1.1 name, 1.0 other (comment)`)."""
    names = []
    for hop in header.split(","):
        parts = hop.split()
        if len(parts) >= 2:
            names.append(parts[1])
    return names


def forwarding_allowed(request: Request) -> bool:
    """Neither `local=true` nor a request that already passed this broker (loop detection)."""
    if request.query_params.get("local", "").lower() == "true" or request.query_params.get("type") == "*":
        return False  # type=* implies local=true (6.4.3.2)
    via = request.headers.get("via")
    return not (via and broker_name(request.app.state.toshi.settings) in _via_names(via))


def _candidates(request: Request, tenant: str, operation: str, target: Target) -> list[tuple[dict, set | None]]:
    """(registration, the attributes to ask it for — None: all it has) of the matching registrations,
    exclusive and redirect ones first, auxiliary ones last."""
    if not forwarding_allowed(request):
        return []
    registrations = registrations_of(request.app.state.toshi)
    found = []
    for registration in registrations.active(tenant):
        if operation not in operations_of(registration) or registrations.cooling(tenant, registration["id"]):
            continue
        infos = [info for info in registration["information"] if info_matches(info, target)]
        if not infos:
            continue
        provided: set[str] | None = set()
        for info in infos:
            names = provided_attrs(info)
            provided = None if names is None or provided is None else provided | names
        if target.attrs is not None:
            provided = set(target.attrs) if provided is None else provided & target.attrs
        found.append((registration, provided))
    return sorted(found, key=lambda item: MODE_ORDER[item[0]["mode"]])


def _base(endpoint: str) -> str:
    base = endpoint.rstrip("/")
    return base if base.endswith("/ngsi-ld/v1") else base + "/ngsi-ld/v1"


def _headers(request: Request, registration: dict) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    link = request.headers.get("link")
    if link:
        headers["Link"] = link
    if registration.get("tenant"):
        headers["NGSILD-Tenant"] = registration["tenant"]
    via = request.headers.get("via")
    hop = f"1.1 {broker_name(request.app.state.toshi.settings)}"
    headers["Via"] = f"{via}, {hop}" if via else hop
    for item in registration.get("contextSourceInfo") or []:
        headers[item["key"]] = item["value"]
    return headers


def _params(request: Request, registration: dict, attrs: set[str] | None, ctx, *, query: bool,
            limit: bool = False) -> dict[str, str]:
    params = {k: request.query_params[k] for k in FORWARDED_PARAMS if k in request.query_params} if query else {}
    if not query and "type" in request.query_params:
        params["type"] = request.query_params["type"]
    if attrs is not None:
        params["attrs"] = ",".join(sorted(ctx.compact_iri(a) for a in attrs))
    if query or limit:
        params["limit"] = str(request.app.state.toshi.settings.max_limit)
    if (registration.get("management") or {}).get("localOnly"):
        params["local"] = "true"
    return params


async def _ask(request: Request, client: httpx.AsyncClient, registration: dict, path: str,
               params: dict[str, str], ctx, tenant: str, body: tuple[str, dict] | None = None, *,
               raw: bool = False) -> list[dict] | Failure | None:
    """The entities one source answered (None: it has none: 404), or its Failure. `body`: (media type,
    JSON) of a POST (the Query of POST /entityOperations/query), else a GET. `raw`: the answer's JSON as
    it came, in a list (discovery answers, not entities)."""
    settings = request.app.state.toshi.settings
    registrations = registrations_of(request.app.state.toshi)
    url = _base(registration["endpoint"]) + path + ("?" + urlencode(params) if params else "")
    kept = _kept(request, tenant, registration, url, body, raw)
    if kept is not None and kept[1] is not None:
        return kept[1]
    timeout = (registration.get("management") or {}).get("timeout")
    timeout = timeout / 1000 if timeout else settings.federation_timeout
    policy = outbound_policy(settings)
    try:
        await policy.check(url)
        target, host, extensions = await policy.pinned(url)
    except OutboundRefused as exc:
        return Failure(registration["id"], f"refused: {exc}")
    except OSError as exc:  # its name does not resolve (checked before connecting when private addresses are refused)
        registrations.record(tenant, registration, ok=False)
        return Failure(registration["id"], f"cannot be reached: {type(exc).__name__}")
    headers = {**_headers(request, registration), **host}
    try:
        if body is None:
            response = await client.get(target, headers=headers, extensions=extensions, timeout=timeout)
        else:
            response = await client.post(target, headers={**headers, "Content-Type": body[0]},
                                         content=orjson.dumps(body[1]), extensions=extensions, timeout=timeout)
    except httpx.TimeoutException:
        registrations.record(tenant, registration, ok=False)
        return Failure(registration["id"], f"no answer within {timeout:g} s", timeout=True)
    except httpx.HTTPError as exc:
        registrations.record(tenant, registration, ok=False)
        return Failure(registration["id"], f"cannot be reached: {type(exc).__name__}")
    if response.status_code == 404:
        registrations.record(tenant, registration, ok=True)
        return _keep(request, kept, [])
    if response.status_code != 200:
        registrations.record(tenant, registration, ok=False)
        return Failure(registration["id"], f"answered {response.status_code}")
    try:
        if len(response.content) > MAX_ANSWER_BYTES:
            raise ValueError("answer too large")
        data = orjson.loads(response.content)
        if raw:
            registrations.record(tenant, registration, ok=True)
            return _keep(request, kept, [data])
        items = data if isinstance(data, list) else [data]
        now = now_iso()
        entities = [parse_entity({k: v for k, v in item.items() if k != "@context"}, ctx, now=now) for item in items]
    except (ValueError, NgsiError, AttributeError, TypeError) as exc:
        registrations.record(tenant, registration, ok=False)
        return Failure(registration["id"], f"answered what is not NGSI-LD entities: {exc}")
    registrations.record(tenant, registration, ok=True)
    return _keep(request, kept, entities)


# -- management.cacheDuration: the minimal time between two consumption requests for the same data ---

MAX_KEPT = 1000


def _kept(request: Request, tenant: str, registration: dict, url: str, body, raw: bool
          ) -> tuple[tuple, list | None, float] | None:
    """(key, the answer kept for this request if still fresh, seconds to keep) when the registration
    has a cacheDuration, else None. The key is the request as sent (URL, body, @context) and the
    registration as it is now (a change of it asks again)."""
    duration = (registration.get("management") or {}).get("cacheDuration")
    if not duration:
        return None
    length = parse_duration(duration)
    seconds = (length.months * 30 * 86_400_000 + length.ms) / 1000
    if seconds <= 0:
        return None
    key = (tenant, registration["id"], registration.get("modifiedAt"), url, orjson.dumps(body) if body else b"",
           raw, request.headers.get("link"))
    found = request.app.state.csources.answers.get(key)
    fresh = found[1] if found is not None and found[0] > time.monotonic() else None
    return key, fresh, seconds


def _keep(request: Request, kept, answer: list) -> list | None:
    """`answer` (entities, or [raw JSON]; [] for none), kept when the registration asks for it; the
    caller's form: None for none."""
    if kept is not None:
        answers = request.app.state.csources.answers
        if len(answers) >= MAX_KEPT:
            now = time.monotonic()
            for key in [k for k, (until, _) in answers.items() if until <= now] or list(answers)[:MAX_KEPT // 2]:
                answers.pop(key, None)
        answers[kept[0]] = (time.monotonic() + kept[2], answer)
    return answer or None


async def _posted_query(request: Request, attrs: set[str] | None, ctx) -> tuple[str, dict]:
    """The Query a source is sent (POST /entityOperations/query): the client's, as it came (its filters,
    its @context), asking only for `attrs` when the registration provides only those."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    query = orjson.loads(await request.body())  # read and checked by the entity API already
    if attrs is not None:
        query["attrs"] = sorted(ctx.compact_iri(a) for a in attrs)
    return ("application/ld+json" if media == "application/ld+json" else "application/json"), query


async def _gather(request: Request, tenant: str, asks: list[tuple], ctx, *, raw: bool = False) -> Answer:
    """Ask every (registration, path, params[, body]) at once. `raw`: `Answer.entities` holds each
    source's JSON answer under its registration id (discovery)."""
    answer = Answer()
    client = request.app.state.csources.http_client()
    results = await asyncio.gather(*(_ask(request, client, *ask[:3], ctx, tenant, *ask[3:], raw=raw)
                                     for ask in asks))
    for (registration, *_), result in zip(asks, results, strict=True):
        if isinstance(result, Failure):
            log.warning("context source %s (%s): %s; check that it runs and is reachable from this server, or"
                        " update its registration", registration["id"], registration["endpoint"], result.detail,
                        extra={"once_per": ("context source down", registration["endpoint"])})
            answer.failures.append(result)
        elif result and raw:
            answer.entities[registration["id"]] = [(registration, result[0])]
        elif result:
            for entity in result:
                answer.entities.setdefault(entity["id"], []).append((registration, entity))
    return answer


# -- merging --------------------------------------------------------------------------------------

def _owned(registration: dict, entity_id: str, types: list[str]) -> set[str] | None | bool:
    """What an exclusive/redirect registration takes over of an entity: the attribute names, None
    for all of them, False for nothing."""
    if registration["mode"] not in ("exclusive", "redirect"):
        return False
    return covered(registration, entity_id, types)


def covered(registration: dict, entity_id: str, types: list[str]) -> set[str] | None | bool:
    """What a registration (any mode) registers of an entity: the attribute names, None for all of
    them, False for nothing."""
    taken: set[str] = set()
    target = Target(ids=[entity_id], types=set(types) or None)
    for info in registration["information"]:
        if not info_matches(info, target):
            continue
        names = provided_attrs(info)
        if names is None:
            return None
        taken |= names
    return taken or False


def _newer(candidate: dict, kept: dict) -> bool:
    new, old = candidate.get("observedAt"), kept.get("observedAt")
    return new is not None and old is not None and new > old


def merge(local: dict | None, remote: list[tuple[dict, dict]], registrations: list[dict]) -> dict | None:
    """One entity from the local one and the sources' ones (see the module's docstring)."""
    if local is None and not remote:
        return None
    entity_id = local["id"] if local else remote[0][1]["id"]
    types = list(local["type"]) if local else []
    for _, entity in remote:
        types += [t for t in entity.get("type", []) if t not in types]
    attrs: dict[str, list[dict]] = {}
    if local is not None:
        attrs = {name: list(instances) for name, instances in local["attrs"].items()}
        for registration in registrations:
            owned = _owned(registration, entity_id, types)
            if owned is None:
                attrs = {}
            elif owned:
                for name in owned:
                    attrs.pop(name, None)
    scope = list((local or {}).get("scope") or [])
    for registration, entity in remote:
        auxiliary = registration["mode"] == "auxiliary"
        for name, instances in entity["attrs"].items():
            if auxiliary and name in attrs:
                continue
            kept = attrs.setdefault(name, [])
            for instance in instances:
                same = next((i for i, k in enumerate(kept) if k.get("datasetId") == instance.get("datasetId")), None)
                if same is None:
                    kept.append(instance)
                elif not auxiliary and _newer(instance, kept[same]):
                    kept[same] = instance
        scope += [s for s in entity.get("scope") or [] if s not in scope]
    base = local or remote[0][1]
    merged = {**base, "type": types, "attrs": attrs}
    if scope:
        merged["scope"] = scope
    return merged


# -- the operations -------------------------------------------------------------------------------

async def retrieve(request: Request, tenant: str, entity_id: str, local: dict | None, ctx,
                   attrs: set[str] | None) -> tuple[dict | None, list[str]] | None:
    """Retrieve Entity (5.7.1) over the registered sources: the merged entity as the reader may see
    it (None: found nowhere) and the warnings; None when no source is to be asked."""
    types = None
    if local is not None:
        types = set(local["type"])
    target = Target(ids=[entity_id], types=types, attrs=attrs)
    candidates = _candidates(request, tenant, "retrieveEntity", target)
    if not candidates:
        return None
    path = "/entities/" + quote(entity_id, safe=":")
    asks = [(reg, path, _params(request, reg, provided, ctx, query=False)) for reg, provided in candidates]
    answer = await _gather(request, tenant, asks, ctx)
    remote = answer.entities.get(entity_id, [])
    merged = merge(local, remote, [reg for reg, _ in candidates])
    if merged is None and answer.failures:
        raise answer.error()
    return visible(merged), answer.warnings()


async def query(request: Request, tenant: str, entity_query, ctx,
                local_matches) -> tuple[list[dict], list[str]] | None:
    """Query Entity (5.7.2) over the registered sources: every matching entity (local ones from
    `local_matches()`, merged with the sources' ones), as the reader may see them, and the warnings;
    None when no source is to be asked (the local query pages by itself). They are judged, not yet
    handed over: the caller passes the entities of its page through `visible()` once more."""
    target = Target(ids=entity_query.ids, id_pattern=entity_query.id_pattern, attrs=entity_query.attrs,
                    type_expr=entity_query.types)
    posted = request.method == "POST"  # POST /entityOperations/query: queryBatch, the Query sent on as a Query
    candidates = _candidates(request, tenant, "queryBatch" if posted else "queryEntity", target)
    if not candidates:
        return None
    if posted:
        asks = [(reg, "/entityOperations/query", _params(request, reg, None, ctx, query=False, limit=True),
                 await _posted_query(request, provided, ctx)) for reg, provided in candidates]
    else:
        asks = [(reg, "/entities", _params(request, reg, provided, ctx, query=True)) for reg, provided in candidates]
    local, answer = await asyncio.gather(local_matches(), _gather(request, tenant, asks, ctx))
    registrations = [reg for reg, _ in candidates]
    merged: list[dict] = []
    seen: set[str] = set()
    for entity in local:
        seen.add(entity["id"])
        merged.append(merge(entity, answer.entities.get(entity["id"], []), registrations))
    for entity_id, remote in answer.entities.items():
        if entity_id not in seen:
            merged.append(merge(None, remote, registrations))
    mark = judging.set(True)  # judged here; what the page hands over is released by the caller
    try:
        shown = [e for e in (visible(m) for m in merged) if e is not None]  # each side applied the query itself
    finally:
        judging.reset(mark)
    if not shown and answer.failures and not local:
        raise answer.error()
    return shown, answer.warnings()


# -- writes to context sources (5.6 with context sources): exclusive and redirect ones own what they
# register (it is not written here); inclusive ones are sent a copy of what they register (written here
# too); auxiliary ones are never written to ---------------------------------------------------------

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
    whole: bool = False                      # the entity is the sources' alone (nothing written here)

    async def respond(self, method: str, path: str, local_write, *, extra: dict | None = None,
                      created: bool = False, attribute: str | None = None):
        """Send the parts, write the rest through `local_write(payload) -> Response`, and answer:
        the local answer when every source accepted; 207 naming what a source did not take;
        a lone source's own failure (404, 502, 504: 6.3.17) when nothing was written here."""
        from starlette.responses import Response

        # `attribute`: an operation on one attribute's path: its payload alone is sent (none to delete it)
        sends = [self._send(reg, method, path, part.get(attribute) if attribute else {**(extra or {}), **part} or None)
                 for reg, part in self.parts]
        outcomes = await asyncio.gather(*sends)
        local_response, local_error = None, None
        if self.local is not None:
            try:
                local_response = await local_write(self.local)
            except NgsiError as exc:
                local_error = exc
        updated: list[str] = []
        not_updated: list[dict] = []
        for (registration, part), outcome in zip(self.parts, outcomes, strict=True):
            names = [k for k in part if k not in (extra or {}) and k != "@context"] or [self.entity_id]
            if outcome is None:
                updated += names
            else:
                not_updated += [{"attributeName": n, "reason": outcome.detail, "registrationId": registration["id"]}
                                for n in names]
        failures = [o for o in outcomes if o is not None]
        if self.local is None and failures and not updated \
                and all(f.status == failures[0].status for f in failures):
            raise _as_error(failures[0])
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
            status = 201 if created else 204
            headers = {"Location": f"/ngsi-ld/v1/entities/{self.entity_id}"} if created else None
            return Response(status_code=status, headers=headers)
        return Response(orjson.dumps({"updated": updated, "notUpdated": not_updated}), status_code=207,
                        media_type="application/json")

    async def _send(self, registration: dict, method: str, path: str, body: dict | None, *,
                    keep: bool = False) -> SourceFailure | httpx.Response | None:
        """None when the source took it, else its SourceFailure; `keep`: a 207 answer is returned
        as it came (its body names what failed)."""
        request, settings = self.request, self.request.app.state.toshi.settings
        registrations = registrations_of(request.app.state.toshi)
        url = _base(registration["endpoint"]) + path
        timeout = (registration.get("management") or {}).get("timeout")
        timeout = timeout / 1000 if timeout else settings.federation_timeout
        policy = outbound_policy(settings)
        headers = _headers(request, registration)
        headers.pop("Accept", None)
        if body is not None:
            headers["Content-Type"] = self.media
        try:
            await policy.check(url)
            target, host, extensions = await policy.pinned(url)
        except OutboundRefused as exc:
            return SourceFailure(registration["id"], f"refused: {exc}", 502)
        except OSError as exc:  # its name does not resolve
            registrations.record(self.tenant, registration, ok=False)
            return SourceFailure(registration["id"], f"cannot be reached: {type(exc).__name__}", 502)
        try:
            response = await request.app.state.csources.http_client().request(
                method, target, content=None if body is None else orjson.dumps(body),
                headers={**headers, **host}, extensions=extensions, timeout=timeout)
        except httpx.TimeoutException:
            registrations.record(self.tenant, registration, ok=False)
            return SourceFailure(registration["id"], f"no answer within {timeout:g} s", 504)
        except httpx.HTTPError as exc:
            registrations.record(self.tenant, registration, ok=False)
            return SourceFailure(registration["id"], f"cannot be reached: {type(exc).__name__}", 502)
        ok = response.status_code < 300 and response.status_code != 207
        registrations.record(self.tenant, registration, ok=ok or response.status_code == 404)
        if ok:
            return None
        if keep and response.status_code == 207:
            return response
        return SourceFailure(registration["id"], f"answered {response.status_code}",
                             404 if response.status_code == 404 else 502)


@dataclass
class SourceFailure:
    registration_id: str
    detail: str
    status: int   # what it stands for: 404 (the source has no such entity), 502, 504


def _as_error(failure: SourceFailure) -> NgsiError:
    from toshi.core.errors import ResourceNotFound

    detail = f"context source {failure.registration_id}: {failure.detail}"
    if failure.status == 404:
        return ResourceNotFound(detail)
    return GatewayTimeout(detail) if failure.status == 504 else BadGateway(detail)


async def split_write(request: Request, tenant: str, operation: str, entity_id: str, data: dict | None,
                      ctx, *, media: str = "application/json", types: list[str] | None = None) -> Split | None:
    """The write's parts for registrations supporting `operation` (5.6 with context sources, 4.3.6.2):
    what exclusive or redirect ones own goes only to them; inclusive ones get a copy of what they
    register, which is written here too; None when it is all local. `data`: the payload as sent
    (None: the whole entity, e.g. delete)."""
    if not forwarding_allowed(request):
        return None
    registrations = registrations_of(request.app.state.toshi).active(tenant)
    if not registrations:
        return None
    if types is None:
        local = await request.app.state.toshi.store.get_entity(tenant, entity_id)
        types = list(local["type"]) if local else []
    owners, copies = [], []
    for registration in registrations:
        if registration["mode"] == "auxiliary" or operation not in operations_of(registration):
            continue
        owned = covered(registration, entity_id, types)
        if owned is not False:
            (copies if registration["mode"] == "inclusive" else owners).append((registration, owned))
    if not owners and not copies:
        return None
    if data is None:  # the whole entity: every owner and inclusive source is told; it is deleted here too
        return Split(request, tenant, entity_id, {}, [(reg, {}) for reg, _ in owners + copies], ctx, media)
    remaining = {k: v for k, v in data.items() if k != "@context"}
    parts = []
    for registration, owned in owners:
        names = [k for k in remaining if k not in NOT_ATTRIBUTES and (owned is None or ctx.expand_term(k) in owned)]
        if names:
            parts.append((registration, {k: remaining.pop(k) for k in names}))
    for registration, provided in copies:  # inclusive: the source gets its attributes, and they are written here too
        names = [k for k in remaining if k not in NOT_ATTRIBUTES
                 and (provided is None or ctx.expand_term(k) in provided)]
        if names:
            parts.append((registration, {k: remaining[k] for k in names}))
    if not parts:
        return None
    if media == "application/ld+json" and "@context" in data:
        parts = [(reg, {**part, "@context": data["@context"]}) for reg, part in parts]
    left = [k for k in remaining if k not in NOT_ATTRIBUTES]
    here = left or operation in REPLACES
    return Split(request, tenant, entity_id, remaining if here else None, parts, ctx, media)


NOT_ATTRIBUTES = frozenset({"id", "type", "scope", "expiresAt", "@context", "createdAt", "modifiedAt"})
REPLACES = frozenset({"replaceEntity"})  # the local part is written even with no attribute left: it removes the rest


# -- Purge Entities (v1.9 5.6.21) at context sources ---------------------------------------------

async def purge(request: Request, tenant: str, entity_query) -> list[dict] | None:
    """DELETE /entities (purge) at the registrations (not auxiliary) supporting purgeEntity whose
    information matches the query (ids, idPattern, type): the same request, with the client's
    parameters as they came. The batch errors of what the sources did not purge (a source's own 207
    errors, or one error naming the registration when it failed as a whole), [] when all did; None
    when no source is to be asked."""
    if not forwarding_allowed(request):
        return None
    target = Target(ids=entity_query.ids, id_pattern=entity_query.id_pattern, type_expr=entity_query.types)
    candidates = [(reg, provided) for reg, provided in _candidates(request, tenant, "purgeEntity", target)
                  if reg["mode"] != "auxiliary"]
    if not candidates:
        return None
    split = Split(request, tenant, "", None, [], None)
    params = {k: v for k, v in request.query_params.items() if k != "local"}
    outcomes = await asyncio.gather(*(split._send(reg, "DELETE", "/entities?" + urlencode(
        {**params, **({"local": "true"} if (reg.get("management") or {}).get("localOnly") else {})}), None,
        keep=True) for reg, _ in candidates))
    errors = []
    for (registration, _), outcome in zip(candidates, outcomes, strict=True):
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
        errors.append({"entityId": None, "error": {**_as_error(outcome).problem(),
                                                   "registrationId": registration["id"]}})
    return errors
