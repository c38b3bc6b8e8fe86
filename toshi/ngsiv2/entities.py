"""/v2/entities endpoints (Orion manual, "Entities Operations")."""

from __future__ import annotations

import math
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from toshi.core.times import now_iso
from toshi.ngsiv2 import edits, expiry, forwarding, geo, headers, mapping
from toshi.ngsiv2.errors import (
    ALREADY_EXIST,
    ATTRIBUTE_NOT_FOUND,
    DO_NOT_EXIST,
    V2Error,
    bad_request,
    not_found,
    parse_error,
)
from toshi.ngsiv2.query import answer_query
from toshi.ngsiv2.request import (
    JSON,
    TEXT,
    accept,
    check_selector,
    ctx,
    entity_query,
    form_of,
    json_response,
    names_param,
    options_of,
    read_json,
    read_raw,
    services,
    split_list,
)
from toshi.ngsiv2.update_options import UPDATE_OPTIONS, keeps_metadata, marked
from toshi.ngsiv2.uri_check import path_name

READ_FORMS = {"keyValues", "values", "unique"}
SKIP_FORWARDING = forwarding.SKIP_FORWARDING
DATE_OPTIONS = ("dateCreated", "dateModified")  # deprecated options Orion still honours


def attrs_of(params) -> list[str] | None:
    """The `attrs` of a read, with the deprecated `options=dateCreated` / `dateModified` that Orion
    still honours (its setAttrsFilter; functional test get_entity_dates_with_options): each adds that
    builtin attribute to the list, after `*` when no `attrs` were given."""
    attrs = names_param(params, "attrs")
    given = {o.strip() for raw in params.getlist("options") for o in raw.split(",")}
    for name in DATE_OPTIONS:
        if name in given:
            attrs = attrs or ["*"]
            if name not in attrs:
                attrs.append(name)
    return attrs


# -- the entity list ------------------------------------------------------------------------------

async def list_entities(request: Request) -> Response:
    accept(request)
    params = request.query_params
    ids, types = split_list(params.get("id")), split_list(params.get("type"))
    check_selector(ids, params.get("idPattern"), types, params.get("typePattern"))
    query = entity_query(ids=ids, id_pattern=params.get("idPattern"), types=types,
                         type_pattern=params.get("typePattern"), q=params.get("q"), mq=params.get("mq"),
                         geo=geo.from_url(params.get("georel"), params.get("geometry"), params.get("coords")))
    options = options_of(params, READ_FORMS | {"count", SKIP_FORWARDING})
    return await answer_query(request, query, options, attrs_of(params), names_param(params, "metadata"))


async def create_entity(request: Request) -> Response:
    tenant = headers.tenant_of(request)
    options = options_of(request.query_params, {"upsert", "keyValues"})
    data = await read_json(request)
    if not isinstance(data, dict):  # Orion's entity parser
        raise parse_error()
    now = now_iso()
    parsed = mapping.parse_entity(data, ctx(), now, key_values="keyValues" in options,
                                  scope=headers.write_scope(request))
    edit = edits.upsert_edit(parsed, now) if "upsert" in options else edits.create_edit(parsed, now)
    await services(request).writer.apply_one(tenant, parsed["id"], marked(request, edit))
    location = f"/v2/entities/{parsed['id']}?type={mapping.entity_type(parsed, ctx())}"
    # the manual: "201 Created (if upsert option is not used) or 204 No Content (if upsert option is
    # used)", whether the entity existed or not (the FIWARE IoT agents accept nothing else)
    return Response(status_code=204 if "upsert" in options else 201, headers={"Location": location})


# -- one entity -----------------------------------------------------------------------------------

def target_of(request: Request) -> edits.Target:
    entity_id = path_name(request.path_params["entity_id"])
    type_name = request.query_params.get("type")
    type_iri = ctx().expand_term(mapping.check_name(type_name, "entity type")) if type_name else None
    return edits.Target(entity_id, type_iri, headers.query_filter(request), type_name=type_name)


async def _entity_with_provided(request: Request, requested: list[str] | None = None) -> dict:
    """The entity, with the attributes context providers add (registrations; `requested`: the
    attributes asked for, else the request's `attrs`); 404 if neither has it."""
    target = target_of(request)
    local = await services(request).store.get_entity(headers.tenant_of(request), target.entity_id)
    try:
        local = target.check(None if expiry.is_expired(local) else local)
    except V2Error:
        local = None
    if requested is None:
        requested = names_param(request.query_params, "attrs")
    entity = await forwarding.with_provided(request, local, target.entity_id, requested)
    if entity is None:
        raise not_found()
    return entity


async def retrieve_entity(request: Request) -> Response:
    return await _entity_response(request, with_id=True)


async def retrieve_attrs(request: Request) -> Response:
    return await _entity_response(request, with_id=False)


async def _entity_response(request: Request, *, with_id: bool) -> Response:
    accept(request)
    params = request.query_params
    form = form_of(options_of(params, READ_FORMS | {SKIP_FORWARDING}))
    entity = await _entity_with_provided(request)
    attrs, metadata = attrs_of(params), names_param(params, "metadata")

    def render():
        body = mapping.render_entity(entity, ctx(), form="values" if form == "unique" else form,
                                     attrs=attrs, metadata=metadata, with_id=with_id)
        return _unique(body) if form == "unique" else body

    variant = ("v2", form, with_id, None if attrs is None else tuple(attrs),
               None if metadata is None else tuple(metadata))
    content = services(request).render_cache.bytes_of(entity, ctx(), variant, render)
    return Response(content, media_type=JSON)


def _unique(values: list) -> list:
    seen: list = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


async def delete_entity(request: Request) -> Response:
    target = target_of(request)
    await _write(request, target, edits.delete_entity_edit(target))
    return no_content()


async def append_attrs(request: Request) -> Response:
    target = target_of(request)
    options = options_of(request.query_params, {"append", "keyValues"} | UPDATE_OPTIONS)
    attrs = await _attrs_body(request, options, target, "append")
    if attrs is None:
        return no_content()
    edit = edits.append_edit(target, attrs, now_iso(), strict="append" in options,
                             keep_metadata=keeps_metadata(options))
    change = await _write(request, target, edit, options)
    if change.detail["existing"]:  # some were added: a partial update (none: the edit refused it all)
        raise V2Error(422, "PartialUpdate", f"{ALREADY_EXIST}: {target.label} - [ {_names(change.detail['existing'])} ]")
    return no_content()


async def update_attrs(request: Request) -> Response:
    target = target_of(request)
    options = options_of(request.query_params, {"keyValues"} | UPDATE_OPTIONS)
    attrs = await _attrs_body(request, options, target, "update")
    if attrs is None:
        return no_content()
    edit = edits.update_edit(target, attrs, now_iso(), keep_metadata=keeps_metadata(options))
    change = await _write(request, target, edit, options)
    if change.detail["missing"]:  # some were updated: a partial update (none: the edit refused it all)
        raise V2Error(422, "PartialUpdate", f"{DO_NOT_EXIST}: {target.label} - [ {_names(change.detail['missing'])} ]")
    return no_content()


async def replace_attrs(request: Request) -> Response:
    target = target_of(request)
    options = options_of(request.query_params, {"keyValues"} | UPDATE_OPTIONS)  # overrideMetadata: no effect
    attrs = await _attrs_body(request, options)
    await _write(request, target, edits.replace_attrs_edit(target, attrs, now_iso()), options)
    return no_content()


async def _attrs_body(request: Request, options: set[str], target: edits.Target | None = None,
                      forward: str | None = None) -> dict | None:
    """The parsed attributes of the body; with `forward` (an op/update actionType), those that
    registrations own go to their providers first, and None means nothing is left to write locally.
    The payload is checked first as Orion's entity parser does for an entity in the URL: not an object
    400 ParseError, `{}` 400 BadRequest "empty payload" (nothing is written or forwarded)."""
    data = await read_json(request)
    if not isinstance(data, dict):
        raise parse_error()
    if not data:
        raise bad_request("empty payload")
    key_values = "keyValues" in options
    if forward is not None and target is not None:
        local = await services(request).store.get_entity(headers.tenant_of(request), target.entity_id)
        data, forwarded = await forwarding.forward_update(request, local, target.entity_id, data, forward,
                                                          key_values)
        if isinstance(data, dict) and not data:  # everything was for providers
            if forwarded == forwarding.FAILED:
                raise V2Error(500, "InternalServerError", "error forwarding update")
            if forwarded != forwarding.FORWARDED:
                raise not_found()
            return None
    return mapping.parse_attrs(data, ctx(), now_iso(), key_values=key_values)


def _names(iris: list[str]) -> str:
    return ", ".join(ctx().compact_iri(iri) for iri in iris)


# -- one attribute --------------------------------------------------------------------------------

def _attr_iri(request: Request) -> str:
    return ctx().expand_term(path_name(request.path_params["attr_name"]))


async def _found_attribute(request: Request) -> dict:
    """The attribute of the URL, local or from the context providers that register it (as Orion
    forwards GET .../attrs/{attr} and .../value; `options=skipForwarding`: local only)."""
    name = path_name(request.path_params["attr_name"])
    entity = await _entity_with_provided(request, [name])
    instances = entity["attrs"].get(ctx().expand_term(name))
    if not instances:
        raise not_found(ATTRIBUTE_NOT_FOUND)
    return mapping.main_instance(instances)


async def retrieve_attribute(request: Request) -> Response:
    accept(request)
    inst = await _found_attribute(request)
    return json_response(mapping.render_attribute(inst, ctx(), names_param(request.query_params, "metadata")))


async def replace_attribute(request: Request) -> Response:
    target = target_of(request)
    now = now_iso()
    options = options_of(request.query_params, UPDATE_OPTIONS)
    data = await read_json(request)
    if not isinstance(data, dict):  # Orion's attribute parser: the body must be an object
        raise parse_error()
    inst = mapping.parse_attribute(data, ctx(), now, orion_dates=True)
    edit = edits.replace_attribute_edit(target, _attr_iri(request), inst, now, keep_metadata=keeps_metadata(options))
    await _write(request, target, edit, options)
    return no_content()


async def delete_attribute(request: Request) -> Response:
    target = target_of(request)
    await _write(request, target, edits.delete_attrs_edit(target, [_attr_iri(request)], now_iso()))
    return no_content()


async def retrieve_value(request: Request) -> Response:
    """As Orion: an Accept allowing neither JSON nor text is refused before anything is looked up
    ("acceptable MIME types: application/json, text/plain"); a value that is not an object or array
    needs text ("accepted MIME types: text/plain", the manual's "Get Attribute Value")."""
    media = accept(request, (JSON, TEXT))
    value = mapping.v2_value(await _found_attribute(request), ctx())
    if not isinstance(value, (dict, list)):
        media = accept(request, (TEXT,), "accepted MIME types: text/plain")
    # Content-Type exactly as Orion sends it: `text/plain` has no charset suffix
    return Response(orjson.dumps(value), headers={"Content-Type": media})


async def replace_value(request: Request) -> Response:
    target = target_of(request)
    raw = await read_raw(request, (JSON, TEXT))
    is_text = request.headers.get("content-type", "").lower().startswith(TEXT)
    value = _text_value(raw) if is_text else _json_value(raw)
    options = options_of(request.query_params, UPDATE_OPTIONS)  # overrideMetadata: no effect (the value only)
    await _write(request, target, edits.set_value_edit(target, _attr_iri(request), value, ctx(), now_iso()),
                 options)
    return no_content()


def _json_value(raw: bytes) -> Any:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise parse_error() from None
    if not isinstance(value, (dict, list)):  # Orion's parseAttributeValue: JSON is for compound values
        raise bad_request("Neither JSON Object nor JSON Array for attribute::value")
    mapping.check_nesting(value)
    return mapping.whole_numbers(value)


def _text_value(raw: bytes) -> Any:
    """Orion's text/plain rules (textParseAttributeValue): "quoted" string (a leading quote needs its
    closing one), true / false and null (also True / TRUE, ...), else a number."""
    text = raw.decode("utf-8", "replace").strip()
    if text.startswith('"'):
        if not text.endswith('"'):
            raise bad_request("Missing citation-mark at end of string")
        return text[1:-1]
    if text in ("true", "True", "TRUE", "false", "False", "FALSE"):
        return text.lower() == "true"
    if text in ("null", "Null", "NULL"):
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise bad_request("attribute value type not recognized")
    # Orion keeps one kind of number and shows a whole one without a fraction ("1e3" -> 1000)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


# -- shared ---------------------------------------------------------------------------------------

async def _write(request: Request, target: edits.Target, edit, options: set[str] = frozenset()):
    edit = marked(request, edit, options)
    return await services(request).writer.apply_one(headers.tenant_of(request), target.entity_id, edit)


def no_content() -> Response:
    return Response(status_code=204)
