"""/v2/registrations (Orion manual, "Registration Operations"): context providers.

A registration says that a provider (an NGSI-v2 server, reached at `provider.http.url` + `/op/query`
and `/op/update`) holds some attributes of some entities. Only NGSI-v2 forwarding is supported
(`legacyForwarding` false, as in Orion 3.10+, which removed NGSIv1). Forwarding itself is in
toshi/ngsiv2/forwarding.py.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

from toshi.core.outbound import OutboundRefused, outbound_policy
from toshi.core.times import instant_key, now_iso
from toshi.ngsiv2 import headers
from toshi.ngsiv2.errors import V2Error, bad_request
from toshi.ngsiv2.mapping import check_name
from toshi.ngsiv2.registrations_store import registrations_of
from toshi.ngsiv2.request import accept, json_response, options_of, paging, read_json, services
from toshi.query.regex import compile_pattern

MODES = ("all", "query", "update", "none")
STATUSES = ("active", "inactive")
FIELDS = {"id", "description", "dataProvided", "provider", "status", "expires", "forwardingInformation"}
NOT_FOUND = "The requested registration has not been found. Check id"


def _not_found() -> V2Error:
    return V2Error(404, "NotFound", NOT_FOUND)


# -- validation -----------------------------------------------------------------------------------

def validate(body: object, *, partial: bool = False) -> dict:
    """The registration fields of a POST (or, `partial`, a PATCH) body, checked, in stored form."""
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON type for the request payload: it must be an object")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise bad_request(f"Invalid field for registration: {unknown[0]}")
    if "id" in body:
        raise bad_request("the field /id/ is not allowed in registrations")
    out: dict = {}
    if "description" in body:
        if not isinstance(body["description"], str):
            raise bad_request("/description/ must be a string")
        out["description"] = body["description"]
    if "dataProvided" in body:
        out["dataProvided"] = _data_provided(body["dataProvided"])
    elif not partial:
        raise bad_request("/dataProvided/ field is mandatory")
    if "provider" in body:
        out["provider"] = _provider(body["provider"])
    elif not partial:
        raise bad_request("/provider/ field is mandatory")
    if "status" in body:
        if body["status"] not in STATUSES:
            raise bad_request("status is not valid: it has to be either active or inactive")
        out["status"] = body["status"]
    if "expires" in body:
        expires = body["expires"]
        if not isinstance(expires, str) or instant_key(expires) is None:
            raise bad_request("expires has an invalid format: an ISO 8601 date-time is expected")
        out["expires"] = expires
    return out


def _data_provided(data: object) -> dict:
    if not isinstance(data, dict):
        raise bad_request("/dataProvided/ must be a JSON object")
    if "expression" in data:
        raise V2Error(422, "NotSupportedQuery", "expression in registrations is not supported")
    entities = data.get("entities")
    if not isinstance(entities, list) or not entities:
        raise bad_request("/entities/ is mandatory in /dataProvided/ and must be a non-empty array")
    out = {"entities": [_entity(item) for item in entities]}
    attrs = data.get("attrs", [])
    if not isinstance(attrs, list) or not all(isinstance(a, str) for a in attrs):
        raise bad_request("/attrs/ in /dataProvided/ must be an array of strings")
    out["attrs"] = [check_name(a, "attribute name") for a in attrs]
    return out


def _entity(item: object) -> dict:
    if not isinstance(item, dict) or set(item) - {"id", "idPattern", "type", "typePattern"}:
        raise bad_request("each element of /entities/ is an object with id or idPattern, and type or typePattern")
    if ("id" in item) == ("idPattern" in item):
        raise bad_request("entity: id or idPattern (one of them) is mandatory")
    if "type" in item and "typePattern" in item:
        raise bad_request("entity: type and typePattern cannot be used together")
    out = {}
    for key in ("id", "type"):
        if key in item:
            out[key] = check_name(item[key], f"entity {key}")
    for key in ("idPattern", "typePattern"):
        if key in item:
            if not isinstance(item[key], str):
                raise bad_request(f"Invalid JSON type for entity {key}")
            compile_pattern(item[key])
            out[key] = item[key]
    return out


def _provider(provider: object) -> dict:
    if not isinstance(provider, dict):
        raise bad_request("/provider/ must be a JSON object")
    http = provider.get("http")
    url = http.get("url") if isinstance(http, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise bad_request("/provider/http/url/ is mandatory and must be an http or https URL")
    mode = provider.get("supportedForwardingMode", "all")
    if mode not in MODES:
        raise bad_request("Invalid supportedForwardingMode: it must be one of all, query, update or none")
    if provider.get("legacyForwarding", False) is not False:
        raise bad_request("legacyForwarding mode is no longer supported")
    return {"http": {"url": url.rstrip("/")}, "supportedForwardingMode": mode, "legacyForwarding": False}


# -- rendering ------------------------------------------------------------------------------------

def render(registration: dict) -> dict:
    out = {"id": registration["id"]}
    if "description" in registration:
        out["description"] = registration["description"]
    out["dataProvided"] = registration["dataProvided"]
    out["provider"] = registration["provider"]
    out["status"] = status_of(registration)
    if "expires" in registration:
        out["expires"] = registration["expires"]
    return out


def status_of(registration: dict) -> str:
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


async def create_registration(request: Request) -> Response:
    registration = {"id": secrets.token_hex(12), **validate(await read_json(request))}
    _check_provider(request, registration)
    registration.setdefault("status", "active")
    registrations_of(services(request)).put(headers.tenant_of(request), registration)
    return Response(status_code=201, headers={"Location": f"/v2/registrations/{registration['id']}"})


async def retrieve_registration(request: Request) -> Response:
    accept(request)
    return json_response(render(_found(request)))


async def update_registration(request: Request) -> Response:
    current = _found(request)
    changes = validate(await read_json(request), partial=True)
    _check_provider(request, changes)
    registrations_of(services(request)).put(headers.tenant_of(request), {**current, **changes})
    return Response(status_code=204)


async def delete_registration(request: Request) -> Response:
    if not registrations_of(services(request)).delete(headers.tenant_of(request),
                                                      request.path_params["registration_id"]):
        raise _not_found()
    return Response(status_code=204)


def _found(request: Request) -> dict:
    found = registrations_of(services(request)).get(headers.tenant_of(request),
                                                    request.path_params["registration_id"])
    if found is None:
        raise _not_found()
    return found
