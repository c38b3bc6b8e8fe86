"""/v2/op/update and /v2/op/query (Orion manual, "Batch Operations")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from toshi.core.times import now_iso
from toshi.ngsiv2 import edits, geo, headers, mapping
from toshi.ngsiv2.errors import (
    ALREADY_EXIST,
    DO_NOT_EXIST,
    AttributesRefused,
    EntityMissing,
    V2Error,
    as_v2,
    bad_request,
    parse_error,
    refused_items,
)
from toshi.ngsiv2.forwarding import SKIP_FORWARDING
from toshi.ngsiv2.query import answer_query
from toshi.ngsiv2.request import ctx, entity_query, options_of, read_json, services
from toshi.ngsiv2.update_options import UPDATE_OPTIONS, keeps_metadata, marked
from toshi.query.regex import compile_pattern

ACTIONS = ("append", "appendStrict", "update", "delete", "replace")


async def op_update(request: Request) -> Response:
    tenant = headers.tenant_of(request)
    options = options_of(request.query_params, {"keyValues"} | UPDATE_OPTIONS)
    key_values = "keyValues" in options
    now = now_iso()
    scope = headers.write_scope(request)
    action, entities, parsed = _checked_batch(
        await read_json(request), lambda data: mapping.parse_entity(data, ctx(), now, key_values=key_values,
                                                                    scope=scope, batch=True))
    batch = [_edit(request, action, data, now, key_values, keeps_metadata(options), parsed=one)
             for data, one in zip(entities, parsed, strict=True)]
    batch = [(entity_id, marked(request, edit, options)) for entity_id, edit in batch]
    outcomes = await services(request).writer.apply(tenant, batch)
    _report(outcomes, action, [_label(data) for data in entities])
    return Response(status_code=204)


async def op_notify(request: Request) -> Response:
    """POST /v2/op/notify: a notification payload, persisted as op/update `append` would (Orion). The
    payload is checked as Orion's notification parser does (`_checked_notification`); its entities are
    always read in the normalized form: `options=keyValues` is accepted and has no effect, so a
    keyValues-shaped entity is 400 `attribute must be a JSON object, unless keyValues option is used`
    (the manual's "keyValues not supported in POST /v2/op/notify": "you would get a 400 Bad Request")."""
    tenant = headers.tenant_of(request)
    data = _checked_notification(await read_json(request))
    if data:
        now = now_iso()
        batch = [_edit(request, "append", entity, now, False) for entity in data]
        outcomes = await services(request).writer.apply(tenant, [(i, marked(request, e)) for i, e in batch])
        _report(outcomes)
    return Response(status_code=200)


def _check_payload_object(body: object, mandatory: tuple[str, ...]) -> None:
    """What Orion's parser checks first: an object (else ParseError), not empty, with its mandatory
    members."""
    if not isinstance(body, dict):
        raise parse_error()
    if not body:
        raise bad_request("empty payload")
    for field in mandatory:
        if field not in body:
            raise bad_request(f"Invalid JSON payload, mandatory field /{field}/ not found")


def _checked_notification(body: object) -> list:
    """The `data` of a notification payload checked as Orion's parser does, in the order of its
    members: 400 ParseError for a payload that is not an object; 400 BadRequest for an empty one, a
    missing `subscriptionId` or `data`, a `subscriptionId` that is not a string, a `data` that is not
    an array or holds something other than objects, an unknown member."""
    _check_payload_object(body, ("subscriptionId", "data"))
    for name, value in body.items():
        if name == "subscriptionId":
            if not isinstance(value, str):
                raise bad_request("/subscriptionId/ must be a JSON String")
        elif name == "data":
            if not isinstance(value, list):
                raise bad_request("/data/ must be a JSON Array")
            if not all(isinstance(item, dict) for item in value):
                raise bad_request("notification data vector item must be a JSON Object")
        else:
            raise bad_request(f"Unrecognized field in JSON payload: /{name}/")
    return body["data"]


def _checked_batch(body: object, parse) -> tuple[str, list, list]:
    """The op/update payload checked as Orion parses it, in the order of its members: 400 ParseError
    for a payload that is not an object; 400 BadRequest for an empty one, a missing `entities` or
    `actionType`, an unknown member, an unknown action type (Orion's text, typo included), an entity
    that is not an object or has both or neither of `id` / `idPattern`; 501 NotImplemented for an
    entity given by `idPattern` (batch updates take ids only). Each entity is `parse`d (its attributes
    too) where it stands, as Orion's parseEntityVector does, so an error in an earlier entity or member
    is the one reported; the parsed entities are returned with them."""
    _check_payload_object(body, ("entities", "actionType"))
    parsed = []
    for name, value in body.items():
        if name == "entities":
            if not isinstance(value, list):
                raise bad_request("not a JSON array")
            for entity in value:  # each entity read whole, attributes too, before the next (parseEntityVector)
                _check_batch_entity(entity)
                parsed.append(parse(entity))
        elif name == "actionType":
            if action_type(value) is None:
                raise bad_request("invalid update action type: right ones are: "
                                  "append, appendStric, delete, replace, update")
        else:
            raise bad_request(f"Unrecognized field in JSON payload: /{name}/")
    if not body["entities"]:
        raise bad_request("empty entities vector")
    return action_type(body["actionType"]), body["entities"], parsed


V1_ACTIONS = {"update": "update", "append": "append", "append_strict": "appendStrict", "delete": "delete",
              "replace": "replace"}


def action_type(value: object) -> str | None:
    """An op/update `actionType` as Orion reads it: the NGSIv2 names, else (its "last resort") the
    NGSIv1 ones in any case (`APPEND`, `Append_Strict`, ...); None when it is neither."""
    if not isinstance(value, str):
        return None
    if value in ACTIONS:
        return value
    return V1_ACTIONS.get(value.lower())


def _check_batch_entity(entity: object) -> None:
    if not isinstance(entity, dict):
        raise bad_request("entity is not a JSON object")
    if "id" in entity and "idPattern" in entity:
        raise bad_request("both /id/ and /idPattern/ present")
    if "id" not in entity and "idPattern" not in entity:
        raise bad_request("nor /id/ nor /idPattern/ present")
    if "idPattern" in entity:
        raise V2Error(501, "NotImplemented", "NotImplemented")


def _edit(request: Request, action: str, data: object, now: str, key_values: bool, keep_metadata: bool = True,
          parsed: dict | None = None):
    if parsed is None:
        parsed = mapping.parse_entity(data, ctx(), now, key_values=key_values, scope=headers.write_scope(request))
    type_name = mapping.batch_type(data)
    target = edits.Target(parsed["id"], parsed["type"][0] if type_name else None, headers.query_filter(request),
                          type_name=type_name)
    if action in ("append", "appendStrict"):
        return parsed["id"], edits.upsert_edit(parsed, now, strict=action == "appendStrict",
                                               keep_metadata=keep_metadata, label=target.label,
                                               any_type=type_name is None)
    if action == "update":
        return target.entity_id, edits.update_edit(target, parsed["attrs"], now, keep_metadata=keep_metadata)
    if action == "replace":
        return target.entity_id, edits.replace_attrs_edit(target, parsed["attrs"], now)
    if parsed["attrs"]:
        return target.entity_id, edits.delete_attrs_edit(target, list(parsed["attrs"]), now, report_missing=True)
    return target.entity_id, edits.delete_entity_edit(target)


def _report(outcomes, action: str = "append", labels: list[str] | None = None) -> None:
    """Raise the error of a batch that did not fully succeed, with the manual's texts ("Update
    operation"): every failing entity listed as `E/T - [ A, B ]` or `E/T [entity itself]`; 404
    NotFound when none of the entities exists (update, delete, replace), 422 Unprocessable when
    nothing was written, else 422 PartialUpdate."""
    what = ALREADY_EXIST if action == "appendStrict" else DO_NOT_EXIST
    items: list[tuple[str, list[str] | None]] = []
    others: list[V2Error] = []
    missing_entities = written = 0
    for n, outcome in enumerate(outcomes):
        label = labels[n] if labels else outcome.entity_id
        if isinstance(outcome.error, EntityMissing):
            missing_entities += 1
            items.append((outcome.error.label, None))
        elif isinstance(outcome.error, AttributesRefused):
            items.append((outcome.error.label, outcome.error.names))
        elif outcome.error is not None:
            others.append(as_v2(outcome.error))
        else:
            written += 1
            bad = (outcome.change.detail or {}).get("missing") or (outcome.change.detail or {}).get("existing")
            if bad:
                items.append((label, [ctx().compact_iri(n) for n in bad]))
    if others and (len(outcomes) == 1 or not items and not written):
        raise others[0]
    if not items and not others:
        return
    description = refused_items(what, items) if items else "; ".join(e.description or e.error for e in others)
    if items and missing_entities == len(outcomes):
        raise V2Error(404, "NotFound", description)
    if not written:
        raise V2Error(422, "Unprocessable", description)
    raise V2Error(422, "PartialUpdate", description)


def _label(data: dict) -> str:
    type_name = mapping.batch_type(data)
    return f"{data['id']}/{type_name}" if type_name else str(data.get("id"))


async def op_query(request: Request) -> Response:
    options = options_of(request.query_params, {"count", "keyValues", "values", "unique", SKIP_FORWARDING})
    body = _checked_query(await read_json(request))
    expression = body.get("expression") or {}
    query = entity_query(q=expression.get("q"), mq=expression.get("mq"), geo=geo.from_expression(expression))
    selectors = [_selector(item) for item in body.get("entities") or []]
    if selectors:
        query.extra.append(lambda entity: any(s.matches(entity) for s in selectors))
    return await answer_query(request, query, options, body.get("attrs") or None, body.get("metadata") or None)


QUERY_FIELDS = ("entities", "attributes", "attrs", "expression")  # at least one (Orion: "relevant fields")


def _checked_query(body: object) -> dict:
    """The op/query payload checked as Orion's batch-query parser does, member by member: not an
    object 400 ParseError; 400 BadRequest for an empty one, one without any of QUERY_FIELDS, an entity
    that is not an object, has both or neither of `id` / `idPattern`, a bad id, type or pattern, or
    attributes; a list that is not a list of strings; an unknown member. The deprecated `attributes`
    is checked and has no effect."""
    if not isinstance(body, dict):
        raise parse_error()
    if not body:
        raise bad_request("empty payload")
    if not any(field in body for field in QUERY_FIELDS):
        raise bad_request("Invalid JSON payload, no relevant fields found")
    for name, value in body.items():
        if name == "entities":
            if not isinstance(value, list):
                raise bad_request("not a JSON array")
            for entity in value:
                _check_query_entity(entity)
        elif name in ("attributes", "attrs", "metadata"):
            if not isinstance(value, list):
                raise bad_request(f"the field /{name}/ must be a JSON array")
            if not all(isinstance(item, str) for item in value):
                raise bad_request(f"only JSON Strings allowed in {name} list")
        elif name == "expression":
            _check_expression(value)
        else:
            raise bad_request(f"Unrecognized field in JSON payload: /{name}/")
    return body


def _check_query_entity(entity: object) -> None:
    """An element of op/query `entities` (Orion's entity-object parser, attributes not allowed): its
    members in order, then the lengths, as Orion's Entity::check measures its id field (the id or the
    idPattern) and its type field (the later of type / typePattern; no minimum in a batch query)."""
    if not isinstance(entity, dict):
        raise bad_request("entity is not a JSON object")
    if "id" in entity and "idPattern" in entity:
        raise bad_request("both /id/ and /idPattern/ present")
    if "id" not in entity and "idPattern" not in entity:
        raise bad_request("nor /id/ nor /idPattern/ present")
    for name, value in entity.items():
        if name in ("id", "type"):
            if not isinstance(value, str):
                raise bad_request(f"Invalid JSON type for entity {name}")
            if name == "type" and not value:
                raise bad_request("entity type length: 0, min length supported: 1")
            if mapping.bad_characters(value):
                raise bad_request(f"Invalid characters in entity {name}")
        elif name in ("idPattern", "typePattern"):
            if not isinstance(value, str):
                raise bad_request(f"Invalid JSON type for entity {name}")
            try:
                compile_pattern(value)
            except Exception:
                raise bad_request(f"Invalid regex for entity {name}") from None
        else:
            raise bad_request("no attributes allowed in Entity in this payload")
    identifier = entity["id"] if "id" in entity else entity["idPattern"]
    if not identifier:
        raise bad_request("entity id length: 0, min length supported: 1")
    if len(identifier) > mapping.MAX_NAME:
        raise bad_request(f"entity id length: {len(identifier)}, max length supported: {mapping.MAX_NAME}")
    type_field = mapping.batch_type(entity)
    if type_field and len(type_field) > mapping.MAX_NAME:
        raise bad_request(f"entity type length: {len(type_field)}, max length supported: {mapping.MAX_NAME}")


def _check_expression(expression: object) -> None:
    """`expression` as Orion's expression parser reads it (q and mq, then geometry, coords, georel;
    the geo-query itself is parsed by toshi.ngsiv2.geo)."""
    if not isinstance(expression, dict):
        raise bad_request("expression is not an object")
    if not expression:
        raise bad_request("expression is empty")
    for key in ("q", "mq", "geometry", "coords", "georel"):
        if key in expression:
            if not isinstance(expression[key], str):
                raise bad_request(f"{key} is not a string")
            if not expression[key]:
                raise bad_request(f"{key} is empty")


def _selector(item: dict):
    """One entity of op/query. With `typePattern`, the later of `type` / `typePattern` is the pattern, as
    Orion's parseEntityObject keeps one type field (each member overwrites it) flagged as a pattern."""
    ids = [item["id"]] if "id" in item else None
    if "typePattern" not in item:
        return entity_query(ids=ids, id_pattern=item.get("idPattern"), types=[item["type"]] if "type" in item else None)
    pattern = mapping.batch_type(item) or ""
    try:
        compile_pattern(pattern)
    except Exception:
        raise bad_request("Invalid regex for entity typePattern") from None
    return entity_query(ids=ids, id_pattern=item.get("idPattern"), type_pattern=pattern)


def _list(body: dict, key: str) -> list:
    value = body.get(key) or []
    if not isinstance(value, list):
        raise bad_request(f"{key} must be a JSON array")
    return value
