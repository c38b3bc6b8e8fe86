"""Forwarding to NGSI-v2 context providers (registrations with `legacyForwarding` false), as Orion.

* Queries: GET /v2/entities/{id} (and .../attrs) and GET /v2/entities / POST /v2/op/query without q,
  mq or geo filters ask every active registration that covers the entity (id or idPattern, type) and
  supports `query` for its attributes, with POST {url}/op/query
  `{"entities": [{"id", "type"}], "attrs": [...]}`. Provided attributes are merged into the local entity
  (they win over local ones of the same name); an entity only a provider has is shown too. A provider
  that fails (error, timeout, bad payload) is skipped: the local result stands. `options=skipForwarding`
  asks no provider.
* Updates: POST / PATCH /v2/entities/{id}/attrs send the attributes a registration owns (listed in its
  `attrs`, or any attribute of an entity that does not exist locally when the registration lists none)
  to POST {url}/op/update with actionType `append` / `update`; the rest is written locally.
* {url} is the provider URL as registered (`http://host/v2`); a URL without a path names the provider's
  root, so the operations are its /v2/op/query and /v2/op/update (as Orion, and the FIWARE IoT agents
  that register `http://agent:4041`, expect).

Fiware-Service and Fiware-ServicePath are passed on. Timeout: FORWARD_TIMEOUT seconds. Every request
goes through the feature's one HTTP client (`NgsiV2.http_client`: connections kept alive, closed when
the app stops).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.requests import Request

from toshi.core.access import visible
from toshi.core.outbound import OutboundRefused, outbound_policy
from toshi.core.times import now_iso
from toshi.ngsiv2 import headers, mapping
from toshi.ngsiv2.errors import V2Error
from toshi.ngsiv2.registrations import status_of
from toshi.ngsiv2.registrations_store import registrations_of
from toshi.ngsiv2.request import ctx, services
from toshi.query.regex import compile_pattern

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("toshi.ngsiv2.forwarding")
FORWARD_TIMEOUT = 5.0
PASSED_HEADERS = ("fiware-service", "fiware-servicepath")
SKIP_FORWARDING = "skipForwarding"  # a query option: local data only


def candidates(request: Request, mode: str) -> list[dict]:
    """Active registrations of the request's tenant supporting `mode` (query or update); none for a
    query with `options=skipForwarding` (local data only, as Orion)."""
    if mode == "query" and _skips_forwarding(request):
        return []
    everything = registrations_of(services(request)).all(headers.tenant_of(request))
    if not everything:
        return []
    paths = headers.query_paths(request)
    if paths and "/#" not in paths:  # Orion's servicePathFilterNeeded / fillQueryServicePath
        everything = [r for r in everything if any(_in_path(p, r.get("servicePath", "/")) for p in paths)]
    return [r for r in everything if r["provider"]["supportedForwardingMode"] in ("all", mode)
            and status_of(r) == "active"]


def _in_path(path: str, registered: str) -> bool:
    """Whether a registration made under the service path `registered` answers a request under `path`
    (exactly that path, or it and those below for `/A/#`)."""
    return headers.path_matches(path, [] if registered == "/" else [registered])


def _skips_forwarding(request: Request) -> bool:
    return any(option.strip() == SKIP_FORWARDING
               for raw in request.query_params.getlist("options") for option in raw.split(","))


def covers(registration: dict, entity_id: str, type_name: str | None) -> bool:
    for item in registration["dataProvided"]["entities"]:
        if "id" in item and item["id"] != entity_id:
            continue
        if "idPattern" in item and not compile_pattern(item["idPattern"]).search(entity_id):
            continue
        if type_name is not None and "type" in item and item["type"] != type_name:
            continue
        if type_name is not None and "typePattern" in item and \
                not compile_pattern(item["typePattern"]).search(type_name):
            continue
        return True
    return False


def _type_for(registration: dict, entity_id: str, type_name: str | None) -> str | None:
    if type_name is not None:
        return type_name
    return next((i["type"] for i in registration["dataProvided"]["entities"]
                 if "type" in i and i.get("id") in (None, entity_id)), None)


def _headers(request: Request) -> dict[str, str]:
    return {name: request.headers[name] for name in PASSED_HEADERS if name in request.headers}


def operation_url(provider: str, operation: str) -> str:
    """The URL of a provider's `op/query` or `op/update` (see the module's docstring)."""
    base = provider.rstrip("/")
    if urlsplit(provider).path in ("", "/"):
        base += "/v2"
    return f"{base}/op/{operation}"


async def _post(request: Request, url: str, body: object) -> httpx.Response | None:
    """The provider's 2xx answer; None when it fails in any way."""
    response = await _send(request, url, body)
    if response is not None and response.status_code >= 300:
        log.warning("context provider %s answered %s", url, response.status_code)
        return None
    return response


async def _send(request: Request, url: str, body: object) -> httpx.Response | None:
    """The provider's answer, whatever its status; None when it cannot be reached."""
    import httpx

    policy = outbound_policy(services(request).settings)
    try:
        await policy.check(url)
        target, host, extensions = await policy.pinned(url)  # connect to the address just checked
    except OutboundRefused as exc:
        log.warning("context provider %s refused: %s", url, exc)
        return None
    try:
        client = request.app.state.ngsiv2.http_client()
        response = await client.post(target, json=body, headers={**_headers(request), **host},
                                     extensions=extensions, timeout=FORWARD_TIMEOUT)  # the one the log names
    except httpx.TimeoutException:
        log.warning("context provider %s did not answer within %s s: answers leave out what it provides; check "
                    "that it runs and is reachable from this server, or delete its registration",
                    url, FORWARD_TIMEOUT, extra={"once_per": ("context provider down", url)})
        return None
    except httpx.HTTPError as exc:
        log.warning("context provider %s cannot be reached (%s): answers leave out what it provides; check "
                    "that it runs and is reachable from this server, or delete its registration",
                    url, exc or type(exc).__name__, extra={"once_per": ("context provider down", url)})
        return None
    return response


# -- queries --------------------------------------------------------------------------------------

def _wanted(registration: dict, requested: list[str] | None) -> list[str] | None:
    """The attributes to ask this provider for; None = skip it; [] = all it has."""
    provided = registration["dataProvided"]["attrs"]
    if requested is None or "*" in requested:
        return list(provided)
    if not provided:
        return list(requested)
    common = [a for a in requested if a in provided]
    return common or None


async def provided_entities(request: Request, registrations: list[dict], entity_id: str,
                            type_name: str | None, requested: list[str] | None) -> dict | None:
    """The entity as the providers covering it have it (internal form, attributes merged), or None."""
    merged: dict | None = None
    for registration in registrations:
        if not covers(registration, entity_id, type_name):
            continue
        attrs = _wanted(registration, requested)
        if attrs is None:
            continue
        selector = {"id": entity_id}
        if (forwarded_type := _type_for(registration, entity_id, type_name)) is not None:
            selector["type"] = forwarded_type
        body = {"entities": [selector], **({"attrs": attrs} if attrs else {})}
        response = await _post(request, operation_url(registration["provider"]["http"]["url"], "query"), body)
        entity = _entity_in(response, entity_id)
        if entity is None:
            continue
        merged = entity if merged is None else {**merged, "attrs": {**merged["attrs"], **entity["attrs"]}}
    return merged


def _entity_in(response: httpx.Response | None, entity_id: str) -> dict | None:
    if response is None:
        return None
    try:
        found = [e for e in response.json() if isinstance(e, dict) and e.get("id") == entity_id]
        if not found:
            return None
        now = now_iso()
        return mapping.parse_entity(found[0], ctx(), now, key_values=False, scope=[])
    except (ValueError, V2Error) as exc:
        log.warning("context provider answered an unusable payload: %s", exc)
        return None


def merged(local: dict | None, provided: dict | None) -> dict | None:
    """The local entity with what a provider adds, as the reader may see it (the one read path:
    forwarded answers pass the same filters as local ones)."""
    if provided is None:
        return local
    if local is None:
        return visible(provided)
    return visible({**local, "attrs": {**local["attrs"], **provided["attrs"]}})


async def with_provided(request: Request, local: dict | None, entity_id: str,
                        requested: list[str] | None) -> dict | None:
    """GET of one entity: the local entity (None when absent) with what providers add."""
    registrations = candidates(request, "query")
    if not registrations:
        return local
    type_name = mapping.entity_type(local, ctx()) if local is not None else request.query_params.get("type")
    provided = await provided_entities(request, registrations, entity_id, type_name, requested)
    return merged(local, provided)


async def augment_query(request: Request, query, found: list[dict], limit: int,
                        requested: list[str] | None) -> list[dict]:
    """A page of query results with what providers add (queries without q, mq or geo filters)."""
    registrations = candidates(request, "query")
    if not registrations or query.q is not None or query.geo is not None:
        return found
    by_id = {e["id"]: n for n, e in enumerate(found)}
    result = list(found)
    for registration in registrations:
        for item in registration["dataProvided"]["entities"]:
            entity_id = item.get("id")
            if entity_id is None:
                continue
            stub = {"id": entity_id, "type": [ctx().expand_term(item["type"])] if "type" in item else [],
                    "attrs": {}}
            if entity_id not in by_id and (not item.get("type") or not query.matches(stub)):
                continue
            local = result[by_id[entity_id]] if entity_id in by_id else None
            type_name = mapping.entity_type(local, ctx()) if local is not None else item.get("type")
            provided = await provided_entities(request, [registration], entity_id, type_name, requested)
            if provided is None:
                continue
            seen = merged(local, provided)
            if local is not None:
                result[by_id[entity_id]] = seen or local
            elif seen is not None and len(result) < limit:
                by_id[entity_id] = len(result)
                result.append(seen)
    return result


# -- updates --------------------------------------------------------------------------------------

FORWARDED, NOT_FOUND, FAILED = "forwarded", "not found", "failed"  # what forwarding an update did


async def forward_update(request: Request, local: dict | None, entity_id: str, raw: object,
                         action: str, key_values: bool) -> tuple[object, str | None]:
    """Send the attributes of `raw` (a v2 attributes object) that registrations own to their
    providers. Returns what is left for the local write and what forwarding did: None (nothing was
    owned), FORWARDED (a provider took some), else NOT_FOUND (the providers answered 404) or FAILED
    (a provider could not be reached or answered another error)."""
    registrations = candidates(request, "update")
    if not registrations or not isinstance(raw, dict):
        return raw, None
    type_name = mapping.entity_type(local, ctx()) if local is not None else request.query_params.get("type")
    left = dict(raw)
    outcomes: set[str] = set()
    for registration in registrations:
        if not covers(registration, entity_id, type_name):
            continue
        provided = registration["dataProvided"]["attrs"]
        owned = {name: value for name, value in left.items()
                 if name in provided or (not provided and local is None)}
        if not owned:
            continue
        entity = {"id": entity_id, **owned}
        if (forwarded_type := _type_for(registration, entity_id, type_name)) is not None:
            entity["type"] = forwarded_type
        url = operation_url(registration["provider"]["http"]["url"], "update")
        url += "?options=keyValues" if key_values else ""
        for name in owned:
            left.pop(name)  # owned by the provider: never written locally
        response = await _send(request, url, {"actionType": action, "entities": [entity]})
        outcomes.add(_outcome(url, response))
    if not outcomes:
        return left, None
    return left, next(o for o in (FORWARDED, FAILED, NOT_FOUND) if o in outcomes)


def _outcome(url: str, response: httpx.Response | None) -> str:
    if response is not None and response.status_code < 300:
        return FORWARDED
    log.warning("context provider %s: update %s", url,
                "unreachable" if response is None else f"answered {response.status_code}")
    return NOT_FOUND if response is not None and response.status_code == 404 else FAILED
