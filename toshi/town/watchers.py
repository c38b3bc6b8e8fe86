"""Watch-over (見守り) in the demo town: who is watched, their devices, and their day.

Set-up, as the town office would (administrator's key, public APIs only): the watch-over types are
declared as personal data (toshi.watchover.DECLARATIONS), each watched resident gets a beacon
(`WatchBeacon`), a home sensor (`HomeSensor`) and an enrolment naming a family member as watcher,
and their consent is recorded twice (to the service `toshi-watchover` and to the family member, for
purpose `watch-over`). The watched are drawn from the town's seed: a share of the residents aged 75 or
more. The world: during the day the beacons pass the readers near home (now and then one farther
away, outside the district), home sensors see movement; a few people go quiet in the late morning and
one has a fall in the afternoon — the service's alerts follow. Devices report through the IoT agent
in UltraLight with the simulated time as the measure's timestamp (the server runs watch-over with
`watchover_clock = "devices"`)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from toshi.town import loader
from toshi.town.entities import place_id, urn
from toshi.town.generate import Town
from toshi.town.roads import metres
from toshi.watchover import DECLARATIONS, PURPOSE, SERVICE_ID

WATCHED_SHARE = 0.08          # of residents aged 75+
QUIET_MINUTES = 120
PASSES_PER_HOUR = 0.7         # beacon passes of a watched person out and about (07–19 h)
MOVES_PER_HOUR = 4.0          # home-sensor movements (06–22 h): a motion sensor sees someone at home often
FAR_PASS_SHARE = 0.03         # passes at a reader in the other district (an excursion)
QUIET_FROM_HOUR = 10.0        # a few people show no sign of life from then on
QUIET_PEOPLE = 2
FALL_HOUR = 14.0
CONSENT = ["personal", "location", "sensitive"]


@dataclass(frozen=True)
class Watched:
    resident: str      # entity id
    watcher: str       # the family member's resident id
    home: tuple[float, float]
    district: str
    number: int


def watched(town: Town) -> list[Watched]:
    rng = random.Random(town.seed * 104_729)
    adults = [r for r in town.residents if 30 <= r.age < 65]
    chosen = []
    for r in town.residents:
        if r.age >= 75 and rng.random() < WATCHED_SHARE and adults:
            family = next((a for a in (rng.choice(adults) for _ in range(5)) if a.household != r.household),
                          adults[0])
            chosen.append(Watched(urn("Resident", r.id), urn("Resident", family.id), town.graph.position[r.node],
                                  r.district, len(chosen) + 1))
    return chosen


def beacon_id(w: Watched) -> str:
    return urn("WatchBeacon", f"wb-{w.number:04d}")


def sensor_id(w: Watched) -> str:
    return urn("HomeSensor", f"hs-{w.number:04d}")


def _area(town: Town, district: str) -> dict:
    west, south, east, north = town.district(district)["bbox"]
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north],
                                                [west, south]]]}


def entities(town: Town, people: list[Watched]) -> list[dict]:
    out = []
    for w in people:
        rel = lambda target: {"type": "Relationship", "object": target}  # noqa: E731
        out.append({"id": beacon_id(w), "type": "WatchBeacon", "wearer": rel(w.resident)})
        out.append({"id": sensor_id(w), "type": "HomeSensor", "resident": rel(w.resident),
                    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": list(w.home)}}})
        out.append({"id": urn("WatchOverEnrolment", f"we-{w.number:04d}"), "type": "WatchOverEnrolment",
                    "watched": rel(w.resident), "watcher": {"type": "Property", "value": w.watcher},
                    "beacon": rel(beacon_id(w)), "homeSensor": rel(sensor_id(w)),
                    "area": {"type": "GeoProperty", "value": _area(town, w.district)},
                    "quietMinutes": {"type": "Property", "value": QUIET_MINUTES},
                    "status": {"type": "Property", "value": "active"}})
    return out


async def set_up(admin, town: Town, checkpoint=None) -> int:
    """Declarations, the watched people's devices and enrolments, and their consents; returns how many.
    Runs again after an interruption without doubling anything: the consents are granted to those
    who do not hold them yet (asked of the server only when `checkpoint` says the step was begun)."""
    checkpoint = checkpoint or loader.Checkpoint({})
    resuming = checkpoint.begin("watchover")
    for declaration in DECLARATIONS:
        await admin.call("PUT", f"/consent/declarations/{declaration['id']}", declaration)
    await admin.call("POST", "/admin/auth/policies", {
        "id": "town-watchover-alerts", "effect": "allow", "principals": ["authenticated"], "actions": ["read"],
        "tenant": "default", "types": ["WatchOverAlert"]}, ok=(201, 409))  # the consent layer decides whose
    await admin.call("POST", "/admin/auth/policies", {
        "id": "town-watchover-status", "effect": "allow", "principals": ["*"], "actions": ["read"],
        "tenant": "default", "types": ["WatchOverService"]}, ok=(201, 409))  # counts only: open data
    people = watched(town)
    await admin.upsert(entities(town, people))
    ids = [w.resident for w in people]
    # to the service: one bulk grant per thousand residents
    await loader.grant_missing(admin, ids, SERVICE_ID, PURPOSE, CONSENT, resuming=resuming, step="watchover")
    for w in people:  # to each one's family member
        if resuming and await loader.holders(admin, [w.resident], w.watcher, PURPOSE):
            continue
        await admin.call("POST", f"/consent/residents/{w.resident}/consents",
                         {"recipient": w.watcher, "purpose": PURPOSE, "categories": CONSENT}, ok=(201,))
        loader.reached("watchover:family")
    checkpoint.finish("watchover")
    return len(people)


class WatchWorld:
    """The watched people's day, seen by their devices (called by the simulator on each step)."""

    MAPPINGS = {"beacon": [{"object_id": "p", "name": "location", "type": "geo:point"},
                           {"object_id": "r", "name": "reader", "type": "Text"},
                           {"object_id": "f", "name": "fall", "type": "Boolean"}],
                "home": [{"object_id": "m", "name": "motion", "type": "Boolean"},
                         {"object_id": "f", "name": "fall", "type": "Boolean"}]}

    def __init__(self, town: Town, prefix: str):
        self.town, self.people = town, watched(town)
        self.rng = random.Random(town.seed * 15_485_863)
        self.apikey = f"{prefix}-watch"
        self.readers = [p for p in town.places if p["kind"] == "beacon"]
        self.quiet = {w.resident for w in self.people[:QUIET_PEOPLE]}
        self.faller = self.people[QUIET_PEOPLE].resident if len(self.people) > QUIET_PEOPLE else None
        self.fallen = False
        self.sent = 0

    def devices(self) -> list[dict]:
        out = []
        for w in self.people:
            for kind, entity_id, entity_type in (("beacon", beacon_id(w), "WatchBeacon"),
                                                 ("home", sensor_id(w), "HomeSensor")):
                out.append({"device_id": f"{kind}-{w.number:04d}", "entity_name": entity_id, "entity_type": entity_type,
                            "apikey": self.apikey, "protocol": "IoTA-UL", "transport": "HTTP",
                            "explicitAttrs": True, "attributes": self.MAPPINGS[kind]})
        return out

    async def provision(self, admin) -> None:
        iot = {"Fiware-Service": "", "Fiware-ServicePath": "/"}
        await admin.call("POST", "/iot/services", {"services": [{"apikey": self.apikey, "resource": "/iot/d",
                                                                 "entity_type": "WatchBeacon"}]},
                         headers=iot, ok=(201, 409))
        devices = self.devices()
        for i in range(0, len(devices), 100):
            await admin.call("POST", "/iot/devices", {"devices": devices[i:i + 100]}, headers=iot, ok=(201, 409))

    def events(self, now: datetime, dt: timedelta) -> list[tuple[str, str]]:
        """(device id, UltraLight payload stamped with the simulated time) for what happened in
        (now - dt, now], in time order: events of a Poisson process at their own instants, so a long
        step (a busy machine, a high speed-up) makes no false quiet spells."""
        timed = []
        for w in self.people:
            quiet = w.resident in self.quiet
            for moment in self._instants(PASSES_PER_HOUR, now, dt, 7, 19):
                if not (quiet and _hour(moment) >= QUIET_FROM_HOUR):
                    reader = self._reader(w)
                    timed.append((moment, f"beacon-{w.number:04d}",
                                  f"|p|{reader['lat']},{reader['lon']}|r|{place_id(reader)}|f|false"))
            for moment in self._instants(MOVES_PER_HOUR, now, dt, 6, 22):
                if not (quiet and _hour(moment) >= QUIET_FROM_HOUR):
                    timed.append((moment, f"home-{w.number:04d}", "|m|true|f|false"))
        if self.faller and not self.fallen and _hour(now) >= FALL_HOUR:
            self.fallen = True
            number = next(w.number for w in self.people if w.resident == self.faller)
            timed.append((now, f"home-{number:04d}", "|m|true|f|true"))
        timed.sort(key=lambda item: item[0])
        return [(device, _stamp(moment) + measures) for moment, device, measures in timed]

    def _instants(self, per_hour: float, now: datetime, dt: timedelta, from_hour: float, to_hour: float):
        seconds, t = dt.total_seconds(), 0.0
        while True:
            t += self.rng.expovariate(per_hour / 3600)
            if t > seconds:
                return
            moment = now - dt + timedelta(seconds=t)
            if from_hour <= _hour(moment) < to_hour:
                yield moment

    def _reader(self, w: Watched) -> dict:
        if self.rng.random() < FAR_PASS_SHARE:
            far = [r for r in self.readers if r["district"] != w.district]
            if far:
                return self.rng.choice(far)
        return min(self.readers, key=lambda r: metres(w.home, (r["lon"], r["lat"])))

    async def step(self, admin, now: datetime, dt: timedelta) -> None:
        for device, payload in self.events(now, dt):
            response = await admin.http.post("/iot/d", params={"k": self.apikey, "i": device}, content=payload,
                                             headers={"Content-Type": "text/plain"})
            self.sent += 1
            if response.status_code >= 300:
                raise RuntimeError(f"watch device {device}: {response.status_code} {response.text[:200]}")


def _hour(moment: datetime) -> float:
    return moment.hour + moment.minute / 60 + moment.second / 3600


def _stamp(moment: datetime) -> str:
    text = moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S%z")
    return f"{text[:-2]}:{text[-2:]}"
