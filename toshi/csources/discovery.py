"""Distributed discovery (ETSI GS CIM 009 v1.8 5.7.5–5.7.10 with context sources): GET /types,
/types/{type}, /attributes and /attributes/{attrId} also ask the registrations supporting the
operation (retrieveEntityTypes, retrieveEntityTypeDetails, retrieveEntityTypeInfo, retrieveAttrTypes,
retrieveAttrTypeDetails, retrieveAttrTypeInfo; federationOps and redirectionOps include them all),
and the entity API merges their answers with the local ones.

* A source is asked the detailed form (`details=true`, or the Info path as requested) with the
  client's Link @context, and its answer is read into the store's own shapes (`type_details()`,
  `attribute_details()`): the union of types, attributes and attribute types; counts are the sums of
  what each side counted, but for a type's entityCount (/types/{type}) one id is one entity: the
  sources that counted some and support queryEntity are asked their ids, and an entity here and
  there (or at two sources) counts once. An attribute's attributeCount is the sum.
* Only registrations matching the type (for /types/{type}) or the attribute (for /attributes/{attrId})
  are asked; `local=true` and loops (`Via`) are answered locally.
* What the reader may not see is filtered out as from local data (the read path's
  type_visible / attribute_visible).
* A failing source is left out with an NGSILD-Warning; when it was the only answer possible, the
  answer is its failure (502 / 504, 6.3.17).
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import quote

from starlette.requests import Request

from toshi.core.access import sight
from toshi.csources.matching import Target
from toshi.csources.model import operations_of
from toshi.csources.reads import Answer, gather
from toshi.csources.sources import candidates, local_only
from toshi.query.planner import EntityQuery

TYPES = {False: "retrieveEntityTypes", True: "retrieveEntityTypeDetails"}
ATTRIBUTES = {False: "retrieveAttrTypes", True: "retrieveAttrTypeDetails"}


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


async def _ask_all(request: Request, tenant: str, operation: str, path: str, target: Target, ctx,
                   params: dict[str, str]) -> Answer | None:
    asks = [(reg, path, {**params, **local_only(reg)}) for reg, _ in candidates(request, tenant, operation, target)]
    return await gather(request, tenant, asks, ctx, raw=True) if asks else None


def _items(answer: Answer, read, ctx):
    """(name, details) of every item the sources answered that `read(item, ctx)` understands."""
    for found in answer.entities.values():
        for _, data in found:
            for item in data if isinstance(data, list) else [data]:
                read_item = read(item, ctx) if isinstance(item, dict) else None
                if read_item is not None:
                    yield read_item


def _type_item(item: dict, ctx) -> tuple[str, dict] | None:
    """An EntityType / EntityTypeInfo answered, in the form of `store.type_details()`."""
    name = item.get("typeName") or item.get("id")
    if not isinstance(name, str):
        return None
    attrs: dict[str, set] = {ctx.expand_term(a): set() for a in _strings(item.get("attributeNames"))}
    for detail in item.get("attributeDetails") or []:
        attr = (detail.get("attributeName") or detail.get("id")) if isinstance(detail, dict) else None
        if isinstance(attr, str):
            attrs.setdefault(ctx.expand_term(attr), set()).update(_strings(detail.get("attributeTypes")))
    return ctx.expand_term(name), {"attrs": attrs, "count": _count(item.get("entityCount"))}


def _attribute_item(item: dict, ctx) -> tuple[str, dict] | None:
    """An Attribute answered, in the form of `store.attribute_details()`."""
    name = item.get("attributeName") or item.get("id")
    if not isinstance(name, str):
        return None
    return ctx.expand_term(name), {"count": _count(item.get("attributeCount")),
                                   "kinds": set(_strings(item.get("attributeTypes"))),
                                   "types": {ctx.expand_term(t) for t in _strings(item.get("typeNames"))}}


def _add_type(found: dict, name: str, details: dict) -> None:
    mine = found.setdefault(name, {"attrs": {}, "count": 0})
    mine["count"] += details["count"]
    for attr, kinds in details["attrs"].items():
        mine["attrs"].setdefault(attr, set()).update(kinds)


def _add_attribute(found: dict, name: str, details: dict) -> None:
    mine = found.setdefault(name, {"count": 0, "kinds": set(), "types": set()})
    mine["count"] += details["count"]
    mine["kinds"] |= details["kinds"]
    mine["types"] |= details["types"]


def _folded(add, *sides) -> dict[str, dict]:
    """The (name, details) of every side in one, by `add` (new dicts and sets; no side is changed)."""
    found: dict[str, dict] = {}
    for side in sides:
        for name, details in side:
            add(found, name, details)
    return found


async def type_details(request: Request, tenant: str, ctx, type_iri: str | None = None
                       ) -> tuple[dict[str, dict], Answer] | None:
    """What the sources registered for the type operations answered, as `store.type_details()` gives
    it ({type: {"attrs": {attr: kinds}, "count": n}}), and their Answer (failures); None when none
    is to be asked. `type_iri`: GET /types/{type} (EntityTypeInfo), else GET /types; its count leaves
    out the entities counted twice (see `_counted_twice`)."""
    if type_iri is None:
        answer = await _ask_all(request, tenant, TYPES[_details(request)], "/types", Target(), ctx,
                                {"details": "true"})
    else:
        answer = await _ask_all(request, tenant, "retrieveEntityTypeInfo", "/types/" + quote(ctx.compact_iri(type_iri),
                                safe=":"), Target(types={type_iri}), ctx, {})
    if answer is None:
        return None
    found = _folded(_add_type, _items(answer, _type_item, ctx))
    if type_iri in found:
        found[type_iri]["count"] -= await _counted_twice(request, tenant, ctx, type_iri, answer)
    guard = sight()
    if guard is not None:
        found = {t: {**d, "attrs": {a: k for a, k in d["attrs"].items() if guard.attribute_visible(a)}}
                 for t, d in found.items() if guard.type_visible(t)}
    return found, answer


async def _counted_twice(request: Request, tenant: str, ctx, type_iri: str, answer: Answer) -> int:
    """How many of the type's entities the sources counted are counted twice: the same id at two
    sources, or here and at a source, is one entity (4.3.6.4). The sources that counted some and
    support queryEntity are asked their ids (GET /entities?type=&pick=id, up to max_limit); what the
    others counted is taken as they said."""
    asks = []
    for found in answer.entities.values():
        for registration, data in found:
            if isinstance(data, dict) and _count(data.get("entityCount")) and "queryEntity" in operations_of(registration):
                params = {"type": ctx.compact_iri(type_iri), "pick": "id",
                          "limit": str(request.app.state.toshi.settings.max_limit)}
                asks.append((registration, "/entities", {**params, **local_only(registration)}))
    if not asks:
        return 0
    seen: Counter[str] = Counter()
    for found in (await gather(request, tenant, asks, ctx, raw=True)).entities.values():
        for _, data in found:
            seen.update({item["id"] for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)}
                        if isinstance(data, list) else ())
    if not seen:
        return 0
    local, _ = await request.app.state.toshi.store.query_entities(tenant, EntityQuery(ids=list(seen), limit=len(seen)))
    here = sum(1 for entity in local if type_iri in entity["type"])
    return here + sum(n - 1 for n in seen.values())


async def attribute_details(request: Request, tenant: str, ctx, attr_iri: str | None = None
                            ) -> tuple[dict[str, dict], Answer] | None:
    """What the sources registered for the attribute operations answered, as
    `store.attribute_details()` gives it ({attr: {"count": n, "kinds": set, "types": set}}), and
    their Answer; None when none is to be asked. `attr_iri`: GET /attributes/{attrId}."""
    if attr_iri is None:
        answer = await _ask_all(request, tenant, ATTRIBUTES[_details(request)], "/attributes", Target(), ctx,
                                {"details": "true"})
    else:
        answer = await _ask_all(request, tenant, "retrieveAttrTypeInfo",
                                "/attributes/" + quote(ctx.compact_iri(attr_iri), safe=":"),
                                Target(attrs={attr_iri}), ctx, {})
    if answer is None:
        return None
    found = _folded(_add_attribute, _items(answer, _attribute_item, ctx))
    guard = sight()
    if guard is not None:
        found = {a: {**d, "types": {t for t in d["types"] if guard.type_visible(t)}}
                 for a, d in found.items() if guard.attribute_visible(a)}
        found = {a: d for a, d in found.items() if d["types"]}
    return found, answer


def _details(request: Request) -> bool:
    return request.query_params.get("details", "").lower() == "true"


def merged_types(local: dict[str, dict], remote: dict[str, dict]) -> dict[str, dict]:
    """Local and remote type details in one (new dicts; neither is changed)."""
    return _folded(_add_type, local.items(), remote.items())


def merged_attributes(local: dict[str, dict], remote: dict[str, dict]) -> dict[str, dict]:
    """Local and remote attribute details in one (new dicts; neither is changed)."""
    return _folded(_add_attribute, local.items(), remote.items())
