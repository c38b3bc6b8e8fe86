"""/v2/types and /v2/types/{type}: entity types with their attributes' v2 types and entity counts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from toshi.core.access import judging
from toshi.ngsiv2 import headers, mapping
from toshi.ngsiv2.errors import not_found
from toshi.ngsiv2.request import EVERYTHING, accept, ctx, json_response, options_of, paging, services
from toshi.query.planner import EntityQuery


async def _type_table(request: Request) -> dict[str, dict]:
    """{type name: {"attrs": {name: {"types": [...]}}, "count": n}} over the entities in the service path."""
    in_path = headers.query_filter(request)
    query = EntityQuery(limit=EVERYTHING, extra=[in_path] if in_path else [])
    mark = judging.set(True)  # only their types and attribute names are shown: no entity is handed over
    try:
        found, _ = await services(request).store.query_entities(headers.tenant_of(request), query)
    finally:
        judging.reset(mark)
    table: dict[str, dict] = {}
    context = ctx()
    for entity in found:
        for iri in entity["type"]:
            info = table.setdefault(context.compact_iri(iri), {"attrs": {}, "count": 0})
            info["count"] += 1
            for attr_iri, instances in entity["attrs"].items():
                if instances:
                    kinds = info["attrs"].setdefault(context.compact_iri(attr_iri), {"types": []})["types"]
                    kind = mapping.v2_type(mapping.main_instance(instances))
                    if kind not in kinds:
                        kinds.append(kind)
    return table


async def list_types(request: Request) -> Response:
    accept(request)
    options = options_of(request.query_params, {"count", "values", "noAttrDetail"})
    limit, offset = paging(request.query_params)
    table = await _type_table(request)
    names = sorted(table)
    page = names[offset:offset + limit]
    if "values" in options:
        body: list = page
    else:
        body = [{"type": n, "attrs": _attrs(table[n], options), "count": table[n]["count"]} for n in page]
    extra = {"Fiware-Total-Count": str(len(names))} if "count" in options else None
    return json_response(body, extra=extra)


async def type_info(request: Request) -> Response:
    accept(request)
    options = options_of(request.query_params, {"noAttrDetail"})
    table = await _type_table(request)
    info = table.get(request.path_params["type_name"])
    if info is None:
        raise not_found("Entity type not found")
    return json_response({"attrs": _attrs(info, options), "count": info["count"]})


def _attrs(info: dict, options: set[str]) -> dict:
    """Each attribute name (in order) with the v2 types it has; `options=noAttrDetail`: the manual's
    "`types` list associated to each attribute name is set to `[]`"."""
    if "noAttrDetail" in options:
        return {name: {"types": []} for name in sorted(info["attrs"])}
    return {name: {"types": sorted(detail["types"])} for name, detail in sorted(info["attrs"].items())}
