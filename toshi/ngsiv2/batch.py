"""/v2/op/update and /v2/op/query (Orion manual, "Batch Operations")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from toshi.core.times import now_iso
from toshi.ngsiv2 import edits, geo, headers, mapping
from toshi.ngsiv2.errors import V2Error, as_v2, bad_request
from toshi.ngsiv2.forwarding import SKIP_FORWARDING
from toshi.ngsiv2.query import answer_query
from toshi.ngsiv2.request import ctx, entity_query, options_of, read_json, services
from toshi.ngsiv2.update_options import UPDATE_OPTIONS, keeps_metadata, marked

ACTIONS = ("append", "appendStrict", "update", "delete", "replace")


async def op_update(request: Request) -> Response:
    tenant = headers.tenant_of(request)
    options = options_of(request.query_params, {"keyValues"} | UPDATE_OPTIONS)
    key_values = "keyValues" in options
    body = await read_json(request)
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON type for the request payload: it must be an object")
    action, entities = body.get("actionType"), body.get("entities")
    if action not in ACTIONS:
        raise bad_request(f"invalid update action type: right ones are: {', '.join(ACTIONS)}")
    if not isinstance(entities, list) or not entities:
        raise bad_request("empty entities vector")
    now = now_iso()
    batch = [_edit(request, action, data, now, key_values, keeps_metadata(options)) for data in entities]
    batch = [(entity_id, marked(request, edit, options)) for entity_id, edit in batch]
    outcomes = await services(request).writer.apply(tenant, batch)
    _report(outcomes)
    return Response(status_code=204)


async def op_notify(request: Request) -> Response:
    """POST /v2/op/notify: a notification payload, persisted as op/update `append` would (Orion)."""
    tenant = headers.tenant_of(request)
    key_values = "keyValues" in options_of(request.query_params, {"keyValues"})
    body = await read_json(request)
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON type for the request payload: it must be an object")
    if not isinstance(body.get("subscriptionId"), str):
        raise bad_request("/subscriptionId/ must be a JSON String")
    data = body.get("data")
    if not isinstance(data, list):
        raise bad_request("/data/ must be a JSON Array")
    if data:
        now = now_iso()
        batch = [_edit(request, "append", entity, now, key_values) for entity in data]
        outcomes = await services(request).writer.apply(tenant, [(i, marked(request, e)) for i, e in batch])
        _report(outcomes)
    return Response(status_code=200)


def _edit(request: Request, action: str, data: object, now: str, key_values: bool, keep_metadata: bool = True):
    parsed = mapping.parse_entity(data, ctx(), now, key_values=key_values, scope=headers.write_scope(request))
    if action in ("append", "appendStrict"):
        return parsed["id"], edits.upsert_edit(parsed, now, strict=action == "appendStrict",
                                               keep_metadata=keep_metadata)
    type_iri = parsed["type"][0] if "type" in data else None
    target = edits.Target(parsed["id"], type_iri, headers.query_filter(request))
    if action == "update":
        return target.entity_id, edits.update_edit(target, parsed["attrs"], now, keep_metadata=keep_metadata)
    if action == "replace":
        return target.entity_id, edits.replace_attrs_edit(target, parsed["attrs"], now)
    if parsed["attrs"]:
        return target.entity_id, edits.delete_attrs_edit(target, list(parsed["attrs"]), now)
    return target.entity_id, edits.delete_entity_edit(target)


def _report(outcomes) -> None:
    """Raise the error of a failed batch: a single entity's own error, else 422 PartialUpdate."""
    problems: list[str] = []
    errors: list[V2Error] = []
    for outcome in outcomes:
        if outcome.error is not None:
            errors.append(as_v2(outcome.error))
            problems.append(f"{outcome.entity_id}: {errors[-1].description or errors[-1].error}")
            continue
        detail = outcome.change.detail or {}
        bad = detail.get("missing") or detail.get("existing")
        if bad:
            verb = "do not exist" if detail.get("missing") else "already exist"
            names = ", ".join(ctx().compact_iri(n) for n in bad)
            problems.append(f"{outcome.entity_id}: attributes {verb} [ {names} ]")
    if not problems:
        return
    if len(errors) == len(outcomes):
        raise errors[0]
    if len(outcomes) == 1:
        raise V2Error(422, "Unprocessable", problems[0])
    raise V2Error(422, "PartialUpdate", "; ".join(problems))


async def op_query(request: Request) -> Response:
    options = options_of(request.query_params, {"count", "keyValues", "values", "unique", SKIP_FORWARDING})
    body = await read_json(request)
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON type for the request payload: it must be an object")
    expression = body.get("expression") or {}
    if not isinstance(expression, dict):
        raise bad_request("expression must be a JSON object")
    query = entity_query(q=expression.get("q"), mq=expression.get("mq"), geo=geo.from_expression(expression))
    selectors = [_selector(item) for item in _list(body, "entities")]
    if selectors:
        query.extra.append(lambda entity: any(s.matches(entity) for s in selectors))
    return await answer_query(request, query, options, _list(body, "attrs") or None,
                              _list(body, "metadata") or None)


def _selector(item: object):
    if not isinstance(item, dict) or not ("id" in item or "idPattern" in item):
        raise bad_request("entities: each element needs an id or an idPattern")
    return entity_query(ids=[item["id"]] if "id" in item else None, id_pattern=item.get("idPattern"),
                        types=[item["type"]] if "type" in item else None,
                        type_pattern=item.get("typePattern"))


def _list(body: dict, key: str) -> list:
    value = body.get(key) or []
    if not isinstance(value, list):
        raise bad_request(f"{key} must be a JSON array")
    return value
