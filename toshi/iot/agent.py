"""The built-in IoT agent: the southbound (HTTP always, MQTT when a broker is configured) and the
commands, started and stopped with the app. `request.app.state.iot` is the running agent."""

from __future__ import annotations

import asyncio
import uuid

from toshi.core.errors import NgsiError
from toshi.iot.commands import Commands
from toshi.iot.errors import IotError
from toshi.iot.ingest import Southbound, check_outcomes, sniff_kind
from toshi.iot.mqtt import MqttTransport, Topic
from toshi.iot.registry import registry_of


class IotAgent:
    def __init__(self, services):
        settings = services.settings
        self.services = services
        self.registry = registry_of(services)
        self.southbound = Southbound(services)
        self.mqtt = None
        if settings.iot_mqtt_url:
            self.mqtt = MqttTransport(settings.iot_mqtt_url, settings.iot_mqtt_client_id, self.on_mqtt_batch,
                                      settings.iot_mqtt_ca_file, permanent_errors=(IotError, NgsiError))
        self.commands = Commands(services, self.registry, self.mqtt.publish if self.mqtt else None)
        self._intake_watch: asyncio.Task | None = None
        self.refused: dict[str, int] = {}  # MQTT messages refused before a device was known, by error name

    async def start(self) -> None:
        if self.mqtt is not None:
            if self.services.settings.workers > 1:
                await self._start_as_one_of_several()
            else:
                await self.mqtt.start()

    async def _start_as_one_of_several(self) -> None:
        """Several workers: one of them (the holder of the `iot-mqtt` lock) takes the measures, with
        the configured client id and its persistent session; the others connect only to publish
        commands, and one of them takes over the intake when the holder dies."""
        intake_id = self.mqtt.client_id
        self.mqtt.intake, self.mqtt.client_id = False, f"{intake_id}-{uuid.uuid4().hex[:8]}"
        await self.mqtt.start()
        self._intake_watch = asyncio.create_task(self._take_intake_when_free(intake_id))

    async def _take_intake_when_free(self, intake_id: str) -> None:
        while not self.services.store.leader("iot-mqtt"):
            await asyncio.sleep(1.0)
        await self.mqtt.stop()
        self.mqtt.intake, self.mqtt.client_id = True, intake_id
        await self.mqtt.start()

    async def stop(self) -> None:
        if self._intake_watch is not None:
            self._intake_watch.cancel()
        if self.mqtt is not None:
            await self.mqtt.stop()
        await self.commands.stop()

    async def on_mqtt_batch(self, items: list[tuple[Topic | None, bytes]]) -> list[Exception | None]:
        """The messages of a batch: measures of known devices become one Writer call per tenant
        (one transaction); the rest (autoprovisioning, command results) go one by one."""
        results: list[Exception | None] = [None] * len(items)
        by_tenant: dict[str, list[tuple[int, dict, list]]] = {}
        one_by_one = []
        for i, (topic, payload) in enumerate(items):
            if topic is None:
                results[i] = IotError(400, "BAD_TOPIC", "not an IoT agent topic")
                continue
            found = self.southbound.known_device(topic.apikey, topic.device_id, "")
            if found is None or topic.channel == "cmdexe":
                one_by_one.append(i)
                continue
            device, group = found
            try:
                edits = self.southbound.edits(device, group, payload, topic.kind or sniff_kind(device, payload),
                                              topic.attr)
            except IotError as exc:
                results[i] = exc
                continue
            by_tenant.setdefault(device["service"], []).append((i, device, edits))
        await asyncio.gather(*(self._write(tenant, entries, results) for tenant, entries in by_tenant.items()))
        for i in one_by_one:
            try:
                await self.on_mqtt_message(*items[i])
            except (IotError, NgsiError) as exc:
                results[i] = exc
        return results

    async def _write(self, tenant: str, entries: list[tuple[int, dict, list]], results: list) -> None:
        outcomes = await self.southbound.services.writer.apply(tenant, [e for _, _, edits in entries for e in edits])
        at = 0
        for i, device, edits in entries:
            try:
                check_outcomes(device, outcomes[at:at + len(edits)])
            except IotError as exc:
                results[i] = exc
            at += len(edits)

    async def on_mqtt_message(self, topic: Topic, payload: bytes) -> None:
        try:
            device, group = await self.southbound.device(topic.apikey, topic.device_id, resource="",
                                                         kind=topic.kind, transport="MQTT")
        except IotError as exc:
            self.refused[exc.name] = self.refused.get(exc.name, 0) + 1
            raise
        kind = topic.kind or sniff_kind(device, payload)
        if topic.channel == "cmdexe":
            await self.commands.results(device, payload, kind)
        else:
            await self.southbound.measures(device, group, payload, kind, topic.attr)

    def status(self) -> dict:
        mqtt = None
        if self.mqtt is not None:
            mqtt = {"broker": f"{self.mqtt.host}:{self.mqtt.port}", "connected": self.mqtt.connected,
                    **self.mqtt.stats}
        return {"mqtt": mqtt, "refused": self.refused, "devices": self.registry.device_count(),
                "rateLimit": {"perSecond": self.southbound.limiter.rate, "burst": self.southbound.limiter.burst}}
