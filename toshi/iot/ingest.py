"""The southbound, whatever the transport: find (or autoprovision) the device of a message, hold
floods back, parse UltraLight or JSON, convert the measures and write them through the Writer.
HTTP (routes.py) and MQTT (mqtt.py) both call `Southbound`."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import orjson

from toshi.core.ratelimit import RateLimiter
from toshi.core.times import local_time, now_iso
from toshi.iot import errors
from toshi.iot.errors import IotError
from toshi.iot.measures import attribute_map, build_attrs, parse_json, parse_ul
from toshi.iot.provision import device_doc, ensure_entities, entity_error, entity_fragment, upsert_edit
from toshi.iot.registry import registry_of
from toshi.jsonld.context import core_context

MAX_MESSAGE = 1_000_000
CACHE_SIZE = 100_000  # provisioned devices remembered by the southbound


class Southbound:
    def __init__(self, services):
        self.services = services
        self.registry = registry_of(services)
        settings = services.settings
        self.limiter = RateLimiter(settings.iot_device_rate, settings.iot_device_burst)
        self._cache: dict[tuple, tuple[dict, dict | None]] = {}
        self._cache_version = -1

    def known_device(self, apikey: str, device_id: str, resource: str) -> tuple[dict, dict | None] | None:
        """(device, group) of a provisioned device, from a cache that provisioning changes clear."""
        if self._cache_version != self.registry.version:
            self._cache, self._cache_version = {}, self.registry.version
        key = (apikey, device_id, resource)
        found = self._cache.get(key)
        if found is None:
            found = self._lookup(apikey, device_id, resource)
            if found is not None:
                if len(self._cache) >= CACHE_SIZE:
                    self._cache.clear()
                self._cache[key] = found
        return found

    def _lookup(self, apikey: str, device_id: str, resource: str) -> tuple[dict, dict | None] | None:
        group = self.registry.group_by_apikey(apikey, resource)
        device = None
        if group is not None:
            device = self.registry.device(group["service"], group["subservice"], device_id)
        if device is None:
            device = self.registry.device_by_apikey(apikey, device_id)
        return (device, group) if device is not None else None

    async def device(self, apikey: str, device_id: str, *, resource: str, kind: str | None,
                     transport: str) -> tuple[dict, dict | None]:
        """(device, group) of a message; an unknown device of a known apikey is autoprovisioned
        unless its group says `"autoprovision": false`."""
        found = self.known_device(apikey, device_id, resource)
        if found is not None:
            return found
        group = self.registry.group_by_apikey(apikey, resource)
        if group is None:
            raise errors.group_not_found("apikey,resource", f"{apikey},{resource}")
        if group.get("autoprovision") is False:
            raise errors.device_not_found(device_id)
        protocol = "IoTA-JSON" if kind == "json" else "IoTA-UL"
        device = device_doc({"device_id": device_id, "apikey": apikey, "protocol": protocol,
                             "transport": transport}, group["service"], group["subservice"], self.registry)
        await ensure_entities(self.services, self.registry, [device])
        self.registry.put_device(device)
        return device, group

    def admit(self, device: dict) -> dict:
        """The device's counters, after checking its rate limit (429 when it sends too much)."""
        counters = self.registry.counters(device)
        counters["lastSeen"] = now_iso()
        key = (device["service"], device["service_path"], device["device_id"])
        if not self.limiter.allow(key):
            _count(counters, "rateLimited")
            raise IotError(429, "TOO_MANY_REQUESTS",
                           f"Device {device['device_id']} sends more than {self.limiter.rate:g} messages/s")
        return counters

    async def measures(self, device: dict, group: dict | None, payload: bytes, kind: str,
                       attr: str | None = None) -> None:
        """Write the measures of one message (`attr`: the single-measure topic `.../attrs/<attr>`)."""
        edits = self.edits(device, group, payload, kind, attr)
        check_outcomes(device, await self.services.writer.apply(device["service"], edits))

    def edits(self, device: dict, group: dict | None, payload: bytes, kind: str,
              attr: str | None = None) -> list[tuple[str, object]]:
        """The Writer edits of one message, one per measure group; IotError when none is usable."""
        counters = self.admit(device)
        try:
            groups = parse_payload(payload, kind, attr)
        except IotError:
            _count(counters, "payload")
            raise
        zone = device.get("timezone") or (group or {}).get("timezone")
        if zone:
            groups = in_time_zone(groups, zone)
        ctx, now = core_context(), now_iso()
        explicit = bool(device.get("explicitAttrs", (group or {}).get("explicitAttrs", False)))
        timestamp_attr = device.get("timestamp", (group or {}).get("timestamp", True)) is not False
        built = build_attrs(groups, attribute_map(group, device), explicit=explicit, ctx=ctx, now=now,
                            counters=counters, timestamp_attr=timestamp_attr)
        parsed = entity_fragment(device, ctx, {})
        edits = [(device["entity_name"], upsert_edit({**parsed, "attrs": attrs}, now)) for _, attrs in built if attrs]
        if not edits:
            raise errors.wrong_syntax("no measure of the payload could be used (see the device's counters)")
        return edits


def check_outcomes(device: dict, outcomes) -> None:
    for outcome in outcomes:
        if outcome.error is not None:
            raise entity_error(device["device_id"], outcome.error)


def in_time_zone(groups: list, zone_name: str) -> list:
    """A device with a `timezone`: timestamps without an offset are its local time, and measures
    without a timestamp are stamped with its local time (with the offset, as the FIWARE agents do)."""
    zone = ZoneInfo(zone_name)
    return [(local_time(timestamp, zone), measures) for timestamp, measures in groups]


def parse_payload(payload: bytes, kind: str, attr: str | None = None) -> list:
    """[(timestamp or None, {object_id: value})] of an UltraLight or JSON message."""
    if len(payload) > MAX_MESSAGE:
        raise IotError(413, "PAYLOAD_TOO_LARGE", "Message too large")
    if attr is not None:
        return [(None, {attr: _single_value(payload, kind)})]
    if kind == "ul":
        return parse_ul(payload)
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise errors.bad_payload("the body is not valid JSON") from None
    return parse_json(data)


def _single_value(payload: bytes, kind: str):
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise errors.bad_payload("the measure is not UTF-8") from None
    if not text:
        raise errors.bad_payload("empty measure")
    if kind == "json":
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    return text


def sniff_kind(device: dict | None, payload: bytes) -> str:
    """UltraLight or JSON for a topic without a /ul or /json prefix: the device's protocol says,
    else the payload's first character."""
    protocol = ((device or {}).get("protocol") or "").upper()
    if "JSON" in protocol:
        return "json"
    if "UL" in protocol or "ULTRALIGHT" in protocol:
        return "ul"
    return "json" if payload.lstrip()[:1] in (b"{", b"[") else "ul"


def _count(counters: dict, reason: str) -> None:
    counters["rejected"][reason] = counters["rejected"].get(reason, 0) + 1

