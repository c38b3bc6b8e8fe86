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
from toshi.core import entity as ops
from toshi.core.entity import now_iso
from toshi.core.errors import NgsiError
from toshi.iot import errors
from toshi.iot.errors import IotError, wrong_syntax
from toshi.iot.expression import ExpressionError, compile_expression
from toshi.iot.measures import attribute_map, build_attrs, parse_json, parse_ul
from toshi.iot.registry import registry_of
from toshi.jsonld.context import core_context
from toshi.ngsiv2.headers import SERVICE, SERVICE_PATH, tenant_of, write_scope
from toshi.ngsiv2.mapping import check_attr_name, check_name, parse_attribute

MAX_BODY = 1_000_000
GROUP_FIELDS = ("apikey", "resource", "entity_type", "cbroker", "trust", "timezone", "timestamp",
                "attributes", "lazy", "commands", "static_attributes", "internal_attributes",
                "explicitAttrs", "autoprovision", "entityNameExp", "description", "transport", "protocol")
DEVICE_FIELDS = ("device_id", "entity_name", "entity_type", "protocol", "transport", "timezone",
                 "timestamp", "attributes", "lazy", "commands", "static_attributes",
                 "internal_attributes", "explicitAttrs", "apikey", "endpoint", "polling")


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


# -- validation -----------------------------------------------------------------------------------

def _check_attributes(doc: dict, what: str) -> None:
    for key in ("attributes", "lazy", "commands", "static_attributes"):
        items = doc.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise wrong_syntax(f"{what}.{key} must be an array")
        for attr in items:
            if not isinstance(attr, dict) or not isinstance(attr.get("name"), str):
                raise wrong_syntax(f"each item of {what}.{key} needs a name")
            try:
                check_attr_name(attr["name"])
                if attr.get("type") is not None:
                    check_name(attr["type"], "attribute type")
            except NgsiError as exc:
                raise wrong_syntax(str(exc)) from None
            if "object_id" in attr and not (isinstance(attr["object_id"], str) and attr["object_id"]):
                raise wrong_syntax(f"object_id of {attr['name']} must be a non-empty string")
            if attr.get("expression") is not None:
                try:
                    compile_expression(attr["expression"])
                except ExpressionError as exc:
                    raise IotError(400, "INVALID_EXPRESSION", f"Invalid expression in evaluation [{exc}]") from None
            if key == "static_attributes":
                _static_instance(attr, core_context(), now_iso())


def _check_strings(doc: dict, names: tuple[str, ...], what: str) -> None:
    for name in names:
        if name in doc and doc[name] is not None and not (isinstance(doc[name], str) and doc[name]):
            raise wrong_syntax(f"{what}.{name} must be a non-empty string")


def _static_instance(attr: dict, ctx, now: str) -> dict:
    raw = {"type": attr.get("type") or "Text", "value": attr.get("value")}
    if attr.get("metadata") is not None:
        raw["metadata"] = attr["metadata"]
    try:
        return parse_attribute(raw, ctx, now)
    except NgsiError as exc:
        raise wrong_syntax(f"static attribute {attr.get('name')}: {exc}") from None


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
            _check_strings(item, ("entity_type",), "service")
            _check_attributes(item, "service")
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
    _check_strings(body, ("entity_type",), "service")
    _check_attributes(body, "service")
    group.update({k: body[k] for k in GROUP_FIELDS if k in body})
    registry.put_group(group)
    return Response(status_code=204)


# -- devices --------------------------------------------------------------------------------------

def _device_doc(item: Any, tenant: str, subservice: str, registry) -> dict:
    if not isinstance(item, dict):
        raise wrong_syntax("each device must be an object")
    if not isinstance(item.get("device_id"), str) or not item["device_id"]:
        raise IotError(400, "MISSING_CONFIG_PARAMS",
                       'The following mandatory configuration parameters were missing: ["device_id"]')
    _check_strings(item, ("entity_name", "entity_type", "protocol", "transport", "timezone", "apikey"), "device")
    _check_attributes(item, "device")
    device = {k: item[k] for k in DEVICE_FIELDS if k in item}
    device.update(service=tenant, service_path=subservice)
    group = _group_for(device, registry)
    if not device.get("entity_type"):
        device["entity_type"] = (group or {}).get("entity_type") or "Thing"
    if not device.get("entity_name"):
        device["entity_name"] = f"{device['entity_type']}:{device['device_id']}"
    if group and not device.get("apikey"):
        device["apikey"] = group["apikey"]
    try:
        check_name(device["entity_name"], "entity id")
        check_name(device["entity_type"], "entity type")
    except NgsiError as exc:
        raise wrong_syntax(str(exc)) from None
    return device


def _group_for(device: dict, registry) -> dict | None:
    """The service group a device belongs to: its apikey's, else the only one of its service path."""
    groups = registry.groups(device["service"], device["service_path"])
    if device.get("apikey"):
        return next((g for g in groups if g["apikey"] == device["apikey"]), None)
    return groups[0] if len(groups) == 1 else None


async def _ensure_entity(request: Request, devices: list[dict]) -> None:
    """Create (or complete) each device's entity with its static attributes, in one Writer call."""
    ctx, now = core_context(), now_iso()
    registry = _registry(request)
    by_tenant: dict[str, list] = {}
    for device in devices:
        group = _group_for(device, registry)
        statics = [*((group or {}).get("static_attributes") or []), *(device.get("static_attributes") or [])]
        attrs = {ctx.expand_term(a["name"]): [_static_instance(a, ctx, now)] for a in statics}
        parsed = {"id": device["entity_name"], "type": [ctx.expand_term(device["entity_type"])], "attrs": attrs}
        if device["service_path"] != "/":
            parsed["scope"] = [device["service_path"]]
        by_tenant.setdefault(device["service"], []).append((device["entity_name"], _upsert(parsed, now)))
    for tenant, edits in by_tenant.items():
        for outcome in await request.app.state.toshi.writer.apply(tenant, edits):
            if outcome.error is not None:
                raise IotError(outcome.error.status, "ENTITY_GENERIC_ERROR",
                               f"Error accesing entity data for device: {outcome.entity_id}: {outcome.error}")


def _upsert(parsed: dict, now: str):
    def edit(before):
        if before is None:
            return ops.new_entity(parsed, now)
        if not parsed["attrs"]:
            return before
        return ops.append(before, {"attrs": parsed["attrs"]}, now, entity_id=parsed["id"])[0]
    return edit


def _with_counters(device: dict, registry) -> dict:
    counters = registry.counters(device)
    return {**device, "lastSeen": counters["lastSeen"],
            "measures": {k: counters[k] for k in ("received", "accepted", "rejected")}}


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
    new = [_device_doc(item, tenant, subservice, registry) for item in body["devices"]]
    seen = set()
    for device in new:
        if device["device_id"] in seen or registry.device(tenant, subservice, device["device_id"]):
            raise errors.duplicate_device(device["device_id"])
        seen.add(device["device_id"])
    await _ensure_entity(request, new)
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
    updated = _device_doc(merged, tenant, subservice, registry)
    if "static_attributes" in body or updated["entity_name"] != device["entity_name"]:
        await _ensure_entity(request, [updated])
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
        registry = _registry(request)
        group = registry.group_by_apikey(apikey, resource)
        device = None
        if group is not None:
            device = registry.device(group["service"], group["subservice"], device_id)
        if device is None:
            device = registry.device_by_apikey(apikey, device_id)
        if device is None:
            if group is None:
                raise errors.group_not_found("apikey,resource", f"{apikey},{resource}")
            if group.get("autoprovision") is False:
                raise errors.device_not_found(device_id)
            device = _device_doc({"device_id": device_id, "apikey": apikey, "protocol": "IoTA-UL"
                                  if kind == "ul" else "IoTA-JSON", "transport": "HTTP"},
                                 group["service"], group["subservice"], registry)
            await _ensure_entity(request, [device])
            registry.put_device(device)
        counters = registry.counters(device)
        counters["lastSeen"] = now_iso()
        raw = await request.body()
        try:
            if len(raw) > MAX_BODY:
                raise IotError(413, "PAYLOAD_TOO_LARGE", "Request body too large")
            if kind == "ul":
                groups = parse_ul(raw)
            else:
                try:
                    data = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise errors.bad_payload("the body is not valid JSON") from None
                groups = parse_json(data)
        except IotError:
            counters["rejected"]["payload"] = counters["rejected"].get("payload", 0) + 1
            raise
        await _write(request, device, group, groups, counters)
        return Response(status_code=200)

    return measures


async def _write(request: Request, device: dict, group: dict | None, groups, counters: dict) -> None:
    ctx, now = core_context(), now_iso()
    explicit = bool(device.get("explicitAttrs", (group or {}).get("explicitAttrs", False)))
    timestamp_attr = device.get("timestamp", (group or {}).get("timestamp", True)) is not False
    built = build_attrs(groups, attribute_map(group, device), explicit=explicit, ctx=ctx, now=now,
                        counters=counters, timestamp_attr=timestamp_attr)
    parsed = {"id": device["entity_name"], "type": [ctx.expand_term(device["entity_type"])], "attrs": {}}
    if device["service_path"] != "/":
        parsed["scope"] = [device["service_path"]]
    edits = [(device["entity_name"], _upsert({**parsed, "attrs": attrs}, now)) for _, attrs in built if attrs]
    if not edits:
        if counters is not None and any(attrs == {} for _, attrs in built):
            raise wrong_syntax("no measure of the payload could be used (see the device's counters)")
        return
    for outcome in await request.app.state.toshi.writer.apply(device["service"], edits):
        if outcome.error is not None:
            raise IotError(outcome.error.status, "ENTITY_GENERIC_ERROR",
                           f"Error accesing entity data for device: {device['device_id']}: {outcome.error}")


def routes() -> list[Route]:
    return [
        Route("/iot/about", about, methods=["GET"]),
        Route("/iot/services", services_collection, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/iot/devices", devices_collection, methods=["GET", "POST"]),
        Route("/iot/devices/{device_id}", device_item, methods=["GET", "PUT", "DELETE"]),
        Route("/iot/d", _southbound("ul"), methods=["POST"]),
        Route("/iot/json", _southbound("json"), methods=["POST"]),
    ]
