"""The IoT Agent HTTP API: provisioning (north, /iot/services, /iot/devices, /iot/about) and the
HTTP southbound (/iot/d UltraLight 2.0, /iot/json JSON). See docs/iot.md."""

from __future__ import annotations

import functools
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi import __version__
from toshi.core.access import current_guard
from toshi.core.errors import NgsiError
from toshi.iot import errors
from toshi.iot.errors import IotError, wrong_syntax
from toshi.iot.provision import DEVICE_FIELDS, check_group, device_doc, ensure_entities
from toshi.iot.registry import registry_of
from toshi.ngsiv2 import SERVICE, SERVICE_PATH, tenant_of, write_scope

MAX_BODY = 1_000_000
GROUP_FIELDS = ("apikey", "resource", "entity_type", "cbroker", "trust", "timezone", "timestamp",
                "attributes", "lazy", "commands", "static_attributes", "internal_attributes",
                "explicitAttrs", "autoprovision", "entityNameExp", "description", "transport", "protocol")


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def iot_errors(handler):
    """IoT Agent error bodies for everything raised below (NGSI errors of shared code included)."""
    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except IotError as exc:
            return _json(exc.body(), exc.status)
        except NgsiError as exc:
            status = exc.status if 400 <= exc.status < 500 else 500
            name = "BAD_REQUEST" if status == 400 else "ENTITY_GENERIC_ERROR"
            return _json({"name": name, "message": str(exc)}, status)
    return wrapper


def _headers(request: Request) -> tuple[str, str]:
    """(tenant, service path) of a provisioning request; both headers are mandatory, as in the agent."""
    missing = [h for h in (SERVICE, SERVICE_PATH) if request.headers.get(h) is None]
    if missing:
        raise errors.missing_headers(", ".join(missing))
    tenant = tenant_of(request)
    scope = write_scope(request)
    return tenant, scope[0] if scope else "/"


async def _body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise IotError(413, "PAYLOAD_TOO_LARGE", "Request body too large")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise wrong_syntax("the body is not valid JSON") from None


def _registry(request: Request):
    return registry_of(request.app.state.toshi)


def _paging(request: Request) -> tuple[int, int]:
    try:
        limit = int(request.query_params.get("limit", 20))
        offset = int(request.query_params.get("offset", 0))
    except ValueError:
        raise wrong_syntax("limit and offset must be integers") from None
    if limit < 0 or offset < 0:
        raise wrong_syntax("limit and offset must not be negative")
    return limit, offset


# -- service groups -------------------------------------------------------------------------------

@iot_errors
async def services_collection(request: Request) -> Response:
    tenant, subservice = _headers(request)
    registry = _registry(request)
    if request.method == "GET":
        limit, offset = _paging(request)
        groups = registry.groups(tenant, subservice)
        return _json({"count": len(groups), "services": groups[offset:offset + limit]})
    if request.method == "POST":
        body = await _body(request)
        if not isinstance(body, dict) or not isinstance(body.get("services"), list) or not body["services"]:
            raise wrong_syntax('the body must be {"services": [...]} with at least one service')
        new = []
        for item in body["services"]:
            if not isinstance(item, dict):
                raise wrong_syntax("each service must be an object")
            for key in ("apikey", "resource"):
                if not isinstance(item.get(key), str) or not item[key]:
                    raise IotError(400, "MISSING_CONFIG_PARAMS",
                                   f"The following mandatory configuration parameters were missing: [\"{key}\"]")
            check_group(item)
            if registry.group(item["resource"], item["apikey"]) or any(
                    (g["resource"], g["apikey"]) == (item["resource"], item["apikey"]) for g in new):
                raise errors.duplicate_group(item["resource"], item["apikey"])
            group = {k: item[k] for k in GROUP_FIELDS if k in item}
            group.update(service=tenant, subservice=subservice)
            new.append(group)
        for group in new:
            registry.put_group(group)
        return Response(status_code=201)
    resource, apikey = request.query_params.get("resource"), request.query_params.get("apikey")
    if resource is None or apikey is None:
        raise IotError(400, "MISSING_CONFIG_PARAMS",
                       'The following mandatory configuration parameters were missing: ["resource","apikey"]')
    group = registry.group(resource, apikey)
    if group is None or (group["service"], group["subservice"]) != (tenant, subservice):
        raise errors.group_not_found("resource,apikey", f"{resource},{apikey}")
    if request.method == "DELETE":
        registry.delete_group(resource, apikey)
        return Response(status_code=204)
    body = await _body(request)  # PUT: the members given replace the stored ones
    if not isinstance(body, dict):
        raise wrong_syntax("the body must be an object")
    if ("apikey" in body and body["apikey"] != apikey) or ("resource" in body and body["resource"] != resource):
        raise wrong_syntax("apikey and resource of a service cannot be changed")
    check_group(body)
    group.update({k: body[k] for k in GROUP_FIELDS if k in body})
    registry.put_group(group)
    return Response(status_code=204)


# -- devices --------------------------------------------------------------------------------------

def _with_counters(device: dict, registry) -> dict:
    counters = registry.counters(device)
    return {**device, "lastSeen": counters["lastSeen"],
            "measures": {k: counters[k] for k in ("received", "accepted", "rejected", "commands") if k in counters}}


@iot_errors
async def devices_collection(request: Request) -> Response:
    tenant, subservice = _headers(request)
    registry = _registry(request)
    if request.method == "GET":
        limit, offset = _paging(request)
        devices = registry.devices(tenant, subservice)
        return _json({"count": len(devices), "devices": devices[offset:offset + limit]})
    body = await _body(request)
    if not isinstance(body, dict) or not isinstance(body.get("devices"), list) or not body["devices"]:
        raise wrong_syntax('the body must be {"devices": [...]} with at least one device')
    new = [device_doc(item, tenant, subservice, registry) for item in body["devices"]]
    seen = set()
    for device in new:
        if device["device_id"] in seen or registry.device(tenant, subservice, device["device_id"]):
            raise errors.duplicate_device(device["device_id"])
        seen.add(device["device_id"])
    await ensure_entities(request.app.state.toshi, registry, new)
    for device in new:
        registry.put_device(device)
    return Response(status_code=201)


@iot_errors
async def device_item(request: Request) -> Response:
    tenant, subservice = _headers(request)
    registry = _registry(request)
    device_id = request.path_params["device_id"]
    device = registry.device(tenant, subservice, device_id)
    if device is None:
        raise errors.device_not_found(device_id)
    if request.method == "GET":
        return _json(_with_counters(device, registry))
    if request.method == "DELETE":
        registry.delete_device(tenant, subservice, device_id)
        return Response(status_code=204)
    body = await _body(request)
    if not isinstance(body, dict):
        raise wrong_syntax("the body must be an object")
    if "device_id" in body and body["device_id"] != device_id:
        raise wrong_syntax("device_id cannot be changed")
    merged = {**device, **{k: body[k] for k in DEVICE_FIELDS if k in body}}
    updated = device_doc(merged, tenant, subservice, registry)
    if "static_attributes" in body or updated["entity_name"] != device["entity_name"]:
        await ensure_entities(request.app.state.toshi, registry, [updated])
    registry.put_device(updated)
    return Response(status_code=204)


async def about(request: Request) -> Response:
    return _json({"libVersion": "toshi-" + __version__, "port": request.url.port, "baseRoot": "/",
                  "version": __version__})


# -- southbound -----------------------------------------------------------------------------------

def _southbound(kind: str):
    resource = "/iot/d" if kind == "ul" else "/iot/json"

    @iot_errors
    async def measures(request: Request) -> Response:
        apikey, device_id = request.query_params.get("k"), request.query_params.get("i")
        if not apikey or not device_id:
            raise errors.missing_headers("the query parameters k (apikey) and i (device id) are mandatory")
        agent = request.app.state.iot.agent
        device, group = await agent.southbound.device(apikey, device_id, resource=resource, kind=kind,
                                                      transport="HTTP")
        payload = await request.body() if request.method == "POST" else \
            request.query_params.get("d", "").encode()
        polling = request.query_params.get("getCmd") == "1"
        if payload.strip() or not polling:
            token = current_guard.set(None)  # a device is known by its apikey, as over MQTT, not the gate's caller
            try:
                await agent.southbound.measures(device, group, payload, kind)
            finally:
                current_guard.reset(token)
        else:
            agent.southbound.admit(device)
        if polling:
            return Response(agent.commands.poll(device), media_type="text/plain" if kind == "ul"
                            else "application/json")
        return Response(status_code=200)

    return measures


@iot_errors
async def command_result(request: Request) -> Response:
    """POST /iot/d/cmdexe?k=&i= (and /iot/json/cmdexe): a polling device's command results."""
    kind = "json" if request.url.path.startswith("/iot/json") else "ul"
    apikey, device_id = request.query_params.get("k"), request.query_params.get("i")
    if not apikey or not device_id:
        raise errors.missing_headers("the query parameters k (apikey) and i (device id) are mandatory")
    agent = request.app.state.iot.agent
    device, _ = await agent.southbound.device(apikey, device_id, resource=request.url.path[:-len("/cmdexe")],
                                              kind=kind, transport="HTTP")
    agent.southbound.admit(device)
    await agent.commands.results(device, await request.body(), kind)
    return Response(status_code=200)


async def status(request: Request) -> Response:
    return _json(request.app.state.iot.agent.status())


def routes() -> list[Route]:
    return [
        Route("/iot/about", about, methods=["GET"]),
        Route("/iot/services", services_collection, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/iot/devices", devices_collection, methods=["GET", "POST"]),
        Route("/iot/devices/{device_id}", device_item, methods=["GET", "PUT", "DELETE"]),
        Route("/iot/d", _southbound("ul"), methods=["GET", "POST"]),
        Route("/iot/json", _southbound("json"), methods=["POST"]),
        Route("/iot/d/cmdexe", command_result, methods=["POST"]),
        Route("/iot/json/cmdexe", command_result, methods=["POST"]),
        Route("/admin/iot/status", status, methods=["GET"]),
    ]
