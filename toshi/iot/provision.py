"""Provisioning documents (service groups, devices): their validation, the device's defaults taken
from its group, and the device's entity (static attributes, command attributes)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from toshi.core import entity as ops
from toshi.core.errors import NgsiError
from toshi.core.times import now_iso
from toshi.iot.errors import IotError, wrong_syntax
from toshi.iot.expression import ExpressionError, compile_expression, evaluate
from toshi.jsonld.context import core_context
from toshi.ngsiv2 import check_attr_name, check_name, parse_attribute

DEVICE_FIELDS = ("device_id", "entity_name", "entity_type", "protocol", "transport", "timezone",
                 "timestamp", "attributes", "lazy", "commands", "static_attributes",
                 "internal_attributes", "explicitAttrs", "apikey", "endpoint", "polling")
COMMAND_TYPE, STATUS_TYPE, INFO_TYPE = "command", "commandStatus", "commandResult"


def check_attributes(doc: dict, what: str) -> None:
    for key in ("attributes", "lazy", "commands", "static_attributes"):
        items = doc.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise wrong_syntax(f"{what}.{key} must be an array")
        for attr in items:
            _check_attribute(attr, key, what)


def _check_attribute(attr: Any, key: str, what: str) -> None:
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
        static_instance(attr, core_context(), now_iso())


def check_strings(doc: dict, names: tuple[str, ...], what: str) -> None:
    for name in names:
        if name in doc and doc[name] is not None and not (isinstance(doc[name], str) and doc[name]):
            raise wrong_syntax(f"{what}.{name} must be a non-empty string")


def static_instance(attr: dict, ctx, now: str) -> dict:
    raw = {"type": attr.get("type") or "Text", "value": attr.get("value")}
    if attr.get("metadata") is not None:
        raw["metadata"] = attr["metadata"]
    try:
        return parse_attribute(raw, ctx, now)
    except NgsiError as exc:
        raise wrong_syntax(f"static attribute {attr.get('name')}: {exc}") from None


def device_doc(item: Any, tenant: str, subservice: str, registry) -> dict:
    """A device as stored: the fields given, its tenant and service path, defaults from its group."""
    if not isinstance(item, dict):
        raise wrong_syntax("each device must be an object")
    if not isinstance(item.get("device_id"), str) or not item["device_id"]:
        raise IotError(400, "MISSING_CONFIG_PARAMS",
                       'The following mandatory configuration parameters were missing: ["device_id"]')
    check_strings(item, ("entity_name", "entity_type", "protocol", "transport", "timezone", "apikey",
                         "endpoint"), "device")
    check_attributes(item, "device")
    if item.get("transport") is not None and item["transport"] not in ("MQTT", "HTTP"):
        raise wrong_syntax("device.transport must be MQTT or HTTP")
    check_timezone(item, "device")
    device = {k: item[k] for k in DEVICE_FIELDS if k in item}
    device.update(service=tenant, service_path=subservice)
    group = group_for(device, registry)
    if not device.get("entity_type"):
        device["entity_type"] = (group or {}).get("entity_type") or "Thing"
    if not device.get("entity_name"):
        device["entity_name"] = _entity_name(device, group)
    if group and not device.get("apikey"):
        device["apikey"] = group["apikey"]
    try:
        check_name(device["entity_name"], "entity id")
        check_name(device["entity_type"], "entity type")
    except NgsiError as exc:
        raise wrong_syntax(str(exc)) from None
    return device


def _entity_name(device: dict, group: dict | None) -> str:
    """`<type>:<device_id>`, or the group's `entityNameExp` over id, type, service and subservice."""
    expression = (group or {}).get("entityNameExp")
    if not expression:
        return f"{device['entity_type']}:{device['device_id']}"
    variables = {"id": device["device_id"], "type": device["entity_type"], "service": device["service"],
                 "subservice": device["service_path"]}
    try:
        return str(evaluate(expression, variables))
    except ExpressionError as exc:
        raise wrong_syntax(f"entityNameExp of the group gave no name: {exc}") from None


def check_timezone(doc: dict, what: str) -> None:
    name = doc.get("timezone")
    if name is None:
        return
    try:
        ZoneInfo(name)
    except (ValueError, TypeError, ZoneInfoNotFoundError):
        raise wrong_syntax(f"{what}.timezone must be an IANA time zone such as Asia/Tokyo") from None


def check_group(doc: dict) -> None:
    """The members of a service group that need more than a type check."""
    check_strings(doc, ("entity_type", "entityNameExp"), "service")
    check_attributes(doc, "service")
    check_timezone(doc, "service")
    if doc.get("entityNameExp") is not None:
        try:
            compile_expression(doc["entityNameExp"])
        except ExpressionError as exc:
            raise IotError(400, "INVALID_EXPRESSION", f"Invalid entityNameExp [{exc}]") from None


def group_for(device: dict, registry) -> dict | None:
    """The service group a device belongs to: its apikey's, else the only one of its service path."""
    groups = registry.groups(device["service"], device["service_path"])
    if device.get("apikey"):
        return next((g for g in groups if g["apikey"] == device["apikey"]), None)
    return groups[0] if len(groups) == 1 else None


def commands_of(device: dict, group: dict | None) -> list[dict]:
    """The device's commands and its group's (the device's win on a name clash)."""
    merged = {c["name"]: c for c in (group or {}).get("commands") or []}
    merged.update({c["name"]: c for c in device.get("commands") or []})
    return list(merged.values())


async def ensure_entities(services, registry, devices: list[dict]) -> None:
    """Create (or complete) each device's entity in one Writer call per tenant: static attributes
    are (re)written; command attributes are added when missing, so a pending command's status stays."""
    ctx, now = core_context(), now_iso()
    by_tenant: dict[str, list] = {}
    for device in devices:
        group = group_for(device, registry)
        statics = [*((group or {}).get("static_attributes") or []), *(device.get("static_attributes") or [])]
        parsed = entity_fragment(device, ctx, {a["name"]: static_instance(a, ctx, now) for a in statics})
        commands = {}
        for command in commands_of(device, group):
            for name, kind, value in ((command["name"], COMMAND_TYPE, ""),
                                      (command["name"] + "_status", STATUS_TYPE, "UNKNOWN"),
                                      (command["name"] + "_info", INFO_TYPE, "")):
                commands[ctx.expand_term(name)] = [parse_attribute({"type": kind, "value": value}, ctx, now)]
        by_tenant.setdefault(device["service"], []).append(
            (device["entity_name"], upsert_edit(parsed, now, keep=commands)))
    for tenant, edits in by_tenant.items():
        for outcome in await services.writer.apply(tenant, edits):
            if outcome.error is not None:
                raise entity_error(outcome.entity_id, outcome.error)


def entity_fragment(device: dict, ctx, attrs: dict[str, dict]) -> dict:
    """A device's entity id, type and scope with the given attributes (by short name)."""
    parsed = {"id": device["entity_name"], "type": [ctx.expand_term(device["entity_type"])],
              "attrs": {ctx.expand_term(name): [inst] for name, inst in attrs.items()}}
    if device["service_path"] != "/":
        parsed["scope"] = [device["service_path"]]
    return parsed


def upsert_edit(parsed: dict, now: str, keep: dict | None = None):
    """Create the entity, or write the fragment's attributes into it; `keep` attributes are only
    added where missing."""
    def edit(before):
        if before is None:
            return ops.new_entity({**parsed, "attrs": {**(keep or {}), **parsed["attrs"]}}, now)
        after = before
        if parsed["attrs"]:
            after = ops.append(after, {"attrs": parsed["attrs"]}, now, entity_id=parsed["id"])[0]
        if keep and any(name not in after["attrs"] for name in keep):
            after = ops.append(after, {"attrs": keep}, now, overwrite=False, entity_id=parsed["id"])[0]
        return after
    return edit


def entity_error(entity_id: str, error: Exception) -> IotError:
    status = getattr(error, "status", 500)
    return IotError(status if 400 <= status < 600 else 500, "ENTITY_GENERIC_ERROR",
                    f"Error accesing entity data for device: {entity_id}: {error}")

