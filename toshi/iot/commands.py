"""Commands (downlink). A device's command attribute written through any API (NGSI-v2, NGSI-LD) is
sent to the device: published on `/<apikey>/<device_id>/cmd` (MQTT devices), POSTed to the device's
`endpoint` (HTTP push) or kept until the device polls (`getCmd=1`). `<cmd>_status` goes PENDING,
then OK with the result in `<cmd>_info`, DELIVERED when polled, ERROR (`EXPIRED`) when the device
does not answer within `iot_command_timeout`.

The trigger is a Writer listener, so a command is only sent once its write has committed, whichever
API wrote it. Pending commands live in memory: after a restart their status stays as it was."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson

from toshi.core import entity as ops
from toshi.core.outbound import OutboundRefused, outbound_policy
from toshi.core.times import now_iso
from toshi.iot import errors
from toshi.iot.ingest import sniff_kind
from toshi.iot.provision import INFO_TYPE, STATUS_TYPE, commands_of, group_for
from toshi.jsonld.context import core_context
from toshi.ngsiv2 import FORBIDDEN, main_instance, parse_attribute

log = logging.getLogger("toshi.iot")
EXPIRED = "EXPIRED"


def command_payload(device: dict, name: str, value: Any, kind: str) -> bytes:
    """`<device_id>@<cmd>|<value>` (params as `k=v|k=v`) in UltraLight, `{"<cmd>": value}` in JSON."""
    if kind == "json":
        return orjson.dumps({name: value})
    if isinstance(value, dict):
        text = "|".join(f"{k}={_ul_text(v)}" for k, v in value.items())
    else:
        text = _ul_text(value)
    return f"{device['device_id']}@{name}|{text}".encode()


def _ul_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def parse_results(payload: bytes, kind: str) -> dict[str, Any]:
    """{command: result} of a command-result message (`dev@cmd|result#...` or `{"cmd": result}`)."""
    if kind == "json":
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise errors.bad_payload("the command result is not valid JSON") from None
        if not isinstance(data, dict) or not data:
            raise errors.bad_payload("a JSON command result is an object {command: result}")
        return data
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise errors.bad_payload("command result is not UTF-8") from None
    results = {}
    for part in filter(None, (p.strip() for p in text.split("#"))):
        head, sep, result = part.partition("|")
        if "@" not in head or not sep:
            raise errors.bad_payload(f"a command result is <device>@<command>|<result>, not {part[:64]!r}")
        results[head.split("@", 1)[1]] = result
    if not results:
        raise errors.bad_payload("empty command result")
    return results


class Commands:
    def __init__(self, services, registry, publish=None):
        self.services, self.registry = services, registry
        self.publish = publish  # async (topic, payload) -> None, when an MQTT broker is configured
        self.timeout = services.settings.iot_command_timeout
        self._index: dict[tuple[str, str], dict] = {}
        self._index_version = -1
        self._to_send: list[tuple[dict, str, Any]] = []
        self._polled: dict[tuple, dict[str, Any]] = {}   # device key -> {command: value} waiting for getCmd
        self._timers: dict[tuple, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task] = set()
        services.store.on_commit.append(self._after_commit)

    # -- trigger ----------------------------------------------------------------------------------

    def on_changes(self, tx, changes) -> None:
        """Writer listener: remember every command attribute the write changed (sent after COMMIT;
        anything still here from an earlier transaction was rolled back)."""
        self._to_send = []
        if self.registry.version != self._index_version:
            self._rebuild_index()
        if not self._index:
            return
        for change in changes:
            device = self._index.get((change.tenant, change.entity_id))
            if device is None or change.after is None or change.before is None:
                continue
            for name, key in device["_commands"].items():
                after = change.after["attrs"].get(key)
                if after and after != change.before["attrs"].get(key):
                    self._to_send.append((device, name, main_instance(after).get("value")))

    def _rebuild_index(self) -> None:
        ctx = core_context()
        index = {}
        for device in self.registry.all_devices():
            commands = commands_of(device, group_for(device, self.registry))
            if commands:
                device["_commands"] = {c["name"]: ctx.expand_term(c["name"]) for c in commands}
                index[(device["service"], device["entity_name"])] = device
        self._index, self._index_version = index, self.registry.version

    def _after_commit(self) -> None:
        if self._to_send:
            batch, self._to_send = self._to_send, []
            for device, name, value in batch:
                self._spawn(self.send(device, name, value))

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- sending ----------------------------------------------------------------------------------

    async def send(self, device: dict, name: str, value: Any) -> None:
        group = group_for(device, self.registry)
        kind = sniff_kind(device, b"")
        self._count(device, "sent")
        await self.set_status(device, name, "PENDING")
        if device.get("endpoint"):
            await self._push(device, name, value, kind)
            return
        transport = device.get("transport") or (group or {}).get("transport")
        if self.publish is not None and transport != "HTTP":
            self._arm_timer(device, name)
            await self.publish(f"/{device.get('apikey', '')}/{device['device_id']}/cmd",
                               command_payload(device, name, value, kind))
        else:
            self._polled.setdefault(_key(device), {})[name] = value
            self._arm_timer(device, name)

    async def _push(self, device: dict, name: str, value: Any, kind: str) -> None:
        import aiohttp  # here, not at import (start-up time)

        timeout = aiohttp.ClientTimeout(total=self.services.settings.notify_timeout)
        content_type = "application/json" if kind == "json" else "text/plain"
        policy = outbound_policy(self.services.settings)
        try:
            await policy.check(device["endpoint"])
            connector = aiohttp.TCPConnector(resolver=policy.aiohttp_resolver())
            async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session, session.post(
                    device["endpoint"], data=command_payload(device, name, value, kind),
                    headers={"Content-Type": content_type}, allow_redirects=False) as response:
                body = await response.read()
                if response.status >= 300:
                    raise errors.IotError(502, "COMMAND_ERROR", f"the device answered {response.status}")
            result = parse_results(body, kind).get(name, "") if body.strip() else ""
            await self.set_status(device, name, "OK", result)
        except (TimeoutError, aiohttp.ClientError, errors.IotError, OutboundRefused) as exc:
            self._count(device, "error")
            await self.set_status(device, name, "ERROR", str(exc) or type(exc).__name__)

    def poll(self, device: dict) -> bytes:
        """The commands waiting for a polling device, as a `#`-separated payload; DELIVERED."""
        waiting = self._polled.pop(_key(device), {})
        kind = sniff_kind(device, b"")
        for name in waiting:
            self._spawn(self.set_status(device, name, "DELIVERED"))
        if kind == "json":
            return orjson.dumps(waiting) if waiting else b""
        return b"#".join(command_payload(device, n, v, kind) for n, v in waiting.items())

    # -- results ----------------------------------------------------------------------------------

    async def results(self, device: dict, payload: bytes, kind: str) -> None:
        """A device's answer (`/cmdexe`, or a command result posted over HTTP)."""
        known = {c["name"] for c in commands_of(device, group_for(device, self.registry))}
        for name, result in parse_results(payload, kind).items():
            if name not in known:
                raise errors.wrong_syntax(f"{name} is not a command of device {device['device_id']}")
            timer = self._timers.pop((_key(device), name), None)
            if timer is not None:
                timer.cancel()
            self._count(device, "ok")
            await self.set_status(device, name, "OK", result)

    def _arm_timer(self, device: dict, name: str) -> None:
        key = (_key(device), name)
        if key in self._timers:
            self._timers.pop(key).cancel()
        self._timers[key] = asyncio.get_running_loop().call_later(
            self.timeout, lambda: self._spawn(self._expire(device, name)))

    async def _expire(self, device: dict, name: str) -> None:
        self._timers.pop((_key(device), name), None)
        self._polled.get(_key(device), {}).pop(name, None)
        self._count(device, "expired")
        await self.set_status(device, name, "ERROR", EXPIRED)

    async def set_status(self, device: dict, name: str, status: str, info: Any = None) -> None:
        ctx, now = core_context(), now_iso()
        attrs = {ctx.expand_term(name + "_status"): [parse_attribute({"type": STATUS_TYPE, "value": status},
                                                                      ctx, now)]}
        if info is not None:
            attrs[ctx.expand_term(name + "_info")] = [parse_attribute({"type": INFO_TYPE, "value": _safe(info)},
                                                                      ctx, now)]

        def edit(before):
            if before is None:
                return None  # the entity went away meanwhile: nothing to report on
            return ops.append(before, {"attrs": attrs}, now, entity_id=device["entity_name"])[0]
        await self.services.writer.apply(device["service"], [(device["entity_name"], edit)])

    def _count(self, device: dict, what: str) -> None:
        counters = self.registry.counters(device)
        counters.setdefault("commands", {"sent": 0, "ok": 0, "error": 0, "expired": 0})[what] += 1

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _safe(info: Any) -> Any:
    """A result as an NGSI-v2 value: the characters Orion forbids in values are dropped."""
    if isinstance(info, str):
        return "".join(c for c in info if c not in FORBIDDEN)[:1024]
    return info


def _key(device: dict) -> tuple:
    return device["service"], device["service_path"], device["device_id"]
