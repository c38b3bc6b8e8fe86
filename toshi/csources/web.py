"""/ngsi-ld/v1/csourceRegistrations (ETSI GS CIM 009 v1.8 clauses 5.9, 5.10, 6.8, 6.9): register,
update, delete a context source; retrieve one registration; discover registrations."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi.core.errors import AlreadyExists, BadRequestData, OperationNotSupported, ResourceNotFound
from toshi.core.outbound import OutboundRefused, outbound_policy
from toshi.core.times import now_iso, to_ms, utc_datetime
from toshi.csources import model
from toshi.csources.matching import Target, matches
from toshi.csources.store import registrations_of
from toshi.formats import ngsild_http as http
from toshi.formats.ngsild_params import options_of, paging
from toshi.formats.ngsild_parse import check_uri
from toshi.query.geo import parse_geoq
from toshi.query.qparse import parse_q
from toshi.query.regex import compile_pattern
from toshi.query.scope import parse_scope_q

PREFIX = "/ngsi-ld/v1/csourceRegistrations"
OWN_MEMBERS = frozenset({"registrationName", "description", "mode", "endpoint", "tenant"})


def _services(request: Request):
    return request.app.state.toshi


def _registration_id(request: Request) -> str:
    return http.uri_param(request, "registration_id", "Registration id")


def _payload(data) -> dict:
    if not isinstance(data, dict):
        raise BadRequestData("The payload must be a JSON object")
    return {key: value for key, value in data.items() if key != "@context"}


def _check_endpoint(request: Request, registration: dict) -> None:
    """The context source must not be an internal address unless allowed (toshi/core/outbound.py)."""
    try:
        outbound_policy(_services(request).settings).check_literal(registration["endpoint"])
    except OutboundRefused as exc:
        raise BadRequestData(f"endpoint {registration['endpoint']} is refused: {exc}") from None


async def _changed(request: Request, tenant: str, before: dict | None, after: dict | None) -> None:
    """Tell the csourceSubscriptions (toshi/csources/subscriptions.py) about the change."""
    watcher = getattr(request.app.state, "csources", None)
    if watcher is not None:
        await watcher.registration_changed(tenant, before, after)


async def create_registration(request: Request) -> Response:
    tenant = http.tenant_of(request)
    body = await http.read_body(request)
    ctx = await http.context_for(request, body.context, from_link=False)
    registration = model.parse_registration(_payload(body.data), ctx, now_iso())
    _check_endpoint(request, registration)
    registrations = registrations_of(_services(request))
    if registrations.get(tenant, registration["id"]) is not None:
        raise AlreadyExists(f"Registration {registration['id']} already exists")
    model.check_overlap(registration, registrations.active(tenant))
    _services(request).store.ensure_tenant(tenant)
    registrations.put(tenant, registration)
    await _changed(request, tenant, None, registration)
    return Response(status_code=201, headers={"Location": f"{PREFIX}/{registration['id']}"})


async def retrieve_registration(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    registration_id = _registration_id(request)
    media = http.negotiate(request)
    ctx = await http.context_for(request)
    sys_attrs = "sysAttrs" in options_of(request.query_params, {"sysAttrs"})
    found = _existing(request, tenant, registration_id)
    return await http.json_response(request, _rendered(request, tenant, found, ctx, sys_attrs), media=media, ctx=ctx)


def _rendered(request: Request, tenant: str, registration: dict, ctx, sys_attrs: bool) -> dict:
    stats = registrations_of(_services(request)).stats(tenant, registration["id"]).rendered()
    return model.render(registration, ctx, sys_attrs=sys_attrs, statistics=stats)


async def query_registrations(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    media = http.negotiate(request)
    ctx = await http.context_for(request)
    params = request.query_params
    options = options_of(params, {"sysAttrs", "count"})
    limit, offset, count = paging(params, _services(request).settings, count_option="count" in options)
    target = discovery_target(params, ctx)
    found = [r for r in registrations_of(_services(request)).active(tenant) if matches(r, target)]
    body = [_rendered(request, tenant, r, ctx, "sysAttrs" in options) for r in found[offset:offset + limit]]
    headers = {"NGSILD-Results-Count": str(len(found))} if count else {}
    return await http.json_response(request, body, media=media, ctx=ctx, headers=headers)


def _list(params, key: str) -> list[str] | None:
    raw = params.get(key)
    if raw is None:
        return None
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items:
        raise BadRequestData(f"{key} must not be empty")
    return items


def discovery_target(params, ctx) -> Target:
    """The query of GET /csourceRegistrations (and of /csourceSubscriptions' watched registrations)."""
    if params.get("q") is not None:
        raise OperationNotSupported("q on csourceRegistrations is not supported: use attrs, or csf for the "
                                    "registrations' own properties")
    target = Target()
    ids = _list(params, "id")
    if ids is not None:
        target.ids = [check_uri(i, "id") for i in ids]
    if params.get("idPattern") is not None:
        compile_pattern(params["idPattern"])
        target.id_pattern = params["idPattern"]
    types = _list(params, "type")
    if types is not None:
        target.types = {ctx.expand_term(t) for t in types}
    attrs = _list(params, "attrs")
    if attrs is not None:
        target.attrs = {ctx.expand_term(a) for a in attrs}
    if any(params.get(k) is not None for k in ("georel", "geometry", "coordinates")):
        target.geo = parse_geoq(params.get("georel"), params.get("geometry"), params.get("coordinates"),
                                params.get("geoproperty"))
    if params.get("scopeQ") is not None:
        target.scope = parse_scope_q(params["scopeQ"])
    if params.get("csf") is not None:
        target.csf = parse_q(params["csf"], lambda term: term if term in OWN_MEMBERS else ctx.expand_term(term))
    target.interval = _interval_query(params)
    return target


TIME_MEMBERS = ("observationInterval", "managementInterval")


def _interval_query(params) -> tuple[str, int | None, int | None] | None:
    """A temporal query over the registrations' observationInterval (default) or managementInterval
    (`timeproperty`): `timerel` before / after / between `timeAt` [and `endTimeAt`], 4.11."""
    timerel, time_at, end = params.get("timerel"), params.get("timeAt"), params.get("endTimeAt")
    member = params.get("timeproperty")
    if timerel is None:
        if time_at is not None or end is not None or member is not None:
            raise BadRequestData("timeAt, endTimeAt and timeproperty need timerel")
        return None
    member = member or "observationInterval"
    if member not in TIME_MEMBERS:
        raise BadRequestData(f"timeproperty of registrations is {' or '.join(TIME_MEMBERS)}, not {member!r}")
    if timerel not in ("before", "after", "between"):
        raise BadRequestData(f"timerel must be before, after or between, not {timerel!r}")
    if time_at is None:
        raise BadRequestData("timerel needs timeAt")
    start = to_ms(utc_datetime(time_at, "timeAt"))
    if timerel == "between":
        if end is None:
            raise BadRequestData("timerel=between needs endTimeAt")
        until = to_ms(utc_datetime(end, "endTimeAt"))
        if until <= start:
            raise BadRequestData("endTimeAt must be after timeAt")
        return member, start, until
    if end is not None:
        raise BadRequestData("endTimeAt belongs to timerel=between")
    return (member, None, start) if timerel == "before" else (member, start, None)


async def update_registration(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    registration_id = _registration_id(request)
    body = await http.read_body(request, allowed=(http.JSON, http.LD_JSON, http.MERGE_PATCH))
    ctx = await http.context_for(request, body.context, from_link=False)
    existing = _existing(request, tenant, registration_id)
    updated = model.merge_update(existing, _payload(body.data), ctx, now_iso())
    _check_endpoint(request, updated)
    registrations = registrations_of(_services(request))
    model.check_overlap(updated, registrations.active(tenant))
    registrations.put(tenant, updated)
    await _changed(request, tenant, existing, updated)
    return http.no_content()


async def delete_registration(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    registration_id = _registration_id(request)
    existing = _existing(request, tenant, registration_id)
    if not registrations_of(_services(request)).delete(tenant, registration_id):
        raise ResourceNotFound(f"Registration {registration_id} not found")
    await _changed(request, tenant, existing, None)
    return http.no_content()


def _existing(request: Request, tenant: str, registration_id: str) -> dict:
    found = registrations_of(_services(request)).get(tenant, registration_id)
    if found is None:
        raise ResourceNotFound(f"Registration {registration_id} not found")
    return found


def routes() -> list[Route]:
    return [
        Route(PREFIX, query_registrations, methods=["GET"]),
        Route(PREFIX, create_registration, methods=["POST"]),
        Route(PREFIX + "/{registration_id}", retrieve_registration, methods=["GET"]),
        Route(PREFIX + "/{registration_id}", update_registration, methods=["PATCH"]),
        Route(PREFIX + "/{registration_id}", delete_registration, methods=["DELETE"]),
    ]
