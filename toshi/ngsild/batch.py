"""NGSI-LD batch operations: /entityOperations/{create,upsert,update,delete,merge,query} (clause 6.14–6.18;
Batch Entity Merge).

A batch commits in one transaction; entities that fail (bad payload, conflicts) are reported in a
207 and the valid ones are applied. What exclusive / redirect context sources own goes to them
(toshi/csources/batch.py) and their outcomes join the local ones.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from toshi import csources
from toshi.core import entity as ops
from toshi.core.errors import BadRequestData, NgsiError
from toshi.formats import ngsild_http as http
from toshi.formats.ngsild_params import (
    body_ordering,
    body_projection,
    check_geometry_property,
    options_of,
    output_of,
    query_from_body,
)
from toshi.formats.ngsild_parse import is_uri, parse_entity, parse_fragment
from toshi.ngsild.entities import QUERY_OPTIONS, answer_query

MAX_BATCH = 10_000


async def _entities(request: Request) -> tuple[list, http.Body]:
    body = await http.read_body(request)
    if not isinstance(body.data, list):
        raise BadRequestData("A batch payload must be a JSON array")
    if not body.data:
        raise BadRequestData("A batch payload must not be empty")
    if len(body.data) > MAX_BATCH:
        raise BadRequestData(f"A batch may hold at most {MAX_BATCH} entities")
    return body.data, body


async def _parse_each(request: Request, items: list, body: http.Body, parse) -> tuple[list, list]:
    """Parse every item with its own @context; returns (parsed items, per-entity errors)."""
    parsed, errors = [], []
    for item in items:
        try:
            if not isinstance(item, dict):
                raise BadRequestData("Each batch item must be a JSON object")
            context = item.get("@context") if body.media == http.LD_JSON else body.context
            ctx = await http.context_for(request, context, from_link=False)
            parsed.append(parse(item, ctx))
        except NgsiError as exc:
            entity_id = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else None
            errors.append(_error(entity_id, exc))
    return parsed, errors


def _error(entity_id: str | None, exc: NgsiError) -> dict:
    return {"entityId": entity_id, "error": exc.problem()}


async def _run(request: Request, tenant: str, edits: list, errors: list) -> tuple[list[str], list, list]:
    outcomes = await request.app.state.toshi.writer.apply(tenant, edits) if edits else []
    done, created = [], []
    for outcome in outcomes:
        if outcome.error is not None:
            errors.append(_error(outcome.entity_id, outcome.error))
        else:
            done.append(outcome.entity_id)
            if outcome.change.before is None or ops.gone(outcome.change.before):  # an expired one is gone
                created.append(outcome.entity_id)
    return done, created, errors


async def _sources(request: Request, tenant: str, operation: str, items: list, body: http.Body):
    """The context sources' part of the batch (None: all local) and the items to do here."""
    split = await csources.split_batch(request, tenant, operation, items, body)
    return split, (split.local if split else items)


async def _joined(split, done: list[str], created: list[str], errors: list) -> tuple[list[str], list[str], list]:
    """The outcomes here and at the context sources, in one."""
    return await split.combine(done, created, errors) if split else (done, created, errors)


def _multi_status(done: list[str], errors: list) -> Response:
    return Response(orjson.dumps({"success": done, "errors": errors}), status_code=207, media_type=http.JSON)


def _id_list(ids: list[str], status: int) -> Response:
    return Response(orjson.dumps(ids), status_code=status, media_type=http.JSON)


async def batch_create(request: Request) -> Response:
    tenant = http.tenant_of(request)
    items, body = await _entities(request)
    options_of(request.query_params, set())
    split, items = await _sources(request, tenant, "createBatch", items, body)
    now = ops.now_iso()
    parsed, errors = await _parse_each(request, items, body, lambda item, ctx: parse_entity(item, ctx, now=now))
    edits = [(p["id"], lambda b, p=p: ops.create(b, p, now)) for p in parsed]
    done, _, errors = await _joined(split, *await _run(request, tenant, edits, errors))
    return _multi_status(done, errors) if errors else _id_list(done, 201)


async def batch_upsert(request: Request) -> Response:
    tenant = http.tenant_of(request)
    items, body = await _entities(request)
    options = options_of(request.query_params, {"update", "replace"})
    if len(options) > 1:
        raise BadRequestData("options=update and options=replace cannot be combined")
    mode = "update" if "update" in options else "replace"
    split, items = await _sources(request, tenant, "upsertBatch", items, body)
    now = ops.now_iso()
    parsed, errors = await _parse_each(request, items, body, lambda item, ctx: parse_entity(item, ctx, now=now))
    edits = [(p["id"], lambda b, p=p: ops.upsert(b, p, now, mode=mode)) for p in parsed]
    done, created, errors = await _joined(split, *await _run(request, tenant, edits, errors))
    if errors:
        return _multi_status(done, errors)
    return _id_list(created, 201) if created else http.no_content()


async def batch_update(request: Request) -> Response:
    tenant = http.tenant_of(request)
    items, body = await _entities(request)
    overwrite = "noOverwrite" not in options_of(request.query_params, {"noOverwrite"})
    split, items = await _sources(request, tenant, "updateBatch", items, body)
    now = ops.now_iso()

    def parse(item, ctx):
        if not isinstance(item.get("id"), str) or not is_uri(item["id"]):
            raise BadRequestData("Each entity of a batch update needs a URI id")
        return parse_fragment(item, ctx, now=now)

    parsed, errors = await _parse_each(request, items, body, parse)

    def edit(before, fragment):
        after, _, not_updated = ops.append(before, fragment, now, overwrite=overwrite, entity_id=fragment["id"])
        return after, {"notUpdated": not_updated}

    edits = [(p["id"], lambda b, p=p: edit(b, p)) for p in parsed]
    done, _, errors = await _joined(split, *await _run(request, tenant, edits, errors))
    return _multi_status(done, errors) if errors else http.no_content()


async def batch_merge(request: Request) -> Response:
    """Batch Entity Merge: each entity merge-patched as PATCH /entities/{id} does it (null deletes), an
    entity that does not exist an error of its own; 204 when every one is merged, else 207."""
    tenant = http.tenant_of(request)
    items, body = await _entities(request)
    options_of(request.query_params, {"keyValues", "concise", "normalized"})
    split, items = await _sources(request, tenant, "mergeBatch", items, body)
    now = ops.now_iso()

    def parse(item, ctx):
        if not isinstance(item.get("id"), str) or not is_uri(item["id"]):
            raise BadRequestData("Each entity of a batch merge needs a URI id")
        return parse_fragment(item, ctx, now=now, allow_null=True)

    parsed, errors = await _parse_each(request, items, body, parse)
    edits = [(p["id"], lambda b, p=p: ops.merge(b, p, now, p["id"])) for p in parsed]
    done, _, errors = await _joined(split, *await _run(request, tenant, edits, errors))
    return _multi_status(done, errors) if errors else http.no_content()


async def batch_delete(request: Request) -> Response:
    tenant = http.tenant_of(request)
    items, body = await _entities(request)
    split, items = await _sources(request, tenant, "deleteBatch", items, body)
    errors, edits = [], []
    for item in items:
        if not isinstance(item, str) or not is_uri(item):
            errors.append(_error(item if isinstance(item, str) else None,
                                 BadRequestData(f"Not an entity id (URI): {item!r}")))
        else:
            edits.append((item, lambda b, i=item: ops.delete(b, i)))
    done, _, errors = await _joined(split, *await _run(request, tenant, edits, errors))
    return _multi_status(done, errors) if errors else http.no_content()


async def batch_query(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    media = http.negotiate(request, (http.JSON, http.LD_JSON, http.GEO_JSON))
    body = await http.read_body(request)
    if not isinstance(body.data, dict) or body.data.get("type") != "Query":
        raise BadRequestData('The payload must be a Query object ({"type": "Query", ...})')
    if body.data.get("temporalQ") is not None:
        raise BadRequestData("temporalQ belongs to a temporal query (POST /temporal/entityOperations/query)")
    ctx = await http.context_for(request, body.context, from_link=False)
    params = request.query_params
    options = options_of(params, QUERY_OPTIONS)
    output = output_of(params, ctx, options)
    query = query_from_body(body.data, ctx, request.app.state.toshi.settings, params,
                            count_option="count" in options, linked=True)
    body_projection(body.data, output, ctx)
    check_geometry_property(output, media)
    if output.attrs is None and query.attrs is not None:
        output.attrs = query.attrs
    return await answer_query(request, tenant, query, output, media, ctx, body_ordering(body.data, params, ctx))
