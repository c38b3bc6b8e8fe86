"""The on-demand bus (AI オンデマンド交通) in the demo town: its vehicles, its riders and their day.

Set-up, as the town office would (administrator's key, public APIs only): bookings and assignments
are declared as personal data (toshi.mobility.service DECLARATIONS), the operator gets an account
(consumer + provider), three on-demand minibuses wait at bus stops, and the residents who signed up
for the service (a share of those aged 65+, drawn from the seed) consent to the operator for purpose
`on-demand-transport` (one bulk grant).

The day: at 07:00 the riders' advance bookings for the day come in (`RideRequest`, from home to a
public facility, school or bus stop, a 30-minute pickup window between 08:00 and 17:00); at 07:30 the
operator plans them (`POST /mobility/plan`, which needs the optional solver pyvroom — without it the
demo says so once and the bookings stay unplanned); from then on each vehicle's position follows its
`VehiclePlan` (the stop it last reached). Riders read their times in their `RideAssignment`."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta

from toshi.mobility import DECLARATIONS, PURPOSE
from toshi.town import loader
from toshi.town.client import Api, ApiError
from toshi.town.entities import urn
from toshi.town.generate import Town

log = logging.getLogger("toshi.town.ondemand")
RIDER_SHARE = 0.05            # of residents aged 65+, signed up
BOOKINGS_SHARE = 0.25         # of the riders, booking on the simulated day
VEHICLES, SEATS = 3, 8
BOOK_HOUR, PLAN_HOUR = 7.0, 7.5
CONSENT = ["personal", "location"]


def riders(town: Town) -> list[str]:
    rng = random.Random(town.seed * 7_368_787)
    return [r.id for r in town.residents if r.age >= 65 and rng.random() < RIDER_SHARE]


def vehicles(town: Town) -> list[dict]:
    stops = sorted((p for p in town.places if p["kind"] == "busStop"), key=lambda p: p["number"])
    out = []
    for number in range(1, VEHICLES + 1):
        stop = stops[(number - 1) * max(1, len(stops) // VEHICLES) % len(stops)]
        lon, lat = town.graph.position[stop["node"]]
        out.append({"id": urn("Vehicle", f"ondemand-{number}"), "type": "Vehicle",
                    "name": {"type": "Property", "value": f"オンデマンドバス {number}"},
                    "vehicleType": {"type": "Property", "value": "minibus"},
                    "onDemand": {"type": "Property", "value": True},
                    "capacity": {"type": "Property", "value": SEATS},
                    "depot": {"type": "Relationship", "object": urn("RoadNode", stop["node"])},
                    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}})
    return out


async def set_up(admin: Api, town: Town, checkpoint=None, tenant_role: str = "default") -> dict:
    """Declarations, rules, the operator's account, the vehicles and the riders' consents. Runs again
    after an interruption without doubling anything (the account found by its name, consents granted
    to those who do not hold them yet)."""
    checkpoint = checkpoint or loader.Checkpoint({})
    resuming = checkpoint.begin("ondemand")
    for declaration in DECLARATIONS:
        await admin.call("PUT", f"/consent/declarations/{declaration['id']}", declaration)
    for rule in ({"id": "town-ondemand-open", "principals": ["*"], "types": ["OnDemandService", "VehiclePlan"]},
                 {"id": "town-ondemand-riders", "principals": ["authenticated"], "types": ["RideAssignment"]}):
        await admin.call("POST", "/admin/auth/policies", {**rule, "effect": "allow", "actions": ["read"],
                                                          "tenant": tenant_role}, ok=(201, 409))
    operator = await loader.ensure_account(admin, "town-ondemand", [f"{tenant_role}:consumer", f"{tenant_role}:provider"],
                                           checkpoint.get("ondemand.operator"))
    loader.reached("account:ondemand")
    checkpoint.keep("ondemand.operator", operator)
    await admin.upsert(vehicles(town))
    ids = [urn("Resident", r) for r in riders(town)]
    await loader.grant_missing(admin, ids, operator["id"], PURPOSE, CONSENT, resuming=resuming,
                               recipient_key=operator["key"], step="ondemand")
    checkpoint.finish("ondemand")
    return {"operator": operator, "riders": len(ids)}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BusWorld:
    """The riders' bookings, the operator's planning and the vehicles following their plans."""

    def __init__(self, town: Town, base: str, operator_key: str, context: str | None):
        self.town = town
        self.rng = random.Random(town.seed * 2_750_159)
        self.operator = Api(base, operator_key, purpose=PURPOSE, context=context, timeout=120)
        self.residents = {r.id: r for r in town.residents}
        self.destinations = [town.graph.nearest_node(p["lon"], p["lat"]) for p in town.places
                             if p["kind"] in ("facility", "school", "busStop")]
        self.booked_on: str | None = None
        self.planned_on: str | None = None
        self.plans: dict[str, list[dict]] = {}
        self.reached: dict[str, int] = {}       # vehicle -> stops reached (their position is sent on a change)
        self.summary: dict | None = None
        self.solver_missing = False

    async def provision(self, admin: Api) -> None:
        """Nothing to provision: the vehicles report through the operator's plan."""

    async def step(self, admin: Api, now: datetime, dt: timedelta) -> None:
        day, hour = now.strftime("%Y-%m-%d"), now.hour + now.minute / 60
        if hour >= BOOK_HOUR and self.booked_on != day:
            self.booked_on = day
            await admin.upsert(self.bookings(now))
        if hour >= PLAN_HOUR and self.planned_on != day and not self.solver_missing:
            self.planned_on = day
            await self.plan(admin, now)
        await self.follow(admin, now)

    def bookings(self, now: datetime) -> list[dict]:
        base = now.replace(hour=8, minute=0, second=0, microsecond=0)
        chosen = [r for r in riders(self.town) if self.rng.random() < BOOKINGS_SHARE]
        out = []
        for resident_id in chosen:
            home = self.residents[resident_id].node
            start = base + timedelta(minutes=self.rng.randrange(0, 9 * 60, 5))
            prop = lambda v: {"type": "Property", "value": v}  # noqa: E731
            out.append({"id": urn("RideRequest", f"{resident_id}-{now:%Y%m%d}"), "type": "RideRequest",
                        "rider": {"type": "Relationship", "object": urn("Resident", resident_id)},
                        "pickup": {"type": "Relationship", "object": urn("RoadNode", home)},
                        "dropoff": {"type": "Relationship",
                                    "object": urn("RoadNode", self.rng.choice([d for d in self.destinations
                                                                               if d != home]))},
                        "pickupFrom": prop(_iso(start)), "pickupUntil": prop(_iso(start + timedelta(minutes=30))),
                        "passengers": prop(1), "maxRideMinutes": prop(45), "status": prop("requested")})
        return out

    async def plan(self, admin: Api, now: datetime) -> None:
        try:
            response = await self.operator.call("POST", "/mobility/plan", {"at": _iso(now)})
        except ApiError as exc:
            if exc.status == 501:
                self.solver_missing = True
                print("toshi demo: the on-demand bus is not planned: install its solver with "
                      "pip install 'toshi-os[mobility]' (pyvroom)", flush=True)
                return
            raise
        self.summary = response.json()
        for plan in await admin.entities("VehiclePlan"):
            self.plans[plan["vehicle"]] = plan.get("stops") or []

    async def follow(self, admin: Api, now: datetime) -> None:
        stamp = _iso(now)
        moves = []
        for vehicle, stops in self.plans.items():
            reached = [s for s in stops if s["at"] <= stamp]
            if not reached or self.reached.get(vehicle) == len(reached):
                continue
            self.reached[vehicle] = len(reached)
            node = reached[-1]["node"].rsplit(":", 1)[-1]
            lon, lat = self.town.graph.position[node]
            moves.append({"id": vehicle, "type": "Vehicle",
                          "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
                          "passengers": {"type": "Property", "value": reached[-1]["load"]}})
        if moves:
            await admin.upsert(moves)

    async def close(self) -> None:
        await self.operator.close()
