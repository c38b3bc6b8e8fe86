"""End to end: the demo town's on-demand bus on a real server — the riders' bookings are planned by
the operator through POST /mobility/plan (VROOM), every booking is assigned or refused, the plans keep
seats and windows, and the vehicles follow their plans."""

from __future__ import annotations

from datetime import datetime

import pytest
from town_day import demo_day

from toshi.town import ondemand
from toshi.town.simulator import JST

pytest.importorskip("vroom")

RESIDENTS = 400
START, END = datetime(2026, 7, 3, 6, 30, tzinfo=JST), datetime(2026, 7, 3, 12, 0, tzinfo=JST)


@pytest.fixture(scope="module")
def bus_day(tmp_path_factory):
    async def observe(town, admin, base):
        seen = {kind: await admin.entities(kind) for kind in ("RideRequest", "RideAssignment", "VehiclePlan")}
        seen["service"] = (await admin.call("GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:OnDemandService:mobility",
                                            params={"options": "keyValues"})).json()
        seen["vehicles"] = [v for v in await admin.entities("Vehicle") if v.get("onDemand")]
        return seen

    with pytest.MonkeyPatch.context() as patch:  # more riders than the demo's share, for a fuller day
        patch.setattr(ondemand, "RIDER_SHARE", 0.3)
        patch.setattr(ondemand, "BOOKINGS_SHARE", 0.6)
        with demo_day(tmp_path_factory, "demo-bus", seed=9, residents=RESIDENTS, start=START, end=END,
                      observe=observe) as (_, day):
            yield day


def test_every_booking_is_assigned_or_refused(bus_day):
    _, seen = bus_day
    requests = {r["id"] for r in seen["RideRequest"]}
    assert len(requests) >= 10
    answered = {a["request"]: a["status"] for a in seen["RideAssignment"]}
    assert set(answered) == requests
    assert set(answered.values()) <= {"assigned", "refused"}
    assert seen["service"]["assigned"] + seen["service"]["refused"] == seen["service"]["requests"] == len(requests)
    assert seen["service"]["assigned"] >= 1


def test_assigned_riders_are_picked_up_within_their_window(bus_day):
    _, seen = bus_day
    windows = {r["id"]: (r["pickupFrom"], r["pickupUntil"]) for r in seen["RideRequest"]}
    for a in seen["RideAssignment"]:
        if a["status"] == "assigned":
            earliest, latest = windows[a["request"]]
            assert earliest <= a["pickupAt"] <= latest
            assert a["pickupAt"] < a["dropoffAt"]


def test_no_plan_takes_more_riders_than_seats(bus_day):
    _, seen = bus_day
    assert len(seen["VehiclePlan"]) == ondemand.VEHICLES
    assert all(0 <= s["load"] <= ondemand.SEATS for p in seen["VehiclePlan"] for s in p["stops"])


def test_the_vehicles_follow_their_plans(bus_day):
    town, seen = bus_day
    plans = {p["vehicle"]: p["stops"] for p in seen["VehiclePlan"]}
    now = ondemand._iso(town.simulator.now)  # where the simulated day stopped
    moved = 0
    for vehicle in seen["vehicles"]:
        reached = [s for s in plans[vehicle["id"]] if s["at"] <= now]
        if reached:
            moved += 1
            node = reached[-1]["node"].rsplit(":", 1)[-1]
            assert vehicle["location"]["coordinates"] == list(town.town.graph.position[node])
    assert moved >= 1
