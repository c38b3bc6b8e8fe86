"""The temporal API under /ngsi-ld/v1/temporal (clauses 6.18-6.22; operations 5.6.11-5.6.16, 5.7.3-5.7.4).

Reads answer from the history (`history`), selected by `selection`, shaped by `represent`, and show
what the one read path lets the reader see. Writes manage the temporal evolution only: they never
change the live entity (/ngsi-ld/v1/entities). They go through the one write path as Operations of
kind "history" (toshi/core/write.py): in its transaction, checked by its guard, seen by its listeners.

An attribute (datasetId) returns at most INSTANCE_LIMIT instances per request; when a history has
more, the response is 206 with the instances up to a common time and `Content-Range: date-time
<start>-<end>/<lastN or *>` telling which time range it covers, so the client asks for the rest with
timerel=after (or, with lastN, timerel=before).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi.core import entity as ops
from toshi.core.access import visible
from toshi.core.errors import BadRequestData, ResourceNotFound
from toshi.core.times import to_iso
from toshi.core.write import Check, Operation
from toshi.formats import ngsild_http as http
from toshi.formats.ngsild_params import deletion_target, entity_query, options_of, output_of, query_from_body
from toshi.formats.ngsild_parse import parse_attribute
from toshi.temporal import represent
from toshi.temporal.aggregate import Aggregation, parse_aggregation
from toshi.temporal.history import HistoryRow, Series, TemporalHistory, history_for, seq_of
from toshi.temporal.payload import parse_temporal_entity, parse_temporal_fragment
from toshi.temporal.selection import Selected, last_state, readable_series, select
from toshi.temporal.timequery import TimeQuery, parse_time_query

PREFIX = "/ngsi-ld/v1/temporal"
INSTANCE_LIMIT = 10_000
HISTORY = "history"  # the kind of change the temporal API's writes are, for the write path's listeners
READ_OPTIONS = {"normalized", "temporalValues", "aggregatedValues", "sysAttrs"}


@dataclass
class Reading:
    """What a temporal read returns: which instances, in which representation."""

    time: TimeQuery
    mode: str                           # normalized | temporalValues | aggregatedValues
    aggregation: Aggregation | None
    sys_attrs: bool
    attrs: set[str] | None              # expanded names, None for all


@dataclass
class SeriesResult:
    series: Series
    rows: list[HistoryRow]
    more: bool                          # the history had more instances than returned


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
    return [Route(PREFIX + path, endpoint, methods=methods) for path, endpoint, methods in table]


# -- reads ---------------------------------------------------------------------------------------

async def retrieve_temporal(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    entity_id = _entity_id(request)
    media = http.negotiate(request)
    ctx = await http.context_for(request)
    params = request.query_params
    options = options_of(params, READ_OPTIONS)
    reading = _reading(params, options, output_of(params, ctx, set()).attrs)
    history = _history(request)
    found = history.entity(tenant, entity_id)
    state = visible(last_state(found, _services(request).store, tenant)) if found is not None else None
    if state is None:
        raise ResourceNotFound(f"No temporal representation of entity {entity_id}")
    selected = Selected(found, state)
    bodies, headers = _answer(history, tenant, [selected], reading, ctx)
    return await _respond(request, bodies[0], headers, media, ctx)


async def query_temporal(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    media = http.negotiate(request)
    ctx = await http.context_for(request)
    params = request.query_params
    options = options_of(params, READ_OPTIONS)
    query = entity_query(params, ctx, _services(request).settings)
    return await _query(request, tenant, query, _reading(params, options, query.attrs), media, ctx)


async def query_temporal_post(request: Request) -> Response:
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
    options = options_of(params, READ_OPTIONS)
    query = query_from_body(data, ctx, _services(request).settings, params)
    reading = _reading({**dict(params), **temporal_q}, options, query.attrs)
    return await _query(request, tenant, query, reading, media, ctx)


async def _query(request: Request, tenant: str, query, reading: Reading, media: str, ctx) -> Response:
    history = _history(request)
    page, total = select(history, _services(request).store, tenant, query)
    bodies, headers = _answer(history, tenant, page, reading, ctx)
    if total is not None:
        headers["NGSILD-Results-Count"] = str(total)
    return await _respond(request, bodies, headers, media, ctx)


def _reading(values: Mapping[str, Any], options: set[str], attrs: set[str] | None) -> Reading:
    modes = options & {"temporalValues", "aggregatedValues"}
    if len(modes) > 1:
        raise BadRequestData("options temporalValues and aggregatedValues cannot be used together")
    mode = modes.pop() if modes else "normalized"
    aggregation = None
    if mode == "aggregatedValues":
        aggregation = parse_aggregation(values.get("aggrMethods"), values.get("aggrPeriodDuration"))
    return Reading(parse_time_query(values), mode, aggregation, "sysAttrs" in options, attrs)


def _answer(history: TemporalHistory, tenant: str, page: list[Selected], reading: Reading,
            ctx) -> tuple[list[dict], dict[str, str]]:
    """The bodies of the selected entities, and the response headers (Content-Range when cut short)."""
    if reading.aggregation is not None:
        return [_aggregated(history, tenant, s, reading, ctx) for s in page], {}
    found = [(s, [SeriesResult(series, *history.instances(series.id, reading.time, INSTANCE_LIMIT))
                  for series in readable_series(history.series(tenant, s.entity.id, reading.attrs), s.state)])
             for s in page]
    headers = _cut_to_common_range([r for _, results in found for r in results], reading.time)
    return [_instances_body(s, results, reading, ctx) for s, results in found], headers


def _instances_body(selected: Selected, results: list[SeriesResult], reading: Reading, ctx) -> dict:
    out = represent.header(selected.entity, selected.state, ctx, sys_attrs=reading.sys_attrs)
    prop = reading.time.timeproperty
    groups: dict[str, list[dict]] = {}
    for result in results:
        if not result.rows:
            continue
        group = groups.setdefault(ctx.compact_iri(result.series.attr), [])
        if reading.mode == "normalized":
            group.extend(represent.normalized(result.series.attr, result.rows, ctx, timeproperty=prop,
                                              sys_attrs=reading.sys_attrs))
        else:
            group.append(represent.temporal_values(result.series, result.rows, ctx, timeproperty=prop))
    if reading.mode == "normalized":
        out.update(groups)
    else:
        out.update({name: represent.one_or_many(items) for name, items in groups.items()})
    return out


def _aggregated(history: TemporalHistory, tenant: str, selected: Selected, reading: Reading, ctx) -> dict:
    out = represent.header(selected.entity, selected.state, ctx, sys_attrs=reading.sys_attrs)
    series = readable_series(history.series(tenant, selected.entity.id, reading.attrs), selected.state)
    found = history.time_range([s.id for s in series], reading.time)
    if found is None:
        return out
    low, high = reading.time.bounds()
    start, end = (found[0] if low is None else low), (found[1] if high is None else high)
    groups: dict[str, list[dict]] = {}
    for one in series:
        buckets = history.aggregate(one.id, reading.time, reading.aggregation, start, end)
        if buckets:
            groups.setdefault(ctx.compact_iri(one.attr), []).append(
                represent.aggregated(one, buckets, reading.aggregation.methods))
    out.update({name: represent.one_or_many(items) for name, items in groups.items()})
    return out


def _cut_to_common_range(results: list[SeriesResult], time: TimeQuery) -> dict[str, str]:
    """When some histories were cut at INSTANCE_LIMIT, cut all at the same time (the earliest last
    instance returned, or with lastN the latest first one) and say so in Content-Range."""
    cut_short = [r for r in results if r.more and r.rows]
    if not cut_short:
        return {}
    if time.last_n:
        cut = max(r.rows[0].time for r in cut_short)
        for r in results:
            r.rows = [row for row in r.rows if row.time >= cut]
        low, high = time.bounds()
        newest = high if high is not None else max(r.rows[-1].time for r in results if r.rows)
        return {"Content-Range": f"date-time {to_iso(newest)}-{to_iso(cut)}/{time.last_n}"}
    cut = min(r.rows[-1].time for r in cut_short)
    for r in results:
        r.rows = [row for row in r.rows if row.time <= cut]
    low, _ = time.bounds()
    oldest = low if low is not None else min(r.rows[0].time for r in results if r.rows)
    return {"Content-Range": f"date-time {to_iso(oldest)}-{to_iso(cut)}/*"}


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
    created = await _append(request, tenant, parsed["id"], parsed, now)
    if created:
        return Response(status_code=201, headers={"Location": f"{PREFIX}/entities/{parsed['id']}"})
    return http.no_content()


async def append_temporal(request: Request) -> Response:
    tenant = http.tenant_of(request)
    entity_id = _entity_id(request)
    body = await http.read_body(request)
    options_of(request.query_params, set())
    ctx = await http.context_for(request, body.context, from_link=False)
    now = ops.now_iso()
    parsed = parse_temporal_fragment(body.data, ctx, now=now)
    if parsed.get("id", entity_id) != entity_id:
        raise BadRequestData("The id in the payload differs from the id in the URL")
    if _history(request).entity(tenant, entity_id) is None:
        live = _services(request).store.load_entity(tenant, entity_id)
        if live is None:
            raise ResourceNotFound(f"No temporal representation of entity {entity_id}")
        parsed["type"] = live["type"] + [t for t in parsed.get("type", []) if t not in live["type"]]
    await _append(request, tenant, entity_id, parsed, now)
    return http.no_content()


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
                                          now=now, scope=parsed.get("scope"))}

    change = await _services(request).writer.apply_one(tenant, entity_id, Operation(HISTORY, append))
    return change.detail["created"]


async def modify_instance(request: Request) -> Response:
    """PATCH one attribute instance: its members are merged with the payload's (clause 5.6.14)."""
    tenant = await http.existing_tenant(request)
    entity_id = _entity_id(request)
    body = await http.read_body(request)
    ctx = await http.context_for(request, body.context, from_link=False)
    attr_id = request.path_params["attr_id"]
    name = ctx.expand_term(attr_id)

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

    await _change_history(request, tenant, entity_id, name, modify)
    return http.no_content()


async def delete_instance(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    entity_id = _entity_id(request)
    ctx = await http.context_for(request)
    name = ctx.expand_term(request.path_params["attr_id"])

    def delete() -> None:
        history, seq, _ = _instance(request, tenant, entity_id, name)
        history.delete_instance(seq)

    await _change_history(request, tenant, entity_id, name, delete)
    return http.no_content()


async def delete_temporal(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    entity_id = _entity_id(request)

    def delete() -> None:
        if not _history(request).delete_entity(tenant, entity_id):
            raise ResourceNotFound(f"No temporal representation of entity {entity_id}")

    await _change_history(request, tenant, entity_id, None, delete)
    return http.no_content()


async def delete_temporal_attribute(request: Request) -> Response:
    """Delete an attribute's history: the default instance's, one datasetId's, or all (deleteAll)."""
    tenant = await http.existing_tenant(request)
    entity_id = _entity_id(request)
    ctx = await http.context_for(request)
    name = ctx.expand_term(request.path_params["attr_id"])
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

    await _change_history(request, tenant, entity_id, name, delete)
    return http.no_content()


def _instance(request: Request, tenant: str, entity_id: str, attr: str) -> tuple[TemporalHistory, int, HistoryRow]:
    history = _history(request)
    instance_uri = request.path_params["instance_id"]
    seq = seq_of(instance_uri)
    row = history.row(seq, history.series(tenant, entity_id, {attr})) if seq is not None else None
    if row is None:
        raise ResourceNotFound(f"No instance {instance_uri} of attribute {attr} of entity {entity_id}")
    return history, seq, row


# -- helpers -------------------------------------------------------------------------------------

async def _change_history(request: Request, tenant: str, entity_id: str, attr: str | None,
                          edit: Callable[[], None]) -> None:
    """Run `edit` (it changes the history, or raises an NgsiError first) in the write path.

    Changing an attribute's history needs the right to update that attribute; deleting the whole
    temporal entity (`attr` None) the right to delete it. An entity one may not read is not found."""
    store = _services(request).store
    history = _history(request)
    found = history.entity(tenant, entity_id)
    if found is not None and visible(last_state(found, store, tenant)) is None:
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


def _history(request: Request) -> TemporalHistory:
    return history_for(_services(request).store)


def _entity_id(request: Request) -> str:
    return http.uri_param(request, "entity_id", "Entity id")
