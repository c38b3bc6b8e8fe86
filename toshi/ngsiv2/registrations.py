"""/v2/registrations (Orion manual, "Registration Operations"): context providers.

A registration says that a provider (an NGSI-v2 server, reached at `provider.http.url` + `/op/query`
and `/op/update`) holds some attributes of some entities. Only NGSI-v2 forwarding is supported
(`legacyForwarding` false, as in Orion 3.10+, which removed NGSIv1). Forwarding itself is in
toshi/ngsiv2/forwarding.py.

There is no update (PATCH) of a registration, as in Orion 4.7 (the manual's "Registration
implementation differences": "registrations cannot be updated directly ... deleting and re-creating";
its routes answer any method but GET and DELETE on /v2/registrations/{id} with 405, `Allow: GET, DELETE`).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from toshi.core.outbound import OutboundRefused, outbound_policy
from toshi.core.times import instant_key, now_iso
from toshi.ngsiv2 import headers
from toshi.ngsiv2.dates import orion_expires
from toshi.ngsiv2.entity_selectors import selectors
from toshi.ngsiv2.errors import V2Error, bad_request, parse_error
from toshi.ngsiv2.mapping import FORBIDDEN
from toshi.ngsiv2.registrations_store import registrations_of
from toshi.ngsiv2.request import accept, json_response, options_of, paging, read_json, services
from toshi.ngsiv2.subscriptions import listed_path

MODES = ("all", "query", "update", "none")
STATUSES = ("active", "inactive")
NOT_FOUND = "The requested registration has not been found. Check id"
MAX_DESCRIPTION = 1024


def _not_found() -> V2Error:
    return V2Error(404, "NotFound", NOT_FOUND)


# -- validation -----------------------------------------------------------------------------------

def validate(body: object) -> dict:
    """The registration fields of a POST body, checked as Orion's registration
    parser checks them, in its order and with its texts (400 BadRequest), in stored form.
    `dataProvided.expression` is ignored, as the manual says, and so are members Orion's parser does not
    look for."""
    if not isinstance(body, dict):
        raise bad_request("not a JSON object")
    if not body:
        raise bad_request("empty payload")
    out: dict = {}
    if "description" in body:
        description = body["description"]
        if not isinstance(description, str):
            raise bad_request("invalid description")
        if len(description) > MAX_DESCRIPTION:
            raise bad_request("max description length exceeded")
        if any(c in FORBIDDEN for c in description):
            raise bad_request("forbidden characters in description")
        out["description"] = description
    if "dataProvided" in body:
        out["dataProvided"] = _data_provided(body["dataProvided"])
    else:
        raise bad_request("the field /dataProvided/ is missing in payload")
    if "provider" in body:
        out["provider"] = _provider(body["provider"])
    else:
        raise bad_request("the field /provider/ is missing in payload")
    if "expires" in body:
        expires = body["expires"]
        if not isinstance(expires, str):
            raise bad_request("expires is not a string")
        if expires:  # "": permanent
            if instant_key(expires) is None:
                raise bad_request("the field /expires/ has an invalid format")
            out["expires"] = expires
    if "status" in body:
        if not isinstance(body["status"], str):
            raise bad_request("/status/ must be a string")
        if body["status"] not in STATUSES:
            raise bad_request("invalid value for /status/")
        out["status"] = body["status"]
    return out  # other members (`id`, `forwardingInformation`, unknown ones): ignored, as Orion's parser does


def _data_provided(data: object) -> dict:
    if not isinstance(data, dict):
        raise bad_request("/dataProvided/ must be a JSON object")
    if not data:
        raise bad_request("/dataProvided/ is empty")
    entities = data.get("entities")
    if "entities" in data and not isinstance(entities, list):
        raise bad_request("/entities/ is not an array")
    out = {"entities": _entities(entities or [])}
    if not out["entities"]:
        raise bad_request("/entities/ is mandatory in /dataProvided/ and must be a non-empty array")
    attrs = data.get("attrs", [])
    if not isinstance(attrs, list):
        raise bad_request("the field /attrs/ must be a JSON array")
    for attr in attrs:
        if not isinstance(attr, str):
            raise bad_request("only JSON Strings allowed in string vector /attrs/")
        if not attr:
            raise bad_request("empty string found in string vector /attrs/")
    out["attrs"] = list(dict.fromkeys(attrs))  # no identifier check: Orion's parseStringVector makes none
    return out  # `expression`: "simply ignored" (the manual's "Registration implementation differences")


def _entities(items: list) -> list[dict]:
    """`dataProvided.entities` as Orion's parser reads them (repeated items kept once)."""
    return selectors(items)


def _provider(provider: object) -> dict:
    if not isinstance(provider, dict):
        raise bad_request("/provider/ must be a JSON object")
    if not provider:
        raise bad_request("/provider/ empty")
    if "http" not in provider:
        raise bad_request("/provider/ must contain a field /http/")
    http = provider["http"]
    if not isinstance(http, dict):
        raise bad_request("/http/ must be a JSON object")
    if "url" not in http:
        raise bad_request("/http/ must contain a field /url/")
    url = http["url"]
    if not isinstance(url, str):
        raise bad_request("/url/ field of /http/ must be a JSON string")
    if not url:
        raise bad_request("/url/ field of /http/ cannot be the empty string")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("/url/ field of /http/ is invalid")
    mode = provider.get("supportedForwardingMode", "all")
    if not isinstance(mode, str):
        raise bad_request("/supportedForwardingMode/ must be a JSON string")
    if mode not in MODES:
        raise bad_request("invalid value of /supportedForwardingMode/")
    legacy = provider.get("legacyForwarding", False)
    if not isinstance(legacy, bool):
        raise bad_request("the field /legacyForwarding/ must be a boolean")
    if legacy:
        raise bad_request("legacyForwarding mode is no longer supported")
    return {"http": {"url": url}, "supportedForwardingMode": mode, "legacyForwarding": False}  # url as given


# -- rendering ------------------------------------------------------------------------------------

def render(registration: dict) -> dict:
    out = {"id": registration["id"]}
    if registration.get("description"):  # Orion renders a description only when it is not empty
        out["description"] = registration["description"]
    out["dataProvided"] = registration["dataProvided"]
    out["provider"] = registration["provider"]
    # the stored status, as Orion renders it (the manual: an expired registration "shows as `active`")
    out["status"] = registration.get("status", "active")
    if "expires" in registration:
        out["expires"] = orion_expires(registration["expires"])
    return out


def status_of(registration: dict) -> str:
    """The status forwarding goes by: `expired` once `expires` has passed (not shown, see render)."""
    expires = registration.get("expires")
    if expires and instant_key(expires) <= instant_key(now_iso()):
        return "expired"
    return registration.get("status", "active")


# -- endpoints ------------------------------------------------------------------------------------

async def list_registrations(request: Request) -> Response:
    accept(request)
    limit, offset = paging(request.query_params)
    options = options_of(request.query_params, {"count"})
    everything = registrations_of(services(request)).all(headers.tenant_of(request))
    path = listed_path(request)
    if path is not None:
        everything = [r for r in everything if r.get("servicePath", "/") == path]
    extra = {"Fiware-Total-Count": str(len(everything))} if "count" in options else None
    return json_response([render(r) for r in everything[offset:offset + limit]], extra=extra)


def _check_provider(request: Request, registration: dict) -> None:
    """The provider must not be at an internal address (unless allowed): 400."""
    if "provider" not in registration:
        return
    url = registration["provider"]["http"]["url"]
    try:
        outbound_policy(services(request).settings).check_literal(url)
    except OutboundRefused as exc:
        raise bad_request(f"provider url {url} is refused: {exc}") from None


async def _body(request: Request) -> object:
    """The JSON body. Orion's parseRegistration answers a body that is no JSON through its `badInput`:
    400 `BadRequest` (not `ParseError`) "Errors found in incoming JSON buffer"."""
    try:
        return await read_json(request)
    except V2Error as exc:
        if exc.error == "ParseError" and exc.description == parse_error().description:
            raise bad_request(exc.description) from None
        raise


async def create_registration(request: Request) -> Response:
    paths = headers.query_paths(request)  # kept to narrow lists (Orion: the header's first path, else `/`)
    registration = {"id": secrets.token_hex(12), "servicePath": paths[0] if paths else "/",
                    **validate(await _body(request))}
    _check_provider(request, registration)
    registration.setdefault("status", "active")
    registrations_of(services(request)).put(headers.tenant_of(request), registration)
    return Response(status_code=201, headers={"Location": f"/v2/registrations/{registration['id']}"})


async def retrieve_registration(request: Request) -> Response:
    accept(request)
    return json_response(render(_found(request)))


async def delete_registration(request: Request) -> Response:
    if not registrations_of(services(request)).delete(headers.tenant_of(request), _id_of(request)):
        raise _not_found()
    return Response(status_code=204)


def _id_of(request: Request) -> str:
    """The id in the URL; hex digits in either case, as Orion reads an ObjectId (ids are made lower-case)."""
    return request.path_params["registration_id"].lower()


def _found(request: Request) -> dict:
    found = registrations_of(services(request)).get(headers.tenant_of(request), _id_of(request))
    if found is None:
        raise _not_found()
    return found
