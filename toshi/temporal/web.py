"""The temporal API under /ngsi-ld/v1/temporal (clauses 6.18-6.22; operations 5.6.11-5.6.16, 5.7.3-5.7.4).

Reads answer from the history (`history`), selected by `selection`, shaped by `represent`, and show
what the one read path lets the reader see. Writes manage the temporal evolution only: they never
change the live entity (/ngsi-ld/v1/entities). They go through the one write path as Operations of
kind "history" (toshi/core/write.py): in its transaction, checked by its guard, seen by its listeners.

`request` reads what a read asks for; `answer` builds the bodies, and the 206 Content-Range when the
answer would hold more instances than the setting temporal_instance_limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi import csources
from toshi.core import entity as ops
from toshi.core.errors import BadRequestData, ResourceNotFound
from toshi.core.routing import SegmentRoute
from toshi.core.write import Check, Operation
from toshi.formats import ngsild_http as http
from toshi.formats.ngsild_params import deletion_target, entity_query, options_of, query_from_body
from toshi.formats.ngsild_parse import check_uri, expand_name, parse_attribute
from toshi.temporal.answer import answer
from toshi.temporal.history import HistoryRow, TemporalHistory, history_for, seq_of
from toshi.temporal.payload import parse_temporal_entity, parse_temporal_fragment
from toshi.temporal.request import (
    QUERY_OPTIONS,
    READ_OPTIONS,
    Reading,
    attrs_of,
    body_order,
    descending_of,
    reading_of,
)
from toshi.temporal.selection import Selected, last_state, seen, select

PREFIX = "/ngsi-ld/v1/temporal"
HISTORY = "history"  # the kind of change the temporal API's writes are, for the write path's listeners
QUERY_MEMBERS = ("pick", "omit", "datasetId", "format", "lang")  # of a Query, read as the URL parameters


def routes() -> list[Route]:
    table = [
        ("/entities", query_temporal, ["GET"]),
        ("/entities", create_temporal, ["POST"]),
        ("/entities/{entity_id}", retrieve_temporal, ["GET"]),
        ("/entities/{entity_id}", delete_temporal, ["DELETE"]),
        ("/entities/{entity_id}/attrs", append_temporal, ["POST"]),
        ("/entities/{entity_id}/attrs/{attr_id}", delete_temporal_attribute, ["DELETE"]),
        ("/entities/{entity_id}/attrs/{attr_id}/{instance_id}", modify_instance, ["PATCH"]),
        ("/entities/{entity_id}/attrs/{attr_id}/{instance_id}", delete_instance, ["DELETE"]),
        ("/entityOperations/query", query_temporal_post, ["POST"]),
    ]
    # an entity id or attribute name holding an encoded slash (%2F) stays one segment, as on /entities
    return [SegmentRoute(PREFIX + path, endpoint, methods=methods) for path, endpoint, methods in table]


# -- reads ---------------------------------------------------------------------------------------

async def retrieve_temporal(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    entity_id = _entity_id(request)
    media = http.negotiate(request)
    ctx = await http.context_for(request)
    params = request.query_params
    reading = reading_of(params, options_of(params, READ_OPTIONS), attrs_of(params.get("attrs"), ctx), ctx)
    history = _history(request)
    found = history.entity(tenant, entity_id)
    state = seen(last_state(found, _services(request).store, tenant)) if found is not None else None
    body, headers = None, {}
    if state is not None:
        bodies, headers = answer(history, tenant, [Selected(found, state)], reading, ctx, _instance_limit(request))
        body = bodies[0]
        if not body:  # pick / omit left no member (clause 4.21)
            raise ResourceNotFound(f"pick / omit leave nothing of the temporal representation of {entity_id}")
        if reading.attrs is not None and not history.series(tenant, entity_id, reading.attrs):
            body = None  # attrs names no attribute the entity ever had: it is not matched (5.7.3.4, as 5.7.1.4)
    federated = await csources.temporal_retrieve(request, tenant, entity_id, body,
                                                 list(state["type"]) if state else None, ctx)
    if federated is not None:  # registered context sources (toshi/csources/temporal.py)
        body, headers = federated[0], {**headers, **_warned(federated[1])}
    if body is None:
        raise ResourceNotFound(f"No temporal representation of entity {entity_id}" if state is None or
                               reading.attrs is None else f"Entity {entity_id} never had the attributes in attrs")
    used = await _entity_maps(request).entity_map_of_retrieve(request, tenant, state)  # as the entity API (5.7.1.4)
    return _with_map(used, await _respond(request, body, headers, media, ctx))


def _warned(answer) -> dict[str, str]:
    """The NGSILD-Warning header of an answer some context sources failed to contribute to (6.3.18)."""
    warnings = answer.warnings()
    return {"NGSILD-Warning": ", ".join(warnings)} if warnings else {}


async def query_temporal(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    media = http.negotiate(request)
    ctx = await http.context_for(request)
    params = request.query_params
    options = options_of(params, QUERY_OPTIONS)
    query = entity_query(params, ctx, _services(request).settings, count_option="count" in options)
    return await _query(request, tenant, query, reading_of(params, options, query.attrs, ctx), media, ctx,
                        descending_of(params.get("orderBy")), values=params)


async def query_temporal_post(request: Request) -> Response:
    """POST /temporal/entityOperations/query (clause 6.24): a Query whose temporalQ holds the temporal
    query and the aggregation; its pick, omit, datasetId and format members as the URL parameters."""
    tenant = await http.existing_tenant(request)
    media = http.negotiate(request)
    body = await http.read_body(request)
    data = body.data
    if not isinstance(data, dict) or data.get("type") != "Query":
        raise BadRequestData('The payload must be a Query object ({"type": "Query", ...})')
    temporal_q = data.get("temporalQ") or {}
    if not isinstance(temporal_q, dict):
        raise BadRequestData("temporalQ must be an object")
    ctx = await http.context_for(request, body.context, from_link=False)
    params = request.query_params
    options = options_of(params, QUERY_OPTIONS)
    query = query_from_body(data, ctx, _services(request).settings, params, count_option="count" in options)
    members = {key: data[key] for key in QUERY_MEMBERS if data.get(key) is not None}
    reading = reading_of({**dict(params), **members, **temporal_q}, options, query.attrs, ctx)
    return await _query(request, tenant, query, reading, media, ctx,
                        descending_of(params.get("orderBy", body_order(data))), values={**dict(params), **temporal_q})


async def _query(request: Request, tenant: str, query, reading: Reading, media: str, ctx,
                 descending: bool = False, *, values=None) -> Response:
    """`values`: the temporal query's parameters (an entity map made by this query is of them)."""
    # NGSILD-EntityMap: a live map narrows the query to its entities; entityMap=true (or a map unknown or
    # expired) makes one of this temporal query (toshi/ngsild/entity_maps.py, as for Query Entities)
    used = await _entity_maps(request).entity_map_of_temporal_query(request, tenant, query, values or {})
    history = _history(request)
    page, total, more = select(history, _services(request).store, tenant, query, reading.time,
                               descending=descending)
    bodies, headers = answer(history, tenant, page, reading, ctx, _instance_limit(request))
    federated = await csources.temporal_query(request, tenant, query, bodies, ctx)  # GET, or POST: the Query sent on
    if federated is not None:  # registered context sources (toshi/csources/temporal.py): their entities follow
        merged, remote, answered = federated
        bodies = merged[:max(query.limit, len(page))]
        more = more or len(merged) > len(bodies)
        total = None if total is None else total + remote
        headers.update(_warned(answered))
    if total is not None:
        headers["NGSILD-Results-Count"] = str(total)
    response = await _respond(request, bodies, headers, media, ctx)
    if request.method == "GET" and (links := http.page_links(request, query.limit, query.offset, more, media)):
        response.headers.append("Link", links)  # prev / next pages of entities (clause 6.3.10)
    return _with_map(used, response, created_status=201)


def _entity_maps(request: Request):
    """The NGSI-LD feature, which keeps the entity maps (another feature: reached as the running one)."""
    return request.app.state.ngsild


def _with_map(used, response: Response, *, created_status: int = 200) -> Response:
    """The answer with the location of the entity map the request used (NGSILD-EntityMap), if any."""
    return response if used is None else used.mark(response, created_status=created_status)


async def _respond(request: Request, body: Any, headers: dict[str, str], media: str, ctx) -> Response:
    status = 206 if "Content-Range" in headers else 200
    return await http.json_response(request, body, status=status, media=media, ctx=ctx, headers=headers)


# -- writes --------------------------------------------------------------------------------------

async def create_temporal(request: Request) -> Response:
    """Create or update the temporal representation of an entity: 201 when new, else 204."""
    tenant = http.tenant_of(request)
    body = await http.read_body(request)
    options_of(request.query_params, set())
    ctx = await http.context_for(request, body.context, from_link=False)
    now = ops.now_iso()
    parsed = parse_temporal_entity(body.data, ctx, now=now)

    async def local(payload) -> Response:
        entity = parsed if payload is body.data else parse_temporal_entity(payload, ctx, now=now)
        if await _append(request, tenant, entity["id"], entity, now):
            return Response(status_code=201, headers={"Location": f"{PREFIX}/entities/{entity['id']}"})
        return http.no_content()

    return await csources.temporal_write(request, tenant, "upsertTemporal", parsed["id"], body, ctx, local,
                                         types=lambda: parsed["type"])  # context sources (toshi/csources)


async def append_temporal(request: Request) -> Response:
    tenant = http.tenant_of(request)
    entity_id = _entity_id(request)
    body = await http.read_body(request)
    options_of(request.query_params, set())
    if isinstance(body.data, dict) and not body.data.keys() - {"@context"}:
        # an EntityTemporal Fragment with no instance to add (5.6.12.3), as the entity API's empty append
        raise BadRequestData("Payload is an empty JSON object")
    ctx = await http.context_for(request, body.context, from_link=False)
    now = ops.now_iso()
    parsed = parse_temporal_fragment(body.data, ctx, now=now)
    if parsed.get("id", entity_id) != entity_id:
        raise BadRequestData("The id in the payload differs from the id in the URL")

    async def local(payload) -> Response:
        part = parsed if payload is body.data else parse_temporal_fragment(payload, ctx, now=now)
        if _history(request).entity(tenant, entity_id) is None:
            live = _services(request).store.load_entity(tenant, entity_id)
            if live is None:
                raise ResourceNotFound(f"No temporal representation of entity {entity_id}")
            part["type"] = live["type"] + [t for t in part.get("type", []) if t not in live["type"]]
        await _append(request, tenant, entity_id, part, now)
        return http.no_content()

    return await csources.temporal_write(request, tenant, "appendAttrsTemporal", entity_id, body, ctx, local,
                                         types=lambda: _types(request, tenant, entity_id))


async def _append(request: Request, tenant: str, entity_id: str, parsed: dict, now: str) -> bool:
    store = _services(request).store
    history = _history(request)

    def append(tx, check: Check) -> dict:
        found = history.entity(tenant, entity_id)
        state = last_state(found, store, tenant) if found is not None else None
        check(state, {"id": entity_id, "type": parsed.get("type") or (state or {}).get("type", []),
                      "attrs": {**(state or {}).get("attrs", {}), **parsed["attrs"]}})
        live = store.load_entity(tenant, entity_id) is not None
        store.ensure_tenant(tenant)
        return {"created": history.append(tenant, entity_id, parsed.get("type", []), parsed["attrs"], live=live,
                                          now=now, scope=parsed.get("scope"),
                                          scope_history=parsed.get("scopeHistory"),
                                          expires_at=parsed.get("expiresAt"))}

    change = await _services(request).writer.apply_one(tenant, entity_id, Operation(HISTORY, append))
    return change.detail["created"]


async def modify_instance(request: Request) -> Response:
    """PATCH one attribute instance: its members are merged with the payload's (clause 5.6.14)."""
    tenant = await http.existing_tenant(request)
    entity_id = _entity_id(request)
    body = await http.read_body(request)
    ctx = await http.context_for(request, body.context, from_link=False)
    attr_id = request.path_params["attr_id"]
    name = expand_name(attr_id, ctx)

    def modify() -> None:
        history, seq, row = _instance(request, tenant, entity_id, name)
        data = body.data if isinstance(body.data, dict) else None
        if data is None:
            raise BadRequestData("The payload must be a JSON object")
        fragment = data.get(attr_id, {k: v for k, v in data.items() if k != "@context"})
        now = ops.now_iso()
        patches = parse_attribute(attr_id, fragment, ctx, now=now, partial=True)
        if len(patches) != 1:
            raise BadRequestData("Give exactly one attribute instance")
        patch = patches[0]
        if patch.get("datasetId", row.instance.get("datasetId")) != row.instance.get("datasetId"):
            raise BadRequestData("The datasetId of an attribute instance cannot be changed")
        history.replace_instance(seq, ops.merge_instance(row.instance, patch, now))

    return await _written(request, tenant, entity_id, "updateAttrsTemporal", body, ctx, name, modify)


async def delete_instance(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    entity_id = _entity_id(request)
    ctx = await http.context_for(request)
    name = expand_name(request.path_params["attr_id"], ctx)

    def delete() -> None:
        history, seq, _ = _instance(request, tenant, entity_id, name)
        history.delete_instance(seq)

    return await _written(request, tenant, entity_id, "deleteAttrInstanceTemporal", None, ctx, name, delete)


async def delete_temporal(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    entity_id = _entity_id(request)

    def delete() -> None:
        if not _history(request).delete_entity(tenant, entity_id):
            raise ResourceNotFound(f"No temporal representation of entity {entity_id}")

    return await _written(request, tenant, entity_id, "deleteTemporal", None, await http.context_for(request),
                          None, delete)


async def delete_temporal_attribute(request: Request) -> Response:
    """Delete an attribute's history: the default instance's, one datasetId's, or all (deleteAll)."""
    tenant = await http.existing_tenant(request)
    entity_id = _entity_id(request)
    ctx = await http.context_for(request)
    name = expand_name(request.path_params["attr_id"], ctx)
    dataset_id, delete_all = deletion_target(request.query_params)
    history = _history(request)

    def delete() -> None:
        if history.entity(tenant, entity_id) is None:
            raise ResourceNotFound(f"No temporal representation of entity {entity_id}")
        series = [s for s in history.series(tenant, entity_id, {name}) if delete_all or s.dataset_id == dataset_id]
        if not series:
            raise ResourceNotFound(f"Entity {entity_id} has no history of attribute {name}"
                                   + (f" with datasetId {dataset_id}" if dataset_id else ""))
        history.delete_series(tenant, entity_id, series)

    return await _written(request, tenant, entity_id, "deleteAttrsTemporal", None, ctx, name, delete)


def _instance(request: Request, tenant: str, entity_id: str, attr: str) -> tuple[TemporalHistory, int, HistoryRow]:
    history = _history(request)
    instance_uri = check_uri(request.path_params["instance_id"], "instanceId")
    seq = seq_of(instance_uri)
    row = history.row(seq, history.series(tenant, entity_id, {attr})) if seq is not None else None
    if row is None:
        raise ResourceNotFound(f"No instance {instance_uri} of attribute {attr} of entity {entity_id}")
    return history, seq, row


# -- helpers -------------------------------------------------------------------------------------

async def _written(request: Request, tenant: str, entity_id: str, operation: str, body, ctx, attr: str | None,
                   edit: Callable[[], None]) -> Response:
    """`edit` run here by `_change_history` (204), and the registered context sources that take part in
    the operation told (toshi/csources/temporal_writes.py: the request's attribute, or the whole entity)."""

    async def local(_payload=None) -> Response:
        await _change_history(request, tenant, entity_id, attr, edit)
        return http.no_content()

    return await csources.temporal_write(request, tenant, operation, entity_id, body, ctx, local,
                                         types=lambda: _types(request, tenant, entity_id),
                                         attribute=request.path_params.get("attr_id"))


def _types(request: Request, tenant: str, entity_id: str) -> list[str] | None:
    """The entity's types as its history knows them (None: it has no history here)."""
    found = _history(request).entity(tenant, entity_id)
    return list(last_state(found, _services(request).store, tenant)["type"]) if found is not None else None


async def _change_history(request: Request, tenant: str, entity_id: str, attr: str | None,
                          edit: Callable[[], None]) -> None:
    """Run `edit` (it changes the history, or raises an NgsiError first) in the write path.

    Changing an attribute's history needs the right to update that attribute; deleting the whole
    temporal entity (`attr` None) the right to delete it. An entity one may not read is not found."""
    store = _services(request).store
    history = _history(request)
    found = history.entity(tenant, entity_id)
    if found is not None and seen(last_state(found, store, tenant)) is None:
        raise ResourceNotFound(f"No temporal representation of entity {entity_id}")

    def change(tx, check: Check) -> dict:
        found = history.entity(tenant, entity_id)
        if found is not None:
            state = last_state(found, store, tenant)
            check(state, None if attr is None else
                  {**state, "attrs": {**state["attrs"], attr: [{"historyChanged": True}]}})
        edit()
        return {}

    await _services(request).writer.apply_one(tenant, entity_id, Operation(HISTORY, change))


def _services(request: Request):
    return request.app.state.toshi


def _instance_limit(request: Request) -> int:
    """Instances one answer holds at most (clause 6.3.10 leaves it to the broker); more: 206."""
    return _services(request).settings.temporal_instance_limit


def _history(request: Request) -> TemporalHistory:
    return history_for(_services(request).store)


def _entity_id(request: Request) -> str:
    return http.uri_param(request, "entity_id", "Entity id")
