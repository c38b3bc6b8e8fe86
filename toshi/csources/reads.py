"""Distributed retrieve and query (ETSI GS CIM 009 v1.8 clauses 4.3.6, 5.7.1, 5.7.2 with context
sources, 6.3.17, 6.3.18): retrieving and querying entities also ask the matching registrations of the
tenant (sources.py says which and how), and their entities are merged with the local ones (merge.py).

* The request sent: GET {endpoint}/ngsi-ld/v1/entities[/{id}] with the client's query (normalized form;
  a query's limit: what the client's page needs, see `query`) — for POST /entityOperations/query
  (operation queryBatch), a POST of the client's Query to {endpoint}/ngsi-ld/v1/entityOperations/query
  —, and `local=true` when management.localOnly.
* management.cacheDuration: an answer is kept that long and given again for the same request.
* Failures: a source that times out, cannot be reached or answers an error is left out and reported
  in an `NGSILD-Warning` header (6.3.18: `199 <registration id> "<what failed>"`); when nothing at all
  is found and a source failed, the answer is 504 GatewayTimeout or 502 BadGateway (6.3.17).
* Every merged entity is filtered by the one read path (`visible()`) before it is rendered: a remote
  entity is shown only as far as the local reader may see it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

import orjson
from starlette.requests import Request

from toshi.core.access import judging, visible
from toshi.core.errors import NgsiError
from toshi.core.times import now_iso, parse_duration
from toshi.csources.matching import Target
from toshi.csources.merge import merge
from toshi.csources.sources import (
    BadGateway,
    Failure,
    GatewayTimeout,
    candidates,
    judged,
    local_only,
    send,
    url_of,
)

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("toshi.csources")
FORWARDED_PARAMS = ("type", "id", "idPattern", "q", "attrs", "georel", "geometry", "coordinates", "geoproperty",
                    "scopeQ", "datasetId")
MAX_ANSWER_BYTES = 50_000_000


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


def _params(request: Request, registration: dict, attrs: set[str] | None, ctx, *, query: bool,
            limit: int | None = None) -> dict[str, str]:
    params = {k: request.query_params[k] for k in FORWARDED_PARAMS if k in request.query_params} if query else {}
    if not query and "type" in request.query_params:
        params["type"] = request.query_params["type"]
    if attrs is not None:
        params["attrs"] = ",".join(sorted(ctx.compact_iri(a) for a in attrs))
    if limit is not None:
        params["limit"] = str(limit)
    return {**params, **local_only(registration)}


async def _ask(request: Request, tenant: str, registration: dict, path: str, params: dict[str, str], ctx,
               body: tuple[str, dict] | None = None, *, raw: bool = False) -> list[dict] | Failure | None:
    """The entities one source answered (None: it has none: 404), or its Failure. `body`: (media type,
    JSON) of a POST (the Query of POST /entityOperations/query), else a GET. `raw`: the answer's JSON as
    it came, in a list (discovery answers, not entities)."""
    kept = _kept(request, tenant, registration, url_of(registration, path, params), body, raw)
    if kept is not None and kept[1] is not None:
        return kept[1]
    method, content, media = ("GET", None, "application/json") if body is None else ("POST", body[1], body[0])
    response = await send(request, tenant, registration, method, path, params, content, media)
    if isinstance(response, Failure):
        return response
    if response.status_code == 404:
        judged(request, tenant, registration, ok=True)
        return _keep(request, kept, [])
    if response.status_code != 200:
        judged(request, tenant, registration, ok=False)
        return Failure(registration["id"], f"answered {response.status_code}")
    try:
        answer = _read(request, response, ctx, raw)
    except (ValueError, NgsiError, AttributeError, TypeError) as exc:
        judged(request, tenant, registration, ok=False)
        return Failure(registration["id"], f"answered what is not NGSI-LD entities: {exc}")
    judged(request, tenant, registration, ok=True)
    return _keep(request, kept, answer)


def _read(request: Request, response: httpx.Response, ctx, raw: bool) -> list[dict]:
    """A 200 answer's entities (internal form), or `[its JSON]` when `raw`."""
    if len(response.content) > MAX_ANSWER_BYTES:
        raise ValueError("answer too large")
    if raw:
        return [orjson.loads(response.content)]
    return request.app.state.csources.readings.entities(response.content, ctx, now_iso())


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


async def gather(request: Request, tenant: str, asks: list[tuple], ctx, *, raw: bool = False) -> Answer:
    """Ask every (registration, path, params[, body]) at once. `raw`: `Answer.entities` holds each
    source's JSON answer under its registration id (discovery)."""
    results = await _results(request, tenant, asks, ctx, raw=raw)
    if not raw:
        return _answer(asks, results)
    answer = Answer(failures=[r for r in results if isinstance(r, Failure)])
    for (registration, *_), result in zip(asks, results, strict=True):
        if result and not isinstance(result, Failure):
            answer.entities[registration["id"]] = [(registration, result[0])]
    return answer


async def _results(request: Request, tenant: str, asks: list[tuple], ctx, *, raw: bool = False) -> list:
    """What each ask got (`_ask`), in the order of `asks`; a failure is logged."""
    results = await asyncio.gather(*(_ask(request, tenant, *ask[:3], ctx, *ask[3:], raw=raw) for ask in asks))
    for (registration, *_), result in zip(asks, results, strict=True):
        if isinstance(result, Failure):
            log.warning("context source %s (%s): %s; check that it runs and is reachable from this server, or"
                        " update its registration", registration["id"], registration["endpoint"], result.detail,
                        extra={"once_per": ("context source down", registration["endpoint"])})
    return list(results)


def _answer(asks: list[tuple], results: list) -> Answer:
    """The entities (by id, in the order of `asks`) and failures of what each ask got."""
    answer = Answer()
    for (registration, *_), result in zip(asks, results, strict=True):
        if isinstance(result, Failure):
            answer.failures.append(result)
        elif result:
            for entity in result:
                answer.entities.setdefault(entity["id"], []).append((registration, entity))
    return answer


# -- the operations -------------------------------------------------------------------------------

async def retrieve(request: Request, tenant: str, entity_id: str, local: dict | None, ctx,
                   attrs: set[str] | None) -> tuple[dict | None, list[str]] | None:
    """Retrieve Entity (5.7.1) over the registered sources: the merged entity as the reader may see
    it (None: found nowhere) and the warnings; None when no source is to be asked."""
    types = None
    if local is not None:
        types = set(local["type"])
    target = Target(ids=[entity_id], types=types, attrs=attrs)
    asked = candidates(request, tenant, "retrieveEntity", target)
    if not asked:
        return None
    path = "/entities/" + quote(entity_id, safe=":")
    asks = [(reg, path, _params(request, reg, provided, ctx, query=False)) for reg, provided in asked]
    answer = await gather(request, tenant, asks, ctx)
    remote = answer.entities.get(entity_id, [])
    merged = merge(local, remote, [reg for reg, _ in asked])
    if merged is None and answer.failures:
        raise answer.error()
    return visible(merged), answer.warnings()


async def query(request: Request, tenant: str, entity_query, ctx,
                local_matches, *, ordered: bool = False) -> tuple[list[dict], list[str]] | None:
    """Query Entity (5.7.2) over the registered sources: the matching entities (local ones from
    `local_matches()`, merged with the sources' ones) as the reader may see them, and the warnings;
    None when no source is to be asked (the local query pages by itself). They are judged, not yet
    handed over: the caller passes the entities of its page through `visible()` once more.

    The list is local entities first, then those only sources have, in the order of the sources and of
    their answers. A source is asked only for as many as the client's page needs (offset + limit, and
    one more to tell whether a next page exists), unless the total is counted or the list is ordered
    here (`ordered`: then up to max_limit, as every match counts); see `_paged` for when it is asked again."""
    target = Target(ids=entity_query.ids, id_pattern=entity_query.id_pattern, attrs=entity_query.attrs,
                    type_expr=entity_query.types)
    posted = request.method == "POST"  # POST /entityOperations/query: queryBatch, the Query sent on as a Query
    asked = candidates(request, tenant, "queryBatch" if posted else "queryEntity", target)
    if not asked:
        return None
    most = request.app.state.toshi.settings.max_limit
    whole = entity_query.count or ordered
    want = most if whole else min(entity_query.offset + entity_query.limit + 1, most)
    if posted:
        asks = [(reg, "/entityOperations/query", _params(request, reg, None, ctx, query=False, limit=want),
                 await _posted_query(request, provided, ctx)) for reg, provided in asked]
    else:
        asks = [(reg, "/entities", _params(request, reg, provided, ctx, query=True, limit=want))
                for reg, provided in asked]
    local, results = await asyncio.gather(local_matches(), _results(request, tenant, asks, ctx))
    shown, failures = await _paged(request, tenant, ctx, local, asks, results, entity_query, most, whole)
    answer = Answer(failures=[r for r in results if isinstance(r, Failure)] + failures)
    if not shown and answer.failures and not local:
        raise answer.error()
    return shown, answer.warnings()


async def _paged(request: Request, tenant: str, ctx, local: list, asks: list, results: list, entity_query,
                 most: int, whole: bool) -> tuple[list[dict], list[Failure]]:
    """Make the sources' answers (`results`, changed in place) hold what the client's page needs: the
    entities shown (`_shown`) and the failures of the asks made again.

    A source whose answer was cut (as many entities as asked) may hold more. Its cut answer still gives
    the page exactly when, counting the entities shown from local ones up to it (the order of the list),
    more than offset + limit are there; else (the read path hid some) the sources whose answers were
    cut are asked again for four times as many, up to max_limit. Then an entity of the page that a
    source with a cut answer did not give may still be there (the same entity at two places, merged):
    that source is asked for those ids alone. `whole`: every match counts (the list is counted or
    ordered here), the sources were asked for up to max_limit."""
    end = entity_query.offset + entity_query.limit
    while True:
        cut = [i for i, (ask, result) in enumerate(zip(asks, results, strict=True)) if _cut(ask, result)]
        if not cut:
            return _shown(local, asks, results)[0], []
        shown, settled = _shown(local, asks, results, up_to=cut[0])
        want = int(asks[cut[0]][2]["limit"])
        if settled > end or want >= most:
            break
        want = min(want * 4, most)
        for i in cut:
            asks[i] = (asks[i][0], asks[i][1], {**asks[i][2], "limit": str(want)}, *asks[i][3:])
        for i, result in zip(cut, await _results(request, tenant, [asks[i] for i in cut], ctx), strict=True):
            results[i] = result
    if whole:
        return shown, []  # asked for up to max_limit: what every source gave is all that is known
    page = [e["id"] for e in shown[entity_query.offset:end]]
    again = []
    for i in cut:
        given = {e["id"] for e in results[i]}
        if missing := [entity_id for entity_id in page if entity_id not in given]:
            again.append((i, _only(asks[i], missing)))
    if not again:
        return shown, []
    failures = []
    for (i, _), result in zip(again, await _results(request, tenant, [a for _, a in again], ctx), strict=True):
        if isinstance(result, Failure):
            failures.append(result)
        elif result:
            results[i] = [*results[i], *result]
    return _shown(local, asks, results)[0], failures


def _cut(ask: tuple, result) -> bool:
    """Whether a source gave as many entities as it was asked for (it may have more)."""
    return isinstance(result, list) and len(result) >= int(ask[2]["limit"])


def _only(ask: tuple, ids: list[str]) -> tuple:
    """`ask` for the entities of these ids alone (of those it matches)."""
    registration, path, params, *body = ask
    params = {**params, "limit": str(len(ids))}
    if not body:
        return registration, path, {**params, "id": ",".join(ids)}
    media, query = body[0]
    selectors = [{**s, "id": i} for i in ids for s in query.get("entities") or [{}] if s.get("id") in (None, i)]
    return registration, path, params, (media, {**query, "entities": selectors})


def _shown(local: list, asks: list, results: list, up_to: int | None = None) -> tuple[list[dict], int]:
    """The merged entities the reader may see (judged, not handed over), and how many of them are local
    or first given by the sources before and at `up_to` (an index of `asks`; None: all)."""
    registrations = [ask[0] for ask in asks]
    answer = _answer(asks, results)
    first: dict[str, int] = {}
    for i, result in enumerate(results):
        for entity in result if isinstance(result, list) else ():
            first.setdefault(entity["id"], i)
    merged: list[tuple[dict, bool]] = []
    seen: set[str] = set()
    for entity in local:
        seen.add(entity["id"])
        merged.append((merge(entity, answer.entities.get(entity["id"], []), registrations), True))
    for entity_id, remote in answer.entities.items():
        if entity_id not in seen:
            merged.append((merge(None, remote, registrations), up_to is None or first[entity_id] <= up_to))
    mark = judging.set(True)  # judged here; what the page hands over is released by the caller
    try:
        shown = [(e, settled) for e, settled in ((visible(m), s) for m, s in merged) if e is not None]
    finally:
        judging.reset(mark)  # each side applied the query itself
    return [e for e, _ in shown], sum(settled for _, settled in shown)
