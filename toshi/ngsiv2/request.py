"""Request plumbing for /v2: bodies, options, paging, Accept, and the EntityQuery of a v2 query."""

from __future__ import annotations

import json
from collections.abc import Callable

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request

from toshi.jsonld.context import core_context
from toshi.ngsiv2.errors import V2Error, bad_request, parse_error
from toshi.ngsiv2.mapping import MAX_VALUE_NESTING, ValueGivenTwice, check_nesting
from toshi.ngsiv2.q import parse_v2_q
from toshi.query.planner import EntityQuery
from toshi.query.regex import compile_pattern
from toshi.query.typeexpr import AnyOf, TypeName

JSON = "application/json"
TEXT = "text/plain"
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
EVERYTHING = 10**9  # a limit that never cuts a page (in-memory ordering, /v2/types)


def ctx():
    """v2 names are terms of the NGSI-LD core context (so v2 `temperature` is LD `temperature`)."""
    return core_context()


def services(request: Request):
    return request.app.state.toshi


async def read_json(request: Request) -> object:
    raw = await read_raw(request, (JSON,))
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise parse_error() from None
    check_nesting(data, MAX_VALUE_NESTING + 8)  # room for a value at its deepest place in any v2 body
    if raw.count(b'"value"') > _value_count(data):  # some object gave `value` twice (orjson kept the last)
        data = json.loads(raw, object_pairs_hook=_with_repeats)
    return data


def _value_count(data: object) -> int:
    """How often `"value"` is written in the JSON of `data` (as a key or as a string)."""
    count, todo = 0, [data]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            count += "value" in item
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
        elif item == "value":
            count += 1
    return count


def _with_repeats(pairs: list[tuple[str, object]]) -> dict:
    """An object of the body; one giving `value` twice is marked (mapping.ValueGivenTwice), as Orion's
    attribute parser refuses it ("duplicated value key in attribute")."""
    if sum(key == "value" for key, _ in pairs) > 1:
        return ValueGivenTwice(pairs)
    return dict(pairs)


# Orion's default -inReqPayloadMaxSize (1 MiB): a body of more bytes is 413, one of exactly this many is read.
# A limit of the v2 API alone: TOSHI_MAX_BODY_BYTES (max_body_bytes) bounds the NGSI-LD bodies.
MAX_PAYLOAD = 1_048_576


async def read_raw(request: Request, allowed: tuple[str, ...]) -> bytes:
    """The body, checked as Orion does: 411 when empty, 413 when too large, 415 for other media."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_PAYLOAD:
        raise _too_large(int(declared))
    raw = await request.body()
    if not raw:
        raise V2Error(411, "ContentLengthRequired", "Zero/No Content-Length in PUT/POST/PATCH request")
    if len(raw) > MAX_PAYLOAD:
        raise _too_large(len(raw))
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in allowed:
        raise V2Error(415, "UnsupportedMediaType", f"not supported content type: {media or '(none)'}")
    return raw


def _too_large(size: int) -> V2Error:
    return V2Error(413, "RequestEntityTooLarge", f"payload size: {size}, max size supported: {MAX_PAYLOAD}")


ACCEPTED_RANGES = ("*/*", "application/*", "application/json", "text/*", "text/plain")


def accept_ranges(header: str) -> list[str]:
    """The media ranges of an Accept header as Orion reads it: only the five it knows are kept
    (others are skipped), each with an optional `q=` (anything else after `;` is 400, as are a
    missing or non-numeric qvalue), ordered by q (ties keep their order); none left is 406."""
    if not header.strip():
        raise bad_request("empty accept header")
    ranges: list[tuple[float, int, str]] = []
    for n, item in enumerate(header.split(",")):
        media, _, rest = item.strip().partition(";")
        media = media.strip().lower()
        if not media or media not in ACCEPTED_RANGES:
            continue
        rest = rest.strip()
        q = 1.0
        if rest:
            if not rest.startswith("q"):
                raise bad_request("q missing in accept header")
            if rest[1:2] != "=":
                raise bad_request("missing equal-sign after q in accept header")
            value = rest[2:].split(";", 1)[0].strip()
            if not value:
                raise bad_request("qvalue in accept header is missing")
            try:
                q = float(value)
            except ValueError:
                raise bad_request("qvalue in accept header is not a number") from None
        ranges.append((-q, n, media))
    if not ranges:
        raise V2Error(406, "NotAcceptable", "no acceptable mime-type in accept header")
    return [media for _, _, media in sorted(ranges)]


def accept(request: Request, offered: tuple[str, ...] = (JSON,), refusal: str | None = None) -> str:
    """The response media type for the Accept header (the first offered one its ranges allow, by q),
    else 406 (`refusal`: its description; Orion's request-level "acceptable MIME types: ..." by
    default). No Accept header is `*/*`."""
    header = request.headers.get("accept")
    if header is None:
        return offered[0]
    for media in accept_ranges(header):
        if media == "*/*":
            return offered[0]
        if media == "application/*" and JSON in offered:
            return JSON
        if media == "text/*" and TEXT in offered:
            return TEXT
        if media in offered:
            return media
    raise V2Error(406, "NotAcceptable", refusal or f"acceptable MIME types: {', '.join(offered)}")


# every `options` value Orion knows: every request's options are checked against this one list (an
# option that does not concern the operation, `upsert` on a PATCH, is accepted and has no effect there)
KNOWN_OPTIONS = frozenset({"count", "append", "normalized", "values", "keyValues", "unique", "dateCreated",
                           "dateModified", "noAttrDetail", "upsert", "flowControl", "skipInitialNotification",
                           "forcedUpdate", "overrideMetadata", "skipForwarding", "fullCounters"})
# the pairs Orion's uriParamOptionsParse refuses together (`normalized` goes with any: the other wins)
CONFLICTING_OPTIONS = ({"keyValues", "values"}, {"keyValues", "unique"}, {"unique", "values"})


def option_items(raw: str) -> set[str]:
    return {o.strip() for o in raw.split(",") if o.strip()}


def check_options(options: set[str]) -> None:
    """400 "Invalid value for URI param /options/" for an option Orion does not know or a conflicting
    pair (toshi.ngsiv2.uri_check calls it for every /v2 request, as Orion parses every URI)."""
    if options - KNOWN_OPTIONS or any(pair <= options for pair in CONFLICTING_OPTIONS):
        raise bad_request("Invalid value for URI param /options/")


def options_of(params: QueryParams, allowed: set[str]) -> set[str]:
    """The request's options that concern the operation (`allowed`); the others were checked by
    uri_check and are dropped."""
    options = {o for raw in params.getlist("options") for o in option_items(raw)}
    return options & (set(allowed) | {"normalized"})


def form_of(options: set[str]) -> str:
    for form in ("keyValues", "values", "unique"):
        if form in options:
            return form
    return "normalized"


def names_param(params: QueryParams, key: str) -> list[str] | None:
    raw = params.get(key)
    if raw is None:
        return None
    return [n.strip() for n in raw.split(",") if n.strip()]


def paging(params: QueryParams) -> tuple[int, int]:
    limit = _number(params, "limit", DEFAULT_LIMIT)
    offset = _number(params, "offset", 0)
    if limit == 0:
        raise bad_request("Bad pagination limit: /0/ [a value of ZERO is unacceptable]")
    if limit > MAX_LIMIT:
        raise bad_request(f"Bad pagination limit: /{limit}/ [max: {MAX_LIMIT}]")
    return limit, offset


def _number(params: QueryParams, key: str, default: int) -> int:
    raw = params.get(key)
    if raw is None:
        return default
    if not raw.isdigit():
        raise bad_request(f"Bad pagination {key}: /{raw}/ [must be a decimal number]")
    return int(raw)


def entity_query(*, ids: list[str] | None = None, id_pattern: str | None = None,
                 types: list[str] | None = None, type_pattern: str | None = None, q: str | None = None,
                 attrs_filter: list[str] | None = None, mq: str | None = None, geo=None) -> EntityQuery:
    """The EntityQuery for one v2 entity selector (id / idPattern x type / typePattern), a q, an mq
    and a geo filter (toshi.ngsiv2.geo.V2GeoFilter)."""
    check_selector(ids, id_pattern, types, type_pattern)
    context = ctx()
    query = EntityQuery(ids=ids, id_pattern=id_pattern)
    if id_pattern is not None:
        compile_pattern(id_pattern)
    if types is not None:
        query.types = AnyOf(tuple(TypeName(context.expand_term(t)) for t in types))
    if type_pattern is not None:
        query.extra.append(type_pattern_filter(type_pattern))
    if q is not None:
        query.q = parse_v2_q(q, context.expand_term)
    if mq is not None:
        from toshi.query.qtree import And

        metadata_q = parse_v2_q(mq, context.expand_term, metadata=True)
        query.q = metadata_q if query.q is None else And((query.q, metadata_q))
    query.geo = geo
    return query


def check_selector(ids, id_pattern, types, type_pattern) -> None:
    """Orion's getEntities checks these first (before geo, q and mq): `id` with `idPattern`, `type`
    with `typePattern`."""
    if ids is not None and id_pattern is not None:
        raise bad_request("Incompatible parameters: id, IdPattern")
    if types is not None and type_pattern is not None:
        raise bad_request("Incompatible parameters: type, typePattern")


def type_pattern_filter(pattern: str) -> Callable[[dict], bool]:
    compiled = compile_pattern(pattern)
    compact = ctx().compact_iri
    return lambda entity: any(compiled.search(compact(t)) for t in entity["type"])


def split_list(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items:
        raise bad_request("Empty list in URI param")
    return items


def json_response(body: object, status: int = 200, extra: dict[str, str] | None = None):
    from starlette.responses import Response

    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=extra)
