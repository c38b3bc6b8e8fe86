"""The demo's world: a day with a storm, at a chosen speed-up, seen through the town's devices.

It plays what is outside Toshi and talks to it only as devices and people would:
* sensors publish through the built-in IoT agent (provisioned with /iot/services and /iot/devices):
  river levels and rain in UltraLight and solar output in JSON over MQTT (or over HTTP when no broker
  is reachable), bus positions in JSON and shelter people-counters in UltraLight over HTTP;
* the disaster HQ issues an evacuation order for a district when one of its rivers reaches the
  danger level (and opens the district's shelters), and lifts it when the rivers fall below alert;
* people walk to the shelter their guidance names and check in (their guidance turns `arrived`),
  and some residents who get no guidance walk in to the nearest shelter; the counters count both.
The clock, the storm and every draw come from the town's seed: the same run gives the same day."""

from __future__ import annotations

import asyncio
import logging
import math
import random
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from toshi.town.client import Api
from toshi.town.entities import place_id, urn
from toshi.town.generate import Town
from toshi.town.roads import metres

log = logging.getLogger("toshi.town.simulator")
JST = timezone(timedelta(hours=9))
STORM_PEAK_HOUR = 12.0
STORM_WIDTH_HOURS = 1.8
PEAK_RAIN = 70.0          # mm/h
RIVER_LAG_HOURS = 1.5     # the river follows the rain smoothed over this time constant
BUS_KMH = 25.0
WALK_IN_SHARE = 0.15      # of the residents without guidance, who go to a shelter on their own
DEPARTURE_MINUTES = 30    # people leave home within this long after the order


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Device:
    place: dict
    kind: str          # river, rain, solar, bus, counter
    device_id: str
    apikey: str
    transport: str     # MQTT or HTTP
    protocol: str      # IoTA-UL or IoTA-JSON


class Simulator:
    def __init__(self, admin: Api, town: Town, *, speed: float = 60.0, start: datetime | None = None,
                 apikey_prefix: str = "town", mqtt_host: str | None = "127.0.0.1", mqtt_port: int = 1883,
                 tick_seconds: float = 0.5):
        self.admin, self.town, self.speed, self.tick_seconds = admin, town, speed, tick_seconds
        self.start = start or datetime(2026, 7, 3, 6, 0, tzinfo=JST)
        self.now = self.start
        self.rng = random.Random(town.seed * 7919)
        self.prefix = apikey_prefix
        self.mqtt = self._mqtt(mqtt_host, mqtt_port) if mqtt_host else None
        self.devices = self._devices()
        self.smoothed: dict[str, float] = {}
        self.counters: dict[str, int] = {}
        self.orders: dict[str, dict] = {}       # district id -> order in force (or last)
        self.walk_ins: list[tuple[datetime, str]] = []
        self.departures: dict[str, int] = {}
        self.sent = {"mqtt": 0, "http": 0}
        self.arrived = 0
        self.running = True
        self.worlds: list = []  # more of the world, each with provision(admin) and step(admin, now, dt) (watchers.py)

    # -- set-up -----------------------------------------------------------------------------------

    @staticmethod
    def _mqtt(host: str, port: int):
        try:
            socket.create_connection((host, port), timeout=1).close()
        except OSError:
            return None
        import paho.mqtt.client as paho

        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"toshi-town-{random.getrandbits(32):08x}")
        client.connect(host, port)
        client.loop_start()
        return client

    @property
    def southbound(self) -> str:
        return "MQTT and HTTP" if self.mqtt else "HTTP only (no MQTT broker reachable)"

    def _devices(self) -> list[Device]:
        mqtt = "MQTT" if self.mqtt else "HTTP"
        devices = []
        for p in self.town.places:
            kind = p["kind"]
            if kind in ("river", "rain"):
                devices.append(Device(p, kind, f"{kind}-{p['number']:03d}", f"{self.prefix}-{kind}", mqtt, "IoTA-UL"))
            elif kind == "solar":
                devices.append(Device(p, kind, f"solar-{p['number']:03d}", f"{self.prefix}-solar", mqtt, "IoTA-JSON"))
            elif kind == "bus":
                devices.append(Device(p, kind, f"bus-{p['number']:03d}", f"{self.prefix}-bus", "HTTP", "IoTA-JSON"))
            elif kind == "shelter":
                devices.append(Device(p, "counter", f"counter-{p['number']:03d}", f"{self.prefix}-counter", "HTTP",
                                      "IoTA-UL"))
        return devices

    MAPPINGS = {
        "river": [{"object_id": "l", "name": "currentLevel", "type": "Number"}],
        "rain": [{"object_id": "r", "name": "precipitation", "type": "Number"}],
        "solar": [{"object_id": "p", "name": "activePower", "type": "Number"}],
        "bus": [{"object_id": "p", "name": "location", "type": "geo:point"},
                {"object_id": "s", "name": "speed", "type": "Number"}],
        "counter": [{"object_id": "c", "name": "evacueeTotal", "type": "Integer"}],
    }

    async def provision(self) -> None:
        iot = {"Fiware-Service": "", "Fiware-ServicePath": "/"}
        groups = {}
        for d in self.devices:
            groups[d.apikey] = {"apikey": d.apikey, "resource": "/iot/json" if d.protocol == "IoTA-JSON" else "/iot/d",
                                "entity_type": place_id(d.place).split(":")[2]}
        await self.admin.call("POST", "/iot/services", {"services": list(groups.values())}, headers=iot, ok=(201, 409))
        for d in self.devices:
            entity_id = place_id(d.place)
            device = {"device_id": d.device_id, "entity_name": entity_id, "entity_type": entity_id.split(":")[2],
                      "apikey": d.apikey, "protocol": d.protocol, "transport": d.transport,
                      "timezone": "Asia/Tokyo", "explicitAttrs": True, "attributes": self.MAPPINGS[d.kind]}
            await self.admin.call("POST", "/iot/devices", {"devices": [device]}, headers=iot, ok=(201, 409))
        for world in self.worlds:
            await world.provision(self.admin)

    async def resume(self) -> None:
        """Pick up what Toshi already holds: orders, counters (after a restart of the demo)."""
        for order in await self.admin.entities("EvacuationOrder"):
            district = order.get("districtId")
            if district:
                self.orders[district] = order
        for shelter in await self.admin.entities("EvacuationShelter", attrs="evacueeTotal"):
            self.counters[shelter["id"]] = int(shelter.get("evacueeTotal") or 0)

    # -- the weather --------------------------------------------------------------------------------

    def hour(self) -> float:
        return self.now.hour + self.now.minute / 60 + self.now.second / 3600

    def rain(self, place: dict) -> float:
        factor = 0.8 + 0.3 * ((place["number"] * 37) % 10) / 10
        storm = PEAK_RAIN * factor * math.exp(-((self.hour() - STORM_PEAK_HOUR) / STORM_WIDTH_HOURS) ** 2)
        return round(max(0.0, storm + self.rng.uniform(-1.0, 1.0) * min(3.0, storm / 10)), 1)

    def river(self, place: dict, dt_hours: float) -> float:
        gauges = [p for p in self.town.places if p["kind"] == "rain"]
        nearest = min(gauges, key=lambda g: metres((g["lon"], g["lat"]), (place["lon"], place["lat"])))
        key = place_id(place)
        smoothed = self.smoothed.get(key, 0.0)
        smoothed += (self.rain(nearest) - smoothed) * min(1.0, dt_hours / RIVER_LAG_HOURS)
        self.smoothed[key] = smoothed
        gain = (place["danger"] * 1.2 - place["base"]) / (PEAK_RAIN * 0.7)
        return round(place["base"] + gain * smoothed, 2)

    def solar(self, place: dict) -> float:
        daylight = max(0.0, math.sin(math.pi * (self.hour() - 5) / 14))
        clouds = 1 - min(0.9, self.rain(place) / 40)
        return round(place["peakPower"] * daylight * clouds, 2)

    def bus_position(self, place: dict) -> tuple[float, float]:
        stops = {p["near"]: p["node"] for p in self.town.places if p["kind"] == "busStop"}
        route = [stops[name] for name in place["stops"]]
        nodes = []
        for a, b in zip(route + route[-2::-1], route[1:] + route[-2::-1][1:] + [route[0]]):
            nodes.extend(self.town.graph.path(a, b)[:-1])
        points = [self.town.graph.position[n] for n in nodes] or [(place["lon"], place["lat"])]
        lengths = [metres(points[i], points[(i + 1) % len(points)]) for i in range(len(points))]
        travelled = ((self.now - self.start).total_seconds() / 3600 * BUS_KMH * 1000) % max(1.0, sum(lengths))
        for i, length in enumerate(lengths):
            if travelled <= length:
                a, b = points[i], points[(i + 1) % len(points)]
                share = travelled / length if length else 0
                return round(a[0] + (b[0] - a[0]) * share, 6), round(a[1] + (b[1] - a[1]) * share, 6)
            travelled -= length
        return points[0]

    # -- sending ----------------------------------------------------------------------------------

    async def send(self, device: Device, measures: dict) -> None:
        if device.protocol == "IoTA-UL":
            payload = "|".join(f"{k}|{v}" for k, v in measures.items())
        else:
            import orjson

            payload = orjson.dumps(measures).decode()
        if device.transport == "MQTT" and self.mqtt is not None:
            prefix = "ul" if device.protocol == "IoTA-UL" else "json"
            self.mqtt.publish(f"/{prefix}/{device.apikey}/{device.device_id}/attrs", payload, qos=1)
            self.sent["mqtt"] += 1
            return
        path = "/iot/d" if device.protocol == "IoTA-UL" else "/iot/json"
        response = await self.admin.http.post(path, params={"k": device.apikey, "i": device.device_id},
                                              content=payload, headers={"Content-Type": "text/plain"
                                                                        if device.protocol == "IoTA-UL"
                                                                        else "application/json"})
        if response.status_code >= 300:
            log.warning("device %s: %s %s", device.device_id, response.status_code, response.text[:200])
        self.sent["http"] += 1

    async def publish_sensors(self, dt_hours: float) -> None:
        sends = []
        for d in self.devices:
            if d.kind == "river":
                sends.append(self.send(d, {"l": self.river(d.place, dt_hours)}))
            elif d.kind == "rain":
                sends.append(self.send(d, {"r": self.rain(d.place)}))
            elif d.kind == "solar":
                sends.append(self.send(d, {"p": self.solar(d.place)}))
            elif d.kind == "bus":
                lon, lat = self.bus_position(d.place)
                sends.append(self.send(d, {"p": f"{lat},{lon}", "s": BUS_KMH}))
        await asyncio.gather(*sends)

    async def count(self, shelter_id: str, more: int) -> None:
        self.counters[shelter_id] = self.counters.get(shelter_id, 0) + more
        device = next(d for d in self.devices if d.kind == "counter" and place_id(d.place) == shelter_id)
        await self.send(device, {"c": self.counters[shelter_id]})

    # -- the HQ -----------------------------------------------------------------------------------

    def levels(self, district: str) -> list[tuple[float, dict]]:
        return [(self.river_level(p), p) for p in self.town.places if p["kind"] == "river" and p["district"] == district]

    def river_level(self, place: dict) -> float:
        gain = (place["danger"] * 1.2 - place["base"]) / (PEAK_RAIN * 0.7)
        return place["base"] + gain * self.smoothed.get(place_id(place), 0.0)

    async def decide(self) -> None:
        for district in self.town.data["districts"]:
            levels = self.levels(district["id"])
            order = self.orders.get(district["id"])
            in_force = order is not None and order.get("status") == "issued"
            if not in_force and any(level >= p["danger"] for level, p in levels):
                await self.issue(district)
            elif in_force and all(level < p["alert"] for level, p in levels):
                await self.lift(district["id"])

    async def issue(self, district: dict) -> None:
        shelters = [p for p in self.town.places if p["kind"] == "shelter" and p["district"] == district["id"]]
        for s in shelters:
            await self.admin.patch_attrs(place_id(s), {"openingStatus": {"type": "Property", "value": "open"}})
        number = sum(1 for o in self.orders.values() if o["districtId"] == district["id"]) + 1
        order = {"id": urn("EvacuationOrder", f"{district['id']}-{self.now:%Y%m%d}-{number}"), "type": "EvacuationOrder",
                 "category": "避難指示", "alertLevel": 4, "hazard": "flood", "targetDistricts": [district["name"]],
                 "districtId": district["id"], "status": "issued", "issuedAt": iso(self.now),
                 "content": f"{district['name']}地区に避難指示（警戒レベル4）。河川の水位が氾濫危険水位に達しました。"}
        await self.admin.create({k: v if k in ("id", "type") else {"type": "Property", "value": v}
                                 for k, v in order.items()})
        self.orders[district["id"]] = order
        log.info("%s: evacuation order for %s", iso(self.now), district["name"])
        self._schedule_walk_ins(district["id"])

    async def lift(self, district_id: str) -> None:
        order = self.orders[district_id]
        order.update(status="lifted", liftedAt=iso(self.now))
        await self.admin.upsert([{"id": order["id"], "type": "EvacuationOrder",
                                  "status": {"type": "Property", "value": "lifted"},
                                  "liftedAt": {"type": "Property", "value": iso(self.now)}}])

    def _schedule_walk_ins(self, district: str) -> None:
        """Residents who get no guidance (no consent): some go to the nearest shelter on their own."""
        shelters = [p for p in self.town.places if p["kind"] == "shelter" and p["district"] == district and p.get("flood")]
        if not shelters:
            return
        for r in self.town.residents:
            if r.district == district and "evacuation-guidance" not in r.consents and self.rng.random() < WALK_IN_SHARE:
                home = self.town.graph.position[r.node]
                nearest = min(shelters, key=lambda s: metres(home, (s["lon"], s["lat"])))
                when = self.now + timedelta(minutes=self.rng.uniform(10, 180))
                self.walk_ins.append((when, place_id(nearest)))

    # -- people -----------------------------------------------------------------------------------

    async def move_people(self) -> None:
        arrivals: dict[str, int] = {}
        due = [w for w in self.walk_ins if w[0] <= self.now]
        self.walk_ins = [w for w in self.walk_ins if w[0] > self.now]
        for _, shelter in due:
            arrivals[shelter] = arrivals.get(shelter, 0) + 1
        checked_in = []
        for guidance in await self.admin.entities("EvacuationGuidance", q='status=="guided"',
                                                  attrs="shelter,walkingMinutes,guidedAt"):
            leave = self.departures.setdefault(guidance["id"], self.rng.randrange(DEPARTURE_MINUTES))
            started = datetime.fromisoformat(guidance["guidedAt"].replace("Z", "+00:00"))
            if started + timedelta(minutes=leave + guidance["walkingMinutes"]) <= self.now:
                checked_in.append({"id": guidance["id"], "type": "EvacuationGuidance",
                                   "status": {"type": "Property", "value": "arrived"},
                                   "arrivedAt": {"type": "Property", "value": iso(self.now)}})
                arrivals[guidance["shelter"]] = arrivals.get(guidance["shelter"], 0) + 1
        if checked_in:
            await self.admin.upsert(checked_in)
            self.arrived += len(checked_in)
        for shelter, more in arrivals.items():
            await self.count(shelter, more)

    # -- the loop ---------------------------------------------------------------------------------

    async def step(self, real_seconds: float) -> None:
        dt = timedelta(seconds=real_seconds * self.speed)
        self.now += dt
        await self.publish_sensors(dt.total_seconds() / 3600)
        await self.decide()
        await self.move_people()
        for world in self.worlds:
            await world.step(self.admin, self.now, dt)

    async def run(self, until: datetime | None = None) -> None:
        last = time.monotonic()
        while self.running and (until is None or self.now < until):
            await asyncio.sleep(self.tick_seconds)
            now = time.monotonic()
            await self.step(now - last)
            last = now

    def stop(self) -> None:
        self.running = False
        if self.mqtt is not None:
            self.mqtt.loop_stop()
            self.mqtt.disconnect()

