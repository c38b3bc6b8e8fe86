"""Distributed temporal retrieve and query (ETSI GS CIM 009 v1.8 5.7.3, 5.7.4 with context sources):
GET /temporal/entities/{id}, GET /temporal/entities and POST /temporal/entityOperations/query also ask
the registrations supporting retrieveTemporal / queryTemporal (named one by one: no operation group
holds them) that match the entity or the query, and the temporal API merges their answers with its own.

* The request sent: the same path with the client's parameters as they came (the temporal query, attrs,
  options, the entity selection; a query's limit = max_limit), its Link @context, the registration's
  tenant and contextSourceInfo, `Via`, and `local=true` when management.localOnly. A POST query (the
  same operation, queryTemporal: 5.7.4 bound to POST in 6.24) is sent as a POST of the client's Query
  as it came (its temporalQ, filters and @context) to the source's /temporal/entityOperations/query.
* Merge: entities by id; attributes by name; the instances of one attribute from every side are kept
  together (local first), an identical instance once only (instanceIds are each broker's own, so two
  sides may use the same one for different instances); a temporalValues
  attribute's `values` are joined the same way. The query's page and its count are those of the
  merged list (the local count plus the entities only sources had).
* The read path: a remote temporal entity passes `visible()` as the entity its latest instances make
  (types, each attribute's last instance); the entity is dropped when hidden, an attribute when the
  reader may not see it. A value-dependent rule sees only the latest value.
* Failures: a failing source is left out with an NGSILD-Warning; when nothing was found and a source
  failed, 502/504 (6.3.17).
"""

from __future__ import annotations

from urllib.parse import quote

import orjson
from starlette.requests import Request

from toshi.core.access import visible
from toshi.csources.matching import Target
from toshi.csources.reads import Answer, _posted_query, gather
from toshi.csources.sources import candidates, local_only

SKIPPED = frozenset({"local", "limit", "offset", "count"})
NOT_ATTRIBUTES = frozenset({"id", "type", "@context", "scope", "createdAt", "modifiedAt", "deletedAt"})


def _params(request: Request, registration: dict, *, query: bool) -> dict[str, str]:
    params = {k: v for k, v in request.query_params.items() if k not in SKIPPED}
    methods = request.query_params.getlist("aggrMethods")
    if len(methods) > 1:  # merged, as the local answer merges them (toshi/temporal/request.py)
        params["aggrMethods"] = ",".join(methods)
    if query:
        params["limit"] = str(request.app.state.toshi.settings.max_limit)
    return {**params, **local_only(registration)}


async def _ask(request: Request, tenant: str, operation: str, path: str, target: Target, ctx,
               query: bool) -> tuple[Answer, list[dict]] | None:
    asks = [(reg, path, _params(request, reg, query=query)) for reg, _ in candidates(request, tenant, operation, target)]
    if not asks:
        return None
    if request.method == "POST":  # the Query of POST /temporal/entityOperations/query, as it came
        posted = await _posted_query(request, None, ctx)
        asks = [(*ask, posted) for ask in asks]
    answer = await gather(request, tenant, asks, ctx, raw=True)
    bodies = []
    for found in answer.entities.values():
        for _, data in found:
            bodies += [b for b in (data if isinstance(data, list) else [data])
                       if isinstance(b, dict) and isinstance(b.get("id"), str)]
    return answer, [b for b in (_readable(b, ctx) for b in bodies) if b is not None]


async def retrieve(request: Request, tenant: str, entity_id: str, local: dict | None, types: list[str] | None,
                   ctx) -> tuple[dict | None, Answer] | None:
    """The temporal entity merged from `local` (its body here, None: none) and the sources'; None when
    no source is to be asked."""
    target = Target(ids=[entity_id], types=set(types) if types else None)
    asked = await _ask(request, tenant, "retrieveTemporal", "/temporal/entities/" + quote(entity_id, safe=":"),
                       target, ctx, query=False)
    if asked is None:
        return None
    answer, remote = asked
    merged = merge(local, [b for b in remote if b["id"] == entity_id])
    if merged is None and answer.failures:
        raise answer.error()
    return merged, answer


async def query(request: Request, tenant: str, entity_query, local: list[dict], ctx
                ) -> tuple[list[dict], int, Answer] | None:
    """The local temporal entities merged with the sources' (the local ones' order, then the others),
    how many more than the local ones there are, and the Answer; None when no source is to be asked."""
    target = Target(ids=entity_query.ids, id_pattern=entity_query.id_pattern, attrs=entity_query.attrs,
                    type_expr=entity_query.types)
    path = "/temporal/entityOperations/query" if request.method == "POST" else "/temporal/entities"
    asked = await _ask(request, tenant, "queryTemporal", path, target, ctx, query=True)
    if asked is None:
        return None
    answer, remote = asked
    by_id: dict[str, list[dict]] = {}
    for body in remote:
        by_id.setdefault(body["id"], []).append(body)
    merged = [merge(body, by_id.pop(body["id"], [])) for body in local]
    extra = [merge(None, bodies) for bodies in by_id.values()]
    if not merged and not extra and answer.failures:
        raise answer.error()
    return merged + extra, len(extra), answer


def merge(local: dict | None, remote: list[dict]) -> dict | None:
    """One temporal entity from the local body and the sources' (see the module's docstring)."""
    if local is None and not remote:
        return None
    out = dict(local) if local is not None else {k: v for k, v in remote[0].items() if k in ("id", "type")}
    for body in remote:
        out["type"] = _union(out.get("type"), body.get("type"))
        for name, value in body.items():
            if name in NOT_ATTRIBUTES:
                continue
            out[name] = value if name not in out else _joined(out[name], value)
    return out


def _union(a, b):
    items = [*(a if isinstance(a, list) else [a] if a else []), *(b if isinstance(b, list) else [b] if b else [])]
    kept = list(dict.fromkeys(i for i in items if isinstance(i, str)))
    return kept[0] if len(kept) == 1 else kept


def _joined(mine, theirs):
    instances = [*(mine if isinstance(mine, list) else [mine]), *(theirs if isinstance(theirs, list) else [theirs])]
    if all(isinstance(i, dict) and isinstance(i.get("values"), list) for i in instances) and len(instances) > 1:
        values = []
        for instance in instances:
            values += [v for v in instance["values"] if v not in values]
        return {**instances[0], "values": values}
    kept, seen = [], set()
    for instance in instances:  # instanceIds are each broker's own: only an identical instance is one
        key = orjson.dumps(instance, option=orjson.OPT_SORT_KEYS)
        if key not in seen:
            seen.add(key)
            kept.append(instance)
    return kept[0] if len(kept) == 1 else kept


def _readable(body: dict, ctx) -> dict | None:
    """`body` as far as the local reader may see it (the read path over the entity its latest
    instances make), None when hidden."""
    types = body.get("type")
    types = [types] if isinstance(types, str) else [t for t in types or [] if isinstance(t, str)]
    attrs, names = {}, {}
    for name, value in body.items():
        if name in NOT_ATTRIBUTES:
            continue
        latest = value[-1] if isinstance(value, list) and value else value
        latest = latest if isinstance(latest, dict) else {}
        kind = latest.get("type") if isinstance(latest.get("type"), str) else "Property"
        instance = {"type": kind, "object" if "Relationship" in kind else "value":
                    latest.get("object" if "Relationship" in kind else "value")}
        iri = ctx.expand_term(name)
        attrs[iri], names[iri] = [instance], name
    entity = {"id": body["id"], "type": [ctx.expand_term(t) for t in types], "attrs": attrs}
    seen = visible(entity)
    if seen is None:
        return None
    return {k: v for k, v in body.items()
            if k in NOT_ATTRIBUTES or any(names[iri] == k for iri in seen.get("attrs", {}))}
