"""NGSI-LD HTTP plumbing: bodies, content negotiation, @context, tenants, responses."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from toshi.core.errors import (
    BadRequestData,
    InvalidRequest,
    NonexistentTenant,
    NotAcceptable,
    PayloadTooLarge,
    UnsupportedMediaType,
)

JSON = "application/json"
LD_JSON = "application/ld+json"
GEO_JSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"
EMBEDDED = (LD_JSON, GEO_JSON)  # responses that carry their @context in the body (GeoJSON-LD by default)


def embeds_context(request: Request, media: str) -> bool:
    """Whether a response of `media` carries its @context in the body: JSON-LD always, GeoJSON unless
    the request says `Prefer: body=json` (clause 6.3.6; then the Link header carries it)."""
    if media == GEO_JSON:
        return not _prefers_plain_body(request.headers.get("prefer", ""))
    return media in EMBEDDED


@lru_cache(maxsize=256)
def _prefers_plain_body(header: str) -> bool:
    for preference in header.split(","):
        name, _, value = preference.split(";")[0].partition("=")
        if name.strip().lower() == "body":
            return value.strip().strip('"').lower() == "json"
    return False
LINK_REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
TENANT_HEADER = "ngsild-tenant"
DEFAULT_TENANT = ""


@dataclass
class Body:
    data: Any
    media: str          # JSON or LD_JSON (merge-patch counts as JSON)
    context: Any        # the @context value the client gave (None: core context)


def uri_param(request: Request, name: str, what: str) -> str:
    """A path parameter that must be a URI (entity and subscription ids)."""
    from toshi.formats.ngsild_parse import is_uri

    value = request.path_params[name]
    if not is_uri(value):
        raise BadRequestData(f"{what} is not a URI: {value}")
    return value


def tenant_of(request: Request) -> str:
    return _valid_tenant(request.headers.get(TENANT_HEADER, DEFAULT_TENANT))


@lru_cache(maxsize=1024)
def _valid_tenant(header: str) -> str:
    tenant = header.strip()
    if len(tenant) > 64 or any(not (c.isalnum() or c in "_-") for c in tenant):
        raise BadRequestData(f"Invalid tenant name: {tenant[:70]!r}")
    return tenant


async def existing_tenant(request: Request) -> str:
    """The request's tenant, which must exist (reads of an unknown tenant are errors)."""
    tenant = tenant_of(request)
    if tenant != DEFAULT_TENANT and not await request.app.state.toshi.store.tenant_exists(tenant):
        raise NonexistentTenant(f"Tenant {tenant} does not exist")
    return tenant


async def read_body(request: Request, *, allowed: tuple[str, ...] = (JSON, LD_JSON)) -> Body:
    """The request's JSON body, checked for media type, size, syntax, nesting and @context rules."""
    media = _media_type(request.headers.get("content-type", ""))
    if media not in allowed:
        raise UnsupportedMediaType(f"Content-Type {media or '(none)'} is not supported here; use {', '.join(allowed)}")
    settings = request.app.state.toshi.settings
    declared = request.headers.get("content-length")
    if declared is None and "transfer-encoding" not in request.headers:
        raise InvalidRequest("A request body needs a Content-Length header", status=411, title="Length required")
    if declared and declared.isdigit() and int(declared) > settings.max_body_bytes:
        raise PayloadTooLarge(f"Payload exceeds {settings.max_body_bytes} bytes")
    raw = await request.body()
    if len(raw) > settings.max_body_bytes:
        raise PayloadTooLarge(f"Payload exceeds {settings.max_body_bytes} bytes")
    if not raw.strip():
        raise InvalidRequest("Empty payload body")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"Malformed JSON: {exc}") from None
    check_depth(data, settings.max_nesting + 8)
    return Body(data, LD_JSON if media == LD_JSON else JSON, _body_context(request, data, media))


def _body_context(request: Request, data: Any, media: str) -> Any:
    items = data if isinstance(data, list) else [data]
    contexts = [item.get("@context") for item in items if isinstance(item, dict)]
    if media == LD_JSON:
        if not contexts and isinstance(data, list):
            return None  # an array of entity ids (batch delete) has nowhere to carry an @context
        if any(c is None for c in contexts) or not contexts:
            raise BadRequestData("application/ld+json payloads must carry an @context")
        return contexts[0]
    if any(c is not None for c in contexts):
        raise BadRequestData("@context in a payload requires Content-Type application/ld+json")
    return link_context(request)


def link_context(request: Request) -> str | None:
    """The @context URL of a `Link` header, if the request has one."""
    header = request.headers.get("link")
    if not header:
        return None
    for part in header.split(","):
        if "json-ld#context" in part:
            start, end = part.find("<"), part.find(">")
            if start == -1 or end <= start:
                raise BadRequestData(f"Invalid Link header: {header}")
            return part[start + 1:end].strip()
    return None


def check_depth(data: Any, limit: int) -> None:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise BadRequestData(f"Payload nesting deeper than {limit} levels")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))


def _media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


def negotiate(request: Request, offered: tuple[str, ...] = (JSON, LD_JSON)) -> str:
    """The response media type for the request's Accept header, or 406."""
    return _negotiate(request.headers.get("accept", ""), offered)


@lru_cache(maxsize=512)
def _negotiate(header: str, offered: tuple[str, ...]) -> str:
    """RFC 9110 12.5.1: each offered type takes the weight of the most specific range matching it
    (`application/json;q=0, */*` refuses JSON); the highest weight above 0 wins, equal weights go to
    the range named first, then to the order of `offered`."""
    if not header:
        return offered[0]
    ranges = [_media_range(item) for item in header.split(",")]
    ranked = []
    for index, media in enumerate(offered):
        matching = [(_specificity(name, media), -position, q) for position, (name, q) in enumerate(ranges)
                    if _specificity(name, media) >= 0]
        if matching:
            _, position, q = max(matching)
            if q > 0:
                ranked.append((q, position, -index, media))
    if not ranked:
        raise NotAcceptable(f"None of the media types in Accept ({header}) is offered: {', '.join(offered)}")
    return max(ranked)[3]


def _media_range(item: str) -> tuple[str, float]:
    """One range of an Accept header: its media type (lower case) and weight."""
    parts = item.strip().split(";")
    q = 1.0
    for param in parts[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip() == "q":
            q = _weight(value)
    return parts[0].strip().lower(), q


def _specificity(media_range: str, media: str) -> int:
    """How specifically `media_range` matches `media`: 2 exactly, 1 as `type/*`, 0 as `*/*`, else -1."""
    if media_range == media:
        return 2
    if media_range == "*/*":
        return 0
    return 1 if media_range.endswith("/*") and media.startswith(media_range[:-1]) else -1


_UNREADABLE_WEIGHT = 1e-9  # a weight that cannot be read does not decide: any readable one wins over it


def _weight(text: str) -> float:
    """An Accept q-value (RFC 9110 12.4.2: 0 to 1, at most three decimals)."""
    try:
        weight = float(text.strip())
    except ValueError:
        return _UNREADABLE_WEIGHT
    return weight if 0.0 <= weight <= 1.0 else _UNREADABLE_WEIGHT


async def context_for(request: Request, value: Any = None, *, from_link: bool = True):
    """The ActiveContext for the request: the given @context, else the Link header, else core.

    An inline @context (an object, or an array holding one) is hosted as an ImplicitlyCreated @context
    as soon as a request carries it (v1.8 clause 5.13: listed under /jsonldContexts, deduplicated by
    content), so the answer, later answers and notifications can name it in a Link header."""
    if value is None and from_link:
        value = link_context(request)
    resolver = request.app.state.toshi.resolver
    active = await resolver.resolve(value)
    if value is not None and not _only_urls(value):
        await resolver.link_url(active)
    return active


def _only_urls(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


async def json_response(request: Request, data: Any, *, status: int = 200, media: str = JSON, ctx=None,
                        headers: dict[str, str] | None = None) -> Response:
    """A response carrying the @context as NGSI-LD wants: in the body for ld+json, else in Link."""
    headers = dict(headers or {})
    if ctx is not None:
        if embeds_context(request, media):
            data = with_context(data, ctx.source)
        else:
            url = ctx.link_url or await request.app.state.toshi.resolver.link_url(ctx)
            _add_link(headers, f"<{url}>; {LINK_REL}")
    return Response(orjson.dumps(data), status_code=status, media_type=media, headers=headers)


async def bytes_response(request: Request, content: bytes, *, status: int = 200, media: str = JSON, ctx=None,
                         headers: dict[str, str] | None = None) -> Response:
    """Like json_response, for a body already serialised (with its @context when embeds_context)."""
    headers = dict(headers or {})
    if ctx is not None and not embeds_context(request, media):
        url = ctx.link_url or await request.app.state.toshi.resolver.link_url(ctx)
        _add_link(headers, f"<{url}>; {LINK_REL}")
    return Response(content, status_code=status, media_type=media, headers=headers)


def page_links(request: Request, limit: int, offset: int, more: bool, media: str) -> str:
    """rel="prev" / rel="next" links (clause 6.3.10, pagination): the request's parameters as sent,
    then limit and offset of that page, typed with the response's media type."""
    links = []
    if offset > 0:
        links.append((max(0, offset - limit), "prev"))
    if more:
        links.append((offset + limit, "next"))
    kept = [part for part in request.url.query.split("&")
            if part and part.split("=", 1)[0] not in ("limit", "offset")]
    prefix = "&".join(kept) + "&" if kept else ""
    return ", ".join(f'<{request.url.path}?{prefix}limit={limit}&offset={start}>;rel="{rel}";type="{media}"'
                     for start, rel in links)


def _add_link(headers: dict[str, str], link: str) -> None:
    headers["Link"] = f"{headers['Link']}, {link}" if headers.get("Link") else link


def with_context(data: Any, context: Any) -> Any:
    if isinstance(data, list):
        return [{**item, "@context": context} for item in data]
    if isinstance(data, dict):
        return {**data, "@context": context}
    return data


def no_content(headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=204, headers=headers)
