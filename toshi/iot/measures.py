"""Southbound payloads -> attribute instances: UltraLight 2.0 and JSON parsing, the mapping of
measures by object_id, type conversion and expressions (docs/iot.md)."""

from __future__ import annotations

import math
from typing import Any

from toshi.core.errors import NgsiError
from toshi.core.times import is_datetime
from toshi.iot.errors import bad_payload, bad_timestamp
from toshi.iot.expression import ExpressionError, evaluate
from toshi.ngsiv2 import check_attr_name, infer_type, parse_attribute

TIME_INSTANT = "TimeInstant"
MAX_GROUPS = 100
MAX_MEASURES = 200


class Rejected(ValueError):
    """One measure that could not be used; `reason` is the counter it goes to."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


# -- payloads -------------------------------------------------------------------------------------

def parse_ul(body: bytes) -> list[tuple[str | None, dict[str, str]]]:
    """UL 2.0 `[timestamp|]k|v|k|v#...` -> [(timestamp or None, {object_id: text})]."""
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise bad_payload("UltraLight payload is not UTF-8") from None
    if not text:
        raise bad_payload("empty UltraLight payload")
    groups = [g.strip() for g in text.split("#")]
    if len(groups) > MAX_GROUPS:
        raise bad_payload(f"more than {MAX_GROUPS} measure groups")
    parsed = []
    for group in groups:
        if not group:
            raise bad_payload("empty measure group")
        fields = [f.strip() for f in group.split("|")]
        timestamp = None
        if len(fields) % 2 == 1:
            timestamp, fields = fields[0], fields[1:]
            if not is_datetime(timestamp):
                raise bad_timestamp(timestamp)
        if not fields:
            raise bad_payload(f"no measures in group {group!r}")
        measures = {}
        for key, value in zip(fields[::2], fields[1::2]):
            if not key:
                raise bad_payload(f"empty measure name in group {group!r}")
            measures[key] = value
        parsed.append((timestamp, measures))
    return parsed


def parse_json(data: Any) -> list[tuple[str | None, dict[str, Any]]]:
    """A JSON object of measures, or an array of them; a `TimeInstant` measure is the timestamp."""
    items = data if isinstance(data, list) else [data]
    if not items or len(items) > MAX_GROUPS:
        raise bad_payload(f"a JSON payload is an object of measures or an array of 1 to {MAX_GROUPS} of them")
    parsed = []
    for item in items:
        if not isinstance(item, dict) or not item:
            raise bad_payload("each JSON measure group must be a non-empty object")
        measures = dict(item)
        timestamp = measures.pop(TIME_INSTANT, None)
        if timestamp is not None and not is_datetime(timestamp):
            raise bad_timestamp(str(timestamp))
        parsed.append((timestamp, measures))
    return parsed


# -- mapping --------------------------------------------------------------------------------------

def attribute_map(group: dict | None, device: dict) -> dict[str, dict]:
    """object_id -> attribute definition; the device's definitions override the group's."""
    mapping: dict[str, dict] = {}
    for source in ((group or {}).get("attributes") or [], device.get("attributes") or []):
        for attr in source:
            mapping[attr.get("object_id") or attr["name"]] = attr
    return mapping


def convert(value: Any, attr_type: str) -> Any:
    """A measure value as the attribute type wants it, else Rejected('type')."""
    try:
        if attr_type in ("Number", "Float", "Integer"):
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str):
                value = float(value.strip()) if any(c in value for c in ".eE") or attr_type == "Float" \
                    else int(value.strip())
            if not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
                raise ValueError
            if attr_type == "Float":
                return float(value)
            if attr_type == "Integer":
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                return int(value)
            return value
        if attr_type == "Boolean":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1"):
                return True
            if text in ("false", "0"):
                return False
            raise ValueError
        if attr_type == "Text":
            if isinstance(value, (dict, list)) or value is None:
                raise ValueError
            return value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
        if attr_type == "DateTime":
            if not is_datetime(value):
                raise ValueError
            return value
        if attr_type == "geo:point":
            if isinstance(value, list) and len(value) == 2:
                value = f"{value[0]},{value[1]}"
            if not isinstance(value, str):
                raise ValueError
            return value
    except (ValueError, TypeError, OverflowError):
        raise Rejected("type", f"value {str(value)[:64]!r} is not a {attr_type}") from None
    return value


def build_attrs(groups, mapping: dict[str, dict], *, explicit: bool, ctx, now: str,
                counters: dict, timestamp_attr: bool = True) -> list[tuple[str, dict[str, list[dict]]]]:
    """Each measure group -> (observedAt, {expanded name: [instance]}), counting every measure."""
    out = []
    for timestamp, measures in groups:
        observed = timestamp or now
        attrs: dict[str, list[dict]] = {}
        names = {d.get("name"): v for oid, d in mapping.items() if (v := measures.get(oid)) is not None}
        variables = {**measures, **names}
        for object_id, raw in measures.items():
            counters["received"] += 1
            try:
                name, inst = _instance(object_id, raw, mapping.get(object_id), variables, explicit, ctx, now,
                                       observed)
            except Rejected as exc:
                counters["rejected"][exc.reason] = counters["rejected"].get(exc.reason, 0) + 1
                continue
            if inst is None:
                counters["rejected"]["notProvisioned"] = counters["rejected"].get("notProvisioned", 0) + 1
                continue
            attrs[ctx.expand_term(name)] = [inst]
            counters["accepted"] += 1
        if attrs and timestamp_attr:
            attrs[ctx.expand_term(TIME_INSTANT)] = [parse_attribute(
                {"type": "DateTime", "value": observed}, ctx, now)]
        out.append((observed, attrs))
    return out


def _instance(object_id, raw, definition, variables, explicit, ctx, now, observed):
    if definition is None:
        if explicit:
            return object_id, None
        name, attr_type = object_id, "Text" if isinstance(raw, str) else infer_type(raw)
    else:
        name, attr_type = definition["name"], definition.get("type") or "Text"
        if definition.get("expression"):
            try:
                raw = evaluate(definition["expression"], variables)
            except ExpressionError as exc:
                raise Rejected("expression", str(exc)) from None
    value = convert(raw, attr_type) if definition is not None or isinstance(raw, str) else raw
    try:
        check_attr_name(name)
        inst = parse_attribute({"type": attr_type, "value": value,
                                "metadata": {TIME_INSTANT: {"type": "DateTime", "value": observed}}}, ctx, now)
    except NgsiError as exc:
        raise Rejected("value", str(exc)) from None
    return name, inst
