"""The on-demand bus's vehicle-routing problem on small instances: every plan keeps the seats, the
pickup windows, the latest drop-offs and the maximum ride times; what cannot be kept is refused."""

from __future__ import annotations

import pytest

from toshi.mobility.roads import Roads
from toshi.mobility.solver import Bus, Ride, plan

pytest.importorskip("vroom")

# A road of six nodes, 1 km apart: 144 s from one to the next at 25 km/h.
ROADS = Roads()
for i in range(5):
    ROADS.add(f"n{i}", f"n{i + 1}", 1000.0)
LEG = ROADS.seconds("n0", "n1")


def check(result, rides: list[Ride], buses: list[Bus]) -> None:
    """The plan against the constraints, recomputed from its stops."""
    by_id = {r.id: r for r in rides}
    seats = {b.id: b.seats for b in buses}
    for bus, stops in result.routes.items():
        load = 0
        for before, after in zip(stops, stops[1:]):
            assert after.arrival >= before.begins + ROADS.seconds(before.node, after.node)
        for stop in stops:
            if stop.action == "pickup":
                load += by_id[stop.ride].passengers
            elif stop.action == "dropoff":
                load -= by_id[stop.ride].passengers
            assert 0 <= load <= seats[bus]
            assert stop.load == load
    for ride_id, (bus, pickup, dropoff) in result.assigned.items():
        ride = by_id[ride_id]
        assert ride.earliest <= pickup <= ride.latest
        assert pickup < dropoff <= ride.dropoff_by
        assert dropoff - pickup <= ride.max_ride
        actions = [(s.action, s.ride) for s in result.routes[bus]]
        assert actions.index(("pickup", ride_id)) < actions.index(("dropoff", ride_id))
    assert set(result.assigned) | set(result.refused) == set(by_id)
    assert not set(result.assigned) & set(result.refused)


def test_rides_sharing_a_bus_never_exceed_its_seats():
    # two seats, three riders at n1 wanting n5 within 10 minutes: the bus cannot be back in time
    rides = [Ride(f"r{i}", "n1", "n5", 0, 600, 3600) for i in range(3)]
    buses = [Bus("bus", "n0", 2, 0, 7200)]
    result = plan(rides, buses, ROADS.seconds)
    check(result, rides, buses)
    assert (len(result.assigned), list(result.refused.values())) == \
        (2, ["no vehicle can serve it within its time windows and the seats free"])


def test_a_wider_window_lets_the_bus_come_back_for_the_third_rider():
    rides = [Ride(f"r{i}", "n1", "n5", 0, 2400, 7200) for i in range(3)]
    buses = [Bus("bus", "n0", 2, 0, 7200)]
    result = plan(rides, buses, ROADS.seconds)
    check(result, rides, buses)
    assert len(result.assigned) == 3


def test_a_group_larger_than_any_bus_is_refused():
    rides = [Ride("big", "n1", "n2", 0, 600, 3600, passengers=5), Ride("one", "n1", "n2", 0, 600, 3600)]
    buses = [Bus("bus", "n0", 4, 0, 7200)]
    result = plan(rides, buses, ROADS.seconds)
    check(result, rides, buses)
    assert set(result.assigned) == {"one"}
    assert result.refused == {"big": "no vehicle can serve it within its time windows and the seats free"}


def test_pickup_windows_are_kept_even_when_the_bus_must_wait():
    rides = [Ride("late", "n1", "n3", 1800, 1900, 3600)]
    buses = [Bus("bus", "n0", 4, 0, 7200)]
    result = plan(rides, buses, ROADS.seconds)
    check(result, rides, buses)
    assert 1800 <= result.assigned["late"][1] <= 1900


def test_windows_one_bus_cannot_meet_are_served_by_two():
    rides = [Ride("west", "n1", "n0", 0, 200, 900), Ride("east", "n4", "n5", 0, 200, 900)]
    buses = [Bus("a", "n0", 4, 0, 7200), Bus("b", "n5", 4, 0, 7200)]
    result = plan(rides, buses, ROADS.seconds)
    check(result, rides, buses)
    assert {result.assigned["west"][0], result.assigned["east"][0]} == {"a", "b"}


def test_a_window_too_short_for_the_journey_is_refused():
    rides = [Ride("rushed", "n0", "n5", 0, 60, 200)]
    result = plan(rides, [Bus("bus", "n0", 4, 0, 7200)], ROADS.seconds)
    assert result.refused == {"rushed": "its time windows leave no time for the journey"}


def test_a_maximum_ride_time_shorter_than_the_direct_journey_is_refused():
    rides = [Ride("short", "n0", "n5", 0, 600, 7200, max_ride=4 * LEG)]
    result = plan(rides, [Bus("bus", "n0", 4, 0, 7200)], ROADS.seconds)
    assert result.refused == {"short": "the direct journey is longer than its maximum ride time"}


def test_every_ride_in_a_plan_keeps_its_maximum_ride_time():
    # one bus; a detour for the second rider would keep the first on board too long
    rides = [Ride("first", "n0", "n2", 0, 60, 3600, max_ride=2 * LEG + 200),
             Ride("second", "n1", "n5", 0, 400, 3600)]
    buses = [Bus("bus", "n0", 4, 0, 7200)]
    result = plan(rides, buses, ROADS.seconds)
    check(result, rides, buses)
    assert set(result.assigned) == {"first", "second"}


def test_unreachable_drop_offs_are_refused():
    roads = Roads()
    roads.add("a", "b", 500.0)
    roads.add("c", "d", 500.0)
    result = plan([Ride("island", "a", "d", 0, 600, 3600)], [Bus("bus", "a", 4, 0, 7200)], roads.seconds)
    assert result.refused == {"island": "its drop-off cannot be reached by road from its pickup"}
