"""The consent API (docs/residents.md). Tenants as in NGSI-LD: the `NGSILD-Tenant` header.

Residents, for themselves (a resident is a principal whose id is their resident id — the `sub` of a
Toshi-issued token, later of the portal's login):
    GET  /consent/me/consents                 their consent records
    POST /consent/me/consents                 grant (opt in): 201, Location
    GET  /consent/me/consents/{id}            one record
    DELETE /consent/me/consents/{id}          revoke (switch OFF): 204, at once
    GET  /consent/me/consents/{id}/receipt    the signed receipt of the current version
    GET  /consent/me/consents/{id}/history    every version's signed receipt
    GET  /consent/me/access-log?after&limit   who read their personal data
    GET  /consent/me/export?format=json|csv   everything Toshi holds about them
    GET|POST /consent/me/erasure              their erasure requests / ask for erasure
Town officials (the admin role in the tenant) the same for any resident under
/consent/residents/{resident}/..., plus deciding erasure requests
(POST /consent/residents/{resident}/erasure/{id}), and the declarations of personal data
(/consent/declarations), and many residents' consents to one purpose and recipient at once
(POST /consent/grants). Service providers: GET /consent/held (the consents they hold) and
GET /consent/held/access-log (what they read).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi.consent import mydata
from toshi.core.access import current_actor
from toshi.core.errors import BadRequestData, NgsiError, ResourceNotFound, Unauthorized

MAX_BODY = 100_000
MAX_BULK_BODY = 4_000_000  # a bulk grant: tens of thousands of resident ids
PREFIX = "/consent"


def _json(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _service(request: Request):
    return request.app.state.consent.service


def _tenant(request: Request) -> str:
    return (request.headers.get("ngsild-tenant") or "").strip()


def _caller_id(request: Request) -> str:
    actor = current_actor.get()
    return actor["principal"] if actor else "local"


async def _body(request: Request, limit: int = MAX_BODY) -> dict:
    raw = await request.body()
    if len(raw) > limit:
        raise BadRequestData("request body too large")
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise BadRequestData("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequestData("the body must be a JSON object")
    return body


def _checked(call, *args):
    try:
        return call(*args)
    except KeyError as exc:
        raise ResourceNotFound(str(exc).strip("'\"")) from None
    except ValueError as exc:
        raise BadRequestData(str(exc)) from None


def _paging(request: Request) -> tuple[int, int]:
    try:
        after, limit = int(request.query_params.get("after", 0)), int(request.query_params.get("limit", 100))
    except ValueError:
        raise BadRequestData("after and limit must be integers") from None
    if after < 0 or not 0 < limit <= 1000:
        raise BadRequestData("after must be >= 0 and limit between 1 and 1000")
    return after, limit


class Resident:
    """Whose records a request is about, and who is asking."""

    def __init__(self, resident_id: str, principal, by: str):
        self.id, self.principal, self.by = resident_id, principal, by


async def _resident(request: Request) -> Resident:
    """The resident a /consent/me or /consent/residents/{id} request is about."""
    if "resident" in request.path_params:  # an official (the gate checked the admin right)
        rid = request.path_params["resident"]
        return Resident(rid, None, _caller_id(request))
    security = request.app.state.auth.security
    if not security.enabled:
        raise Unauthorized("/consent/me needs authentication (auth = true); without it, the town office "
                           "answers for a resident under /consent/residents/{resident}")
    principal = await security.identifier.principal(request.headers)
    if principal.kind == "anonymous":
        raise Unauthorized("sign in as the resident (a bearer token whose subject is your resident id)")
    return Resident(principal.id, principal, principal.id)


def _own_record(request: Request, resident: Resident) -> dict:
    record = _service(request).records.get(_tenant(request), request.path_params["consent"])
    if record is None or record["subject"] != resident.id:
        raise ResourceNotFound(f"no consent {request.path_params['consent']} of {resident.id}")
    return record


# -- consents -------------------------------------------------------------------------------------

async def consents(request: Request) -> Response:
    resident, service, tenant = await _resident(request), _service(request), _tenant(request)
    if request.method == "GET":
        return _json(service.records.of_subject(tenant, resident.id))
    body = await _body(request)
    method = "Toshi consent API (resident)" if resident.principal is not None else "town office"
    record = _checked(service.records.grant, tenant, resident.id, body, resident.by, method)
    service.audited(resident.by, tenant, "consent grant", record["id"], detail={"subject": resident.id})
    base = str(request.url.path).rstrip("/")
    return _json(record, 201, {"Location": f"{base}/{record['id']}"})


async def bulk_grant(request: Request) -> Response:
    """POST /consent/grants {"residents": [ids], "recipient", "purpose", "categories", ...}: the town
    office records the same consent for each resident (their choices gathered on paper, say), in one
    transaction; each resident gets a record and signed receipt of their own, and each grant its own
    audit record. 201 {"granted": n, "consents": [{"subject", "id"}]}; 400 and nothing recorded when
    anything is malformed."""
    service, tenant = _service(request), _tenant(request)
    body = await _body(request, MAX_BULK_BODY)
    residents = body.pop("residents", None)
    by = _caller_id(request)
    records = _checked(service.records.grant_many, tenant, residents, body, by, "town office")
    service.audit.append([{"principal": by, "tenant": tenant, "operation": "consent grant", "target": r["id"],
                           "request_id": None, "outcome": "ok", "detail": {"subject": r["subject"], "bulk": True}}
                          for r in records])
    return _json({"granted": len(records), "consents": [{"subject": r["subject"], "id": r["id"]} for r in records]},
                 201)


async def consent(request: Request) -> Response:
    resident, service, tenant = await _resident(request), _service(request), _tenant(request)
    record = _own_record(request, resident)
    if request.method == "DELETE":
        service.records.revoke(tenant, record["id"], resident.by)
        service.audited(resident.by, tenant, "consent revoke", record["id"], detail={"subject": resident.id})
        return Response(status_code=204)
    return _json(record)


async def receipt(request: Request) -> Response:
    resident, service = await _resident(request), _service(request)
    record = _own_record(request, resident)
    return _json(service.records.history(_tenant(request), record["id"])[-1])


async def history(request: Request) -> Response:
    resident, service = await _resident(request), _service(request)
    record = _own_record(request, resident)
    return _json(service.records.history(_tenant(request), record["id"]))


# -- transparency and my data ---------------------------------------------------------------------

async def access_log(request: Request) -> Response:
    resident, (after, limit) = await _resident(request), _paging(request)
    return _json(_service(request).log.of_subject(_tenant(request), resident.id, after, limit))


async def export(request: Request) -> Response:
    resident, service, tenant = await _resident(request), _service(request), _tenant(request)
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "csv"):
        raise BadRequestData("format is json or csv")
    reader = resident.principal or mydata._Subject(resident.id)
    data = await mydata.export(service, request.app.state.toshi.store, tenant, reader, resident.id)
    if resident.principal is None:
        service.audited(resident.by, tenant, "personal data export", resident.id)
    if fmt == "csv":
        return Response(mydata.export_csv(data), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="my-data.csv"'})
    return _json(data, headers={"Content-Disposition": 'attachment; filename="my-data.json"'})


async def erasure(request: Request) -> Response:
    resident, tenant = await _resident(request), _tenant(request)
    requests = mydata.ErasureRequests(request.app.state.toshi.store)
    if request.method == "GET":
        return _json(requests.of(tenant, resident.id))
    reason = (await _body(request)).get("reason")
    if reason is not None and not isinstance(reason, str):
        raise BadRequestData("reason must be a string")
    doc = requests.request(tenant, resident.id, reason)
    _service(request).audited(resident.by, tenant, "erasure request", resident.id, detail={"request": doc["id"]})
    return _json(doc, 202, {"Location": f"{request.url.path.rstrip('/')}/{doc['id']}"})


async def erasure_request(request: Request) -> Response:
    resident, tenant = await _resident(request), _tenant(request)
    if request.method == "GET":
        doc = mydata.ErasureRequests(request.app.state.toshi.store).get(tenant, request.path_params["request"])
        if doc is None or doc["subject"] != resident.id:
            raise ResourceNotFound(f"no erasure request {request.path_params['request']} of {resident.id}")
        return _json(doc)
    if resident.principal is not None:
        raise NgsiError("only a town official decides an erasure request", status=403, title="Forbidden")
    doc = await mydata.decide(_service(request), request.app.state.toshi, tenant, resident.id,
                              request.path_params["request"], await _body(request), resident.by)
    return _json(doc)


# -- service providers ----------------------------------------------------------------------------

async def held(request: Request) -> Response:
    return _json(_service(request).records.of_recipient(_tenant(request), _caller_id(request)))


async def held_access_log(request: Request) -> Response:
    after, limit = _paging(request)
    return _json(_service(request).log.of_reader(_tenant(request), _caller_id(request), after, limit))


# -- declarations ---------------------------------------------------------------------------------

async def declarations(request: Request) -> Response:
    service, tenant = _service(request), _tenant(request)
    if request.method == "GET":
        return _json(service.declarations.list(tenant))
    body = await _body(request)
    if body.get("id") and service.declarations.get(tenant, body["id"]) is not None:
        raise NgsiError(f"declaration {body['id']} exists (PUT it to replace it)", status=409, title="Already exists")
    declared = _checked(service.declarations.put, tenant, body)
    service.audited(_caller_id(request), tenant, "personal-data declare", declared["id"], detail=declared)
    return _json(declared, 201, {"Location": f"{PREFIX}/declarations/{declared['id']}"})


async def declaration(request: Request) -> Response:
    service, tenant, did = _service(request), _tenant(request), request.path_params["declaration"]
    if request.method == "GET":
        found = service.declarations.get(tenant, did)
        if found is None:
            raise ResourceNotFound(f"no declaration {did}")
        return _json(found)
    if request.method == "DELETE":
        if not service.declarations.remove(tenant, did):
            raise ResourceNotFound(f"no declaration {did}")
        service.audited(_caller_id(request), tenant, "personal-data remove", did)
        return Response(status_code=204)
    declared = _checked(service.declarations.put, tenant, {**await _body(request), "id": did})
    service.audited(_caller_id(request), tenant, "personal-data declare", did, detail=declared)
    return _json(declared)


def _resident_routes(base: str) -> list[Route]:
    return [
        Route(f"{base}/consents", consents, methods=["GET", "POST"]),
        Route(f"{base}/consents/{{consent}}", consent, methods=["GET", "DELETE"]),
        Route(f"{base}/consents/{{consent}}/receipt", receipt, methods=["GET"]),
        Route(f"{base}/consents/{{consent}}/history", history, methods=["GET"]),
        Route(f"{base}/access-log", access_log, methods=["GET"]),
        Route(f"{base}/export", export, methods=["GET"]),
        Route(f"{base}/erasure", erasure, methods=["GET", "POST"]),
        Route(f"{base}/erasure/{{request}}", erasure_request, methods=["GET", "POST"]),
    ]


def routes() -> list[Route]:
    return [
        *_resident_routes(f"{PREFIX}/me"),
        *_resident_routes(f"{PREFIX}/residents/{{resident}}"),
        Route(f"{PREFIX}/grants", bulk_grant, methods=["POST"]),
        Route(f"{PREFIX}/held", held, methods=["GET"]),
        Route(f"{PREFIX}/held/access-log", held_access_log, methods=["GET"]),
        Route(f"{PREFIX}/declarations", declarations, methods=["GET", "POST"]),
        Route(f"{PREFIX}/declarations/{{declaration}}", declaration, methods=["GET", "PUT", "DELETE"]),
    ]
