"""NGSI-LD entity endpoints: /entities and /entities/{id}/attrs (ETSI GS CIM 009 clause 6.4–6.7)."""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

import orjson
from starlette.requests import Request
from starlette.responses import Response

from toshi import csources
from toshi.core import entity as ops
from toshi.core.access import handed_over, judging, visible
from toshi.core.errors import BadRequestData, ResourceNotFound
from toshi.core.expiry import hide_expired, is_expired, unexpired_attributes
from toshi.formats import ngsild_http as http
from toshi.formats.ngsild_params import (
    attribute_names,
    check_geometry_property,
    deletion_target,
    entity_query,
    options_of,
    ordering_of,
    output_of,
    type_selector,
)
from toshi.formats.ngsild_parse import parse_attribute, parse_entity, parse_fragment
from toshi.formats.ngsild_render import render_entity, render_feature_collection, render_geojson
from toshi.formats.ngsild_versions import versioned
from toshi.ngsild import entity_maps, linked
from toshi.store import resolve_linked

READ_OPTIONS = {"keyValues", "concise", "normalized", "sysAttrs", "simplified"}
# options=count: a leniency for real clients (docs/ngsi-ld.md); idsOnly: only the ids of the matches
QUERY_OPTIONS = READ_OPTIONS | {"count", "idsOnly"}
OUTPUT_MEDIA = (http.JSON, http.LD_JSON, http.GEO_JSON)
ORDER_ALL = 10**9  # a limit that never cuts: ordering reads every match


def _services(request: Request):
    return request.app.state.toshi


def _entity_id(request: Request) -> str:
    return http.uri_param(request, "entity_id", "Entity id")


async def create_entity(request: Request) -> Response:
    tenant = http.tenant_of(request)
    body = await http.read_body(request)
    options_of(request.query_params, set())
    ctx = await http.context_for(request, body.context, from_link=False)
    now = ops.now_iso()
    parsed = parse_entity(_object(body.data), ctx, now=now)

    async def local(payload: dict) -> Response:
        entity = parsed if payload is body.data else parse_entity(payload, ctx, now=now)
        await _services(request).writer.apply_one(tenant, entity["id"], lambda b: ops.create(b, entity, now))
        return Response(status_code=201, headers={"Location": f"/ngsi-ld/v1/entities/{entity['id']}"})

    split = await csources.split_write(request, tenant, "createEntity", parsed["id"], body.data, ctx,
                                       media=body.media, types=parsed["type"])
    if split is not None:  # attributes an exclusive / redirect context source owns are created there
        return await split.respond("POST", "/entities", local, created=True,
                                   extra={"id": parsed["id"], "type": body.data["type"]})
    return await local(body.data)


async def retrieve_entity(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    entity_id = request.path_params["entity_id"]
    media = http.negotiate(request, OUTPUT_MEDIA)
    ctx = await http.context_for(request)
    params = request.query_params
    output = output_of(params, ctx, options_of(params, READ_OPTIONS))
    check_geometry_property(output, media)
    store = _services(request).store
    found = _of_type(await store.get_entity(tenant, entity_id), params, ctx)
    if found is None or is_expired(found):
        _entity_id(request)  # a malformed id is a bad request; entities made through NGSI-v2 may have any id
        found = None
    else:
        found = unexpired_attributes(found)  # transient attributes past their expiresAt are gone
    held = found  # held here (an entity map names it "@none")
    federated = await csources.retrieve(request, tenant, entity_id, found, ctx, output.attrs)  # context sources
    warnings = federated[1] if federated else []
    found = federated[0] if federated else found
    if found is None:
        raise ResourceNotFound(f"Entity {entity_id} not found")
    if output.attrs is not None and output.attrs.isdisjoint(found["attrs"]):  # v1.9.1 5.7.1.4
        raise ResourceNotFound(f"Entity {entity_id} has none of the attributes {', '.join(sorted(output.attrs))}")
    if _projected_away(found, output, ctx):
        raise ResourceNotFound(f"pick / omit leave nothing of entity {entity_id}")
    used = await entity_maps.for_retrieve(request, tenant, held)  # NGSILD-EntityMap (5.7.1.4)
    if output.join is not None and media != http.GEO_JSON:  # linked entities (clause 4.5.23)
        body = await linked.answer(store, tenant, [found], output, ctx, one=True)
        response = await http.json_response(request, body, media=media, ctx=ctx)
        return _with_map(used, _versioned(request, response, output))
    content = _renderer(request, ctx, output, media)(found)
    response = await http.bytes_response(request, content, media=media, ctx=ctx, headers=_warned(warnings))
    return _with_map(used, _versioned(request, response, output))


def _versioned(request: Request, response: Response, output) -> Response:
    """The answer amended for a `Prefer: ngsi-ld=1.x` of an older version (toshi/formats/ngsild_versions.py)."""
    return versioned(request, response, key_values=output.form == "keyValues")


def _with_map(used, response: Response, *, created_status: int = 200) -> Response:
    """The answer with the location of the entity map the request used, if any (toshi/ngsild/entity_maps.py)."""
    return response if used is None else used.mark(response, created_status=created_status)


def _warned(warnings: list[str]) -> dict[str, str]:
    """The NGSILD-Warning header of an answer some context sources failed to contribute to (6.3.18)."""
    return {"NGSILD-Warning": ", ".join(warnings)} if warnings else {}


def _of_type(entity: dict | None, params, ctx) -> dict | None:
    """The entity, unless `type` names types it does not have (then, as if not there: 404)."""
    selector = type_selector(params, ctx)
    return entity if entity is None or selector is None or selector.matches(entity["type"]) else None


def _projected_away(entity: dict, output, ctx) -> bool:
    """Whether `pick` matches none of the entity's members, or `omit` names all of them (404, 5.7.1)."""
    if output.pick is None and output.omit is None:
        return False
    members = [m for m in ("id", "type", "scope") if entity.get(m)]
    members += [iri for iri in entity["attrs"] if output.attrs is None or iri in output.attrs]
    if output.pick is not None:
        return not any(m in output.pick or ctx.compact_iri(m) in output.pick for m in members)
    return all(m in output.omit or ctx.compact_iri(m) in output.omit for m in members)


def _renderer(request: Request, ctx, output, media: str):
    """entity -> JSON bytes in the requested form (with its @context when embedded), cached; what is the
    same for every entity of a page is looked up once."""
    embed = http.embeds_context(request, media)
    cache, variant = _services(request).render_cache, (*output.variant(media), embed)

    def rendered(entity: dict) -> bytes:
        def render():
            if media == http.GEO_JSON:
                body = render_geojson(entity, ctx, **_geo_args(output))
            else:
                body = render_entity(entity, ctx, **_render_args(output))
            return http.with_context(body, ctx.source) if embed else body
        return cache.bytes_of(entity, ctx, variant, render)
    return rendered


async def query_entities(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    media = http.negotiate(request, OUTPUT_MEDIA)
    ctx = await http.context_for(request)
    params = request.query_params
    options = options_of(params, QUERY_OPTIONS)
    output = output_of(params, ctx, options)
    check_geometry_property(output, media)
    query = entity_query(params, ctx, _services(request).settings, count_option="count" in options, linked=True)
    return await answer_query(request, tenant, query, output, media, ctx, ordering_of(params, ctx))


async def answer_query(request: Request, tenant: str, query, output, media: str, ctx, ordering) -> Response:
    """Run a query and render the page in `ordering` (None: creation order); shared by GET /entities and
    POST /entityOperations/query."""
    await resolve_linked(_services(request).store, tenant, query)  # rel{...} subqueries of q, first
    used = await entity_maps.for_query(request, tenant, query, ordering)  # NGSILD-EntityMap: the map's entities only
    federated = await _federated_page(request, tenant, query, ordering, ctx)
    found, total, more, warnings = federated or (*await _page(request, tenant, query, ordering), [])
    found = [e if e is None else unexpired_attributes(e) for e in found]  # expired transient attributes go
    headers = {} if total is None else {"NGSILD-Results-Count": str(total)}
    headers.update(_warned(warnings))
    if output.ids_only:  # an array of the matching entities' ids, paged and counted like the entities
        if media == http.GEO_JSON:
            raise BadRequestData("idsOnly answers a JSON array of entity ids, not GeoJSON")
        response = await http.json_response(request, [e["id"] for e in found if e is not None], media=media, headers=headers)
    elif media == http.GEO_JSON:  # the Features of a collection share its @context
        features = [render_geojson(e, ctx, **_geo_args(output)) for e in found]
        collection = render_feature_collection(features)
        response = await http.json_response(request, collection, media=media, ctx=ctx, headers=headers)
    elif output.join is not None:  # linked entities (clause 4.5.23)
        body = await linked.answer(_services(request).store, tenant, found, output, ctx, one=False)
        response = await http.json_response(request, body, media=media, ctx=ctx, headers=headers)
    else:
        rendered = _renderer(request, ctx, output, media)
        content = b"[" + b",".join(map(rendered, found)) + b"]"
        response = await http.bytes_response(request, content, media=media, ctx=ctx, headers=headers)
    if request.method == "GET" and (links := http.page_links(request, query.limit, query.offset, more, media)):
        response.headers.append("Link", links)
    response = _versioned(request, response, output)
    return _with_map(used, response, created_status=201)  # 201 when a map was made (Table 6.4.3.2-3)


async def _federated_page(request: Request, tenant: str, query, ordering, ctx):
    """The page, total, whether more follow, and the warnings of a query that registered context
    sources answer too (toshi/csources: merged, then ordered and paged here); None without any."""
    store = _services(request).store

    async def local_matches() -> list:
        await hide_expired(store, tenant, query)
        mark = judging.set(True)  # read ahead: only the page is handed over
        try:
            return (await store.query_entities(tenant, dataclasses.replace(query, limit=ORDER_ALL, offset=0)))[0]
        finally:
            judging.reset(mark)

    answered = await csources.query(request, tenant, query, ctx, local_matches, ordered=ordering is not None)
    if answered is None:
        return None
    found, warnings = answered
    if ordering is not None:
        found = ordering.sort(found)
    end = query.offset + query.limit
    page = [visible(entity) for entity in found[query.offset:end]]  # handed over through the read path
    return page, len(found) if query.count else None, len(found) > end, warnings


async def _page(request: Request, tenant: str, query, ordering) -> tuple[list, int | None, bool]:
    """The page of entities, their total when counted, and whether more follow."""
    store = _services(request).store
    await hide_expired(store, tenant, query)  # transient entities (dateExpires) past their expiry are gone
    limit, offset = query.limit, query.offset
    if ordering is not None:  # ordered in memory: every match is read (docs/ngsi-ld.md)
        found, total = await _read_ahead(store, tenant, dataclasses.replace(query, limit=ORDER_ALL, offset=0))
        ordered = ordering.sort(found)
        return _handed_over(ordered[offset:offset + limit]), total, len(ordered) > offset + limit
    if limit == 0:
        found, total = await store.query_entities(tenant, query)
        return found, total, False
    # one more tells whether a next page exists
    found, total = await _read_ahead(store, tenant, dataclasses.replace(query, limit=limit + 1))
    return _handed_over(found[:limit]), total, len(found) > limit


async def _read_ahead(store, tenant: str, query) -> tuple[list, int | None]:
    """More entities than the answer holds (the one that tells a next page exists, or all of them to
    be ordered): read as the store reads while judging a match, so none counts as handed over (the
    access log of personal data, toshi/consent) until `_handed_over` says so."""
    mark = judging.set(True)
    try:
        return await store.query_entities(tenant, query)
    finally:
        judging.reset(mark)


def _handed_over(page: list) -> list:
    """The entities of the answer, released through the read path (what it records of a release)."""
    return handed_over(page)


async def purge_entities(request: Request) -> Response:
    """DELETE /entities (v1.9 clause 5.6.21 / 6.4.3.3): delete every matching entity, or with `drop`
    remove those attributes from each, with `keep` every other attribute. 204, or 207 with the
    entities that could not be changed."""
    tenant = await http.existing_tenant(request)
    ctx = await http.context_for(request)
    params = request.query_params
    options_of(params, set())
    drop, keep = attribute_names(params, "drop", ctx), attribute_names(params, "keep", ctx)
    if drop is not None and keep is not None:
        raise BadRequestData("drop and keep cannot be used together")
    query = entity_query(params, ctx, _services(request).settings, linked=True)
    query.limit, query.offset = ORDER_ALL, 0
    await resolve_linked(_services(request).store, tenant, query)
    used = entity_maps.for_purge(request, tenant, query)  # NGSILD-EntityMap: only the map's entities
    await hide_expired(_services(request).store, tenant, query)
    found, _ = await _services(request).store.query_entities(tenant, query)
    now = ops.now_iso()

    def purge(before, entity_id):
        if drop is None and keep is None:
            return ops.delete(before, entity_id)
        attrs = {name: instances for name, instances in before["attrs"].items()
                 if (drop is not None and name not in drop) or (keep is not None and name in keep)}
        return before if attrs == before["attrs"] else {**before, "attrs": attrs, "modifiedAt": now}

    edits = [(e["id"], lambda b, i=e["id"]: purge(b, i)) for e in found]
    outcomes = await _services(request).writer.apply(tenant, edits) if edits else []
    errors = [{"entityId": o.entity_id, "error": o.error.problem()} for o in outcomes if o.error is not None]
    if used is None:  # a map names entities held here only ("@none"): its purge asks no context source
        errors += await csources.purge(request, tenant, query) or []  # context sources registered for purgeEntity
    if not errors:
        return _with_map(used, http.no_content())
    done = [o.entity_id for o in outcomes if o.error is None]
    return _with_map(used, Response(orjson.dumps({"success": done, "errors": errors}), status_code=207,
                                    media_type=http.JSON))


async def replace_entity(request: Request) -> Response:
    tenant = http.tenant_of(request)
    entity_id = _entity_id(request)
    body = await http.read_body(request)
    ctx = await http.context_for(request, body.context, from_link=False)
    data = _object(body.data)
    if data.get("id", entity_id) != entity_id:
        raise BadRequestData("The id in the payload differs from the id in the URL")
    now = ops.now_iso()
    parsed = parse_entity({**data, "id": entity_id}, ctx, now=now)

    async def local(payload: dict) -> Response:
        entity = parsed if payload is data else parse_entity({**payload, "id": entity_id}, ctx, now=now)
        await _services(request).writer.apply_one(tenant, entity_id, lambda b: ops.replace(b, entity, now))
        return http.no_content()

    split = await csources.split_write(request, tenant, "replaceEntity", entity_id, data, ctx, media=body.media,
                                       types=parsed["type"])
    if split is not None:  # attributes an exclusive / redirect context source owns are replaced there
        return await split.respond("PUT", f"/entities/{quote(entity_id, safe=':')}", local,
                                   extra={"type": data["type"]})
    return await local(data)


async def merge_entity(request: Request) -> Response:
    tenant = http.tenant_of(request)
    entity_id = _entity_id(request)
    body = await http.read_body(request, allowed=(http.JSON, http.LD_JSON, http.MERGE_PATCH))
    options_of(request.query_params, {"keyValues", "concise", "normalized"})
    ctx = await http.context_for(request, body.context, from_link=False)
    now = ops.now_iso()
    fragment = parse_fragment(_not_empty(body.data), ctx, now=now, allow_null=True)

    async def local(payload: dict) -> Response:
        part = fragment if payload is body.data else parse_fragment(payload, ctx, now=now, allow_null=True)
        await _services(request).writer.apply_one(tenant, entity_id, lambda b: ops.merge(b, part, now, entity_id))
        return http.no_content()

    split = await csources.split_write(request, tenant, "mergeEntity", entity_id, body.data, ctx, media=body.media)
    if split is not None:  # attributes an exclusive / redirect context source owns are merged there
        return await split.respond("PATCH", f"/entities/{quote(entity_id, safe=':')}", local)
    return await local(body.data)


async def delete_entity(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    entity_id = _entity_id(request)

    async def local(_payload=None) -> Response:
        await _services(request).writer.apply_one(tenant, entity_id, lambda b: ops.delete(b, entity_id))
        return http.no_content()

    split = await csources.split_write(request, tenant, "deleteEntity", entity_id, None, await http.context_for(request))
    if split is not None:  # exclusive / redirect context sources holding it delete it too
        return await split.respond("DELETE", f"/entities/{quote(entity_id, safe=':')}", local)
    return await local()


async def append_attrs(request: Request) -> Response:
    tenant = http.tenant_of(request)
    entity_id = _entity_id(request)
    body = await http.read_body(request)
    overwrite = "noOverwrite" not in options_of(request.query_params, {"noOverwrite"})
    ctx = await http.context_for(request, body.context, from_link=False)
    now = ops.now_iso()
    fragment = parse_fragment(_not_empty(body.data), ctx, now=now)

    async def local(payload: dict) -> Response:
        part = fragment if payload is body.data else parse_fragment(payload, ctx, now=now)

        def edit(before):
            after, updated, not_updated = ops.append(before, part, now, overwrite=overwrite, entity_id=entity_id)
            return after, {"updated": updated, "notUpdated": not_updated}

        change = await _services(request).writer.apply_one(tenant, entity_id, edit)
        return _update_result(change.detail, ctx)

    split = await csources.split_write(request, tenant, "appendAttrs", entity_id, body.data, ctx, media=body.media)
    if split is not None:  # attributes an exclusive / redirect context source owns are appended there
        return await split.respond("POST", f"/entities/{quote(entity_id, safe=':')}/attrs", local)
    return await local(body.data)


async def update_attrs(request: Request) -> Response:
    tenant = http.tenant_of(request)
    entity_id = _entity_id(request)
    body = await http.read_body(request)
    options_of(request.query_params, set())
    ctx = await http.context_for(request, body.context, from_link=False)
    now = ops.now_iso()
    fragment = parse_fragment(_not_empty(body.data), ctx, now=now)

    async def local(payload: dict) -> Response:
        part = fragment if payload is body.data else parse_fragment(payload, ctx, now=now)

        def edit(before):
            after, updated, not_updated = ops.update_existing(before, part, now, entity_id=entity_id)
            return after, {"updated": updated, "notUpdated": not_updated}

        change = await _services(request).writer.apply_one(tenant, entity_id, edit)
        return _update_result(change.detail, ctx)

    split = await csources.split_write(request, tenant, "updateAttrs", entity_id, body.data, ctx, media=body.media)
    if split is not None:  # attributes an exclusive / redirect context source owns are updated there
        return await split.respond("PATCH", f"/entities/{quote(entity_id, safe=':')}/attrs", local)
    return await local(body.data)


def _update_result(detail: dict, ctx) -> Response:
    if not detail["notUpdated"]:
        return http.no_content()
    result = {
        "updated": [ctx.compact_iri(n) for n in detail["updated"]],
        "notUpdated": [{**n, "attributeName": ctx.compact_iri(n["attributeName"])} for n in detail["notUpdated"]],
    }
    return Response(orjson.dumps(result), status_code=207, media_type=http.JSON)


async def update_attribute(request: Request) -> Response:
    tenant = http.tenant_of(request)
    entity_id = _entity_id(request)
    body = await http.read_body(request)
    ctx = await http.context_for(request, body.context, from_link=False)
    name = ctx.expand_term(request.path_params["attr_id"])
    now = ops.now_iso()
    instances = parse_attribute(request.path_params["attr_id"], _not_empty(body.data), ctx, now=now,
                                partial=True)

    async def local(_payload=None) -> Response:
        for patch in instances:
            await _services(request).writer.apply_one(
                tenant, entity_id, lambda b, p=patch: ops.update_attribute(b, name, p, now, entity_id))
        return http.no_content()

    return await _attribute_write(request, tenant, entity_id, "updateAttrs", "PATCH", body, ctx, local)


async def replace_attribute(request: Request) -> Response:
    tenant = http.tenant_of(request)
    entity_id = _entity_id(request)
    body = await http.read_body(request)
    ctx = await http.context_for(request, body.context, from_link=False)
    name = ctx.expand_term(request.path_params["attr_id"])
    now = ops.now_iso()
    instances = parse_attribute(request.path_params["attr_id"], _not_empty(body.data), ctx, now=now)

    async def local(_payload=None) -> Response:
        await _services(request).writer.apply_one(
            tenant, entity_id, lambda b: ops.replace_attribute(b, name, instances, now, entity_id))
        return http.no_content()

    return await _attribute_write(request, tenant, entity_id, "replaceAttrs", "PUT", body, ctx, local)


async def delete_attribute(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    entity_id = _entity_id(request)
    ctx = await http.context_for(request)
    name = ctx.expand_term(request.path_params["attr_id"])
    dataset_id, delete_all = deletion_target(request.query_params)
    now = ops.now_iso()

    async def local(_payload=None) -> Response:
        await _services(request).writer.apply_one(
            tenant, entity_id,
            lambda b: ops.delete_attribute(b, name, now, entity_id, dataset_id=dataset_id, delete_all=delete_all))
        return http.no_content()

    return await _attribute_write(request, tenant, entity_id, "deleteAttrs", "DELETE", None, ctx, local)


async def _attribute_write(request: Request, tenant: str, entity_id: str, operation: str, method: str, body,
                           ctx, local) -> Response:
    """An operation on one attribute: sent to the exclusive / redirect context source that owns it
    (toshi/csources), else `local()`. The source gets the same path, query and body."""
    attr = request.path_params["attr_id"]
    split = await csources.split_write(request, tenant, operation, entity_id,
                                       {attr: None if body is None else
                                        body.data if body.media == http.LD_JSON else _without_context(body.data)},
                                       ctx,
                                       media=body.media if body is not None else http.JSON)
    if split is None:
        return await local()
    path = f"/entities/{quote(entity_id, safe=':')}/attrs/{quote(attr, safe=':')}"
    if request.url.query:
        path += "?" + request.url.query
    return await split.respond(method, path, local, attribute=attr)


def _object(data) -> dict:
    if not isinstance(data, dict):
        raise BadRequestData("The payload must be a JSON object")
    return data


def _not_empty(data) -> dict:
    """The payload of an append, update, merge or attribute write without its @context: a JSON object
    naming nothing to write is 400 BadRequestData, as Orion-LD answers ("Payload is an empty JSON
    object"), before anything is written."""
    data = _without_context(data)
    if not data:
        raise BadRequestData("Payload is an empty JSON object")
    return data


def _without_context(data) -> dict:
    data = _object(data)
    return {k: v for k, v in data.items() if k != "@context"}


def _render_args(output) -> dict:
    return {"form": output.form, "sys_attrs": output.sys_attrs, "attrs": output.attrs, "pick": output.pick,
            "omit": output.omit, "lang": output.lang, "dataset_id": output.dataset_ids}


def _geo_args(output) -> dict:
    args = _render_args(output)
    if output.geometry_property:
        args["geometry_property"] = output.geometry_property
    return args
