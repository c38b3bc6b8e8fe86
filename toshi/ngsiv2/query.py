"""Answering a v2 entity query (GET /v2/entities, POST /v2/op/query): service path, paging,
orderBy, count and the output forms."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from toshi.core.access import handed_over, judging
from toshi.core.expiry import hide_expired
from toshi.ngsiv2 import forwarding, headers, mapping
from toshi.ngsiv2.errors import bad_request
from toshi.ngsiv2.request import EVERYTHING, JSON, ctx, form_of, json_response, paging, services
from toshi.query.planner import EntityQuery

COUNT_HEADER = "Fiware-Total-Count"


async def answer_query(request: Request, query: EntityQuery, options: set[str], attrs: list[str] | None,
                       metadata: list[str] | None) -> Response:
    limit, offset = paging(request.query_params)
    await hide_expired(services(request).store, headers.tenant_of(request), query)  # past dateExpires: gone
    in_path = headers.query_filter(request)
    if in_path is not None:
        query.extra.append(in_path)
    order = request.query_params.get("orderBy")
    if order and "geo:distance" in order and not getattr(query.geo, "is_near", False):
        raise bad_request("orderBy=geo:distance can only be used with georel=near")
    query.count = "count" in options
    if order:
        query.limit, query.offset = EVERYTHING, 0
    else:
        query.limit, query.offset = limit, offset
    mark = judging.set(True)  # what the answer holds is handed over below (all matches are read to order them)
    try:
        found, total = await services(request).store.query_entities(headers.tenant_of(request), query)
    finally:
        judging.reset(mark)
    if order:
        found = ordered(found, order, query.geo)[offset:offset + limit]
    found = handed_over(await forwarding.augment_query(request, query, found, limit, attrs))
    form = form_of(options)
    extra = {COUNT_HEADER: str(total)} if total is not None else None
    if form == "unique":
        rendered = [mapping.render_entity(e, ctx(), form="values", attrs=attrs, metadata=metadata) for e in found]
        return json_response([row for n, row in enumerate(rendered) if row not in rendered[:n]], extra=extra)
    cache = services(request).render_cache
    variant = ("v2", form, True, None if attrs is None else tuple(attrs), None if metadata is None else tuple(metadata))
    parts = [cache.bytes_of(e, ctx(), variant, lambda e=e: mapping.render_entity(
        e, ctx(), form=form, attrs=attrs, metadata=metadata)) for e in found]
    return Response(b"[" + b",".join(parts) + b"]", media_type=JSON, headers=extra)


def ordered(entities: list[dict], order: str, geo=None) -> list[dict]:
    """`orderBy`: comma-separated id / type / dateCreated / dateModified / geo:distance / attributes,
    `!` = descending."""
    keys = [k.strip() for k in order.split(",") if k.strip()]
    names = [k.lstrip("!") for k in keys]
    if len(set(names)) != len(names):  # the manual: "the same ordering token cannot be repeated"
        raise bad_request("repeated field in orderBy: " + next(n for n in names if names.count(n) > 1))
    result = list(entities)
    for key in reversed(keys):
        name = key.lstrip("!")
        result.sort(key=lambda e, n=name: _sort_key(e, n, geo), reverse=key.startswith("!"))
    return result


def _sort_key(entity: dict, name: str, geo=None) -> tuple[int, Any]:
    if name == "geo:distance" and geo is not None:
        return _ranked(geo.distance(entity))
    if name == "id":
        return _ranked(entity["id"])
    if name == "type":
        return _ranked(mapping.entity_type(entity, ctx()))
    if name in ("dateCreated", "dateModified"):
        return _ranked(entity.get("createdAt" if name == "dateCreated" else "modifiedAt"))
    instances = entity["attrs"].get(ctx().expand_term(name))
    if not instances:
        return (0, 0)
    return _ranked(mapping.v2_value(mapping.main_instance(instances), ctx()))


def _ranked(value: Any) -> tuple[int, Any]:
    """A sort key comparable across JSON types, in MongoDB's order (the manual's "Ordering Results"):
    missing / null < numbers < strings < objects < arrays < booleans."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (6, value)
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, dict):
        return (4, orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    if isinstance(value, list):
        return (5, orjson.dumps(value))
    return (7, str(value))
