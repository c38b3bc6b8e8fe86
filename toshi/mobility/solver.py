"""The vehicle-routing problem of the on-demand bus, solved with VROOM (pyvroom).

Each ride is a shipment (pick up at one road node, drop off at another) of `passengers` seats, with a
pickup window and a latest drop-off; each vehicle has its seats, its depot and its hours. VROOM keeps
the capacities and windows as hard constraints and leaves out what it cannot serve (those rides are
refused, with the reason). A rider's maximum ride time (VROOM has no such constraint) becomes time
windows (see `plan`) and is checked on the solution, so every ride in the plan keeps it.

Times are whole seconds from the planning origin; `travel(a, b)` gives the seconds between two
nodes (toshi/mobility/roads.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

SOLVER_MISSING = ("the on-demand bus planner needs the optional solver pyvroom: "
                  "pip install 'toshi-os[mobility]' (or pip install pyvroom)")
SERVICE_SECONDS = 60       # boarding or alighting at a stop
MAX_ROUNDS = 2             # solves: the first, and one after narrowing the windows of rides over their maximum
EXPLORATION = 2            # VROOM's search effort (0-5): 2 serves ~97 % of what 5 does, in a fifth of the time
                           # (bench/vrp_bench.py, BENCHMARKS.md)


def solver_available() -> bool:
    try:
        import vroom  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Ride:
    id: str
    pickup: str                # road node
    dropoff: str
    earliest: int              # pickup window, seconds from the origin
    latest: int
    dropoff_by: int            # latest drop-off
    passengers: int = 1
    max_ride: int = 45 * 60    # seconds on board at most


@dataclass(frozen=True)
class Bus:
    id: str
    depot: str
    seats: int
    start: int
    end: int


@dataclass(frozen=True)
class Stop:
    node: str
    action: str                # start, pickup, dropoff, end
    arrival: int               # seconds from the origin (service starts at max(arrival, window start))
    begins: int                # when the service at the stop begins (after waiting)
    load: int                  # seats taken when it leaves
    ride: str | None = None


@dataclass
class Plan:
    routes: dict[str, list[Stop]] = field(default_factory=dict)
    assigned: dict[str, tuple[str, int, int]] = field(default_factory=dict)   # ride -> (bus, pickup, dropoff)
    refused: dict[str, str] = field(default_factory=dict)                     # ride -> reason
    seconds: float = 0.0


class SolverMissing(RuntimeError):
    pass


def plan(rides: list[Ride], buses: list[Bus], travel: Callable[[str, str], int | None], *,
         service: int = SERVICE_SECONDS, threads: int = 1, exploration: int = EXPLORATION) -> Plan:
    try:
        import vroom
    except ImportError:
        raise SolverMissing(SOLVER_MISSING) from None
    started = time.perf_counter()
    result = Plan()
    candidates = []
    for ride in rides:
        reason = _unservable(ride, travel)
        if reason:
            result.refused[ride.id] = reason
        else:
            candidates.append(ride)
    # A drop-off no later than the latest pickup plus the maximum ride keeps most rides in bounds; a
    # ride still over it gets its pickup window narrowed to start where the plan picked it up, with
    # the drop-off due a maximum ride later, which no plan can break; then it is solved again.
    candidates = [replace(r, dropoff_by=min(r.dropoff_by, r.latest + r.max_ride)) for r in candidates]
    for round_number in range(MAX_ROUNDS):
        solved, unassigned = _solve(vroom, candidates, buses, travel, service, threads, exploration)
        by_id = {r.id: r for r in candidates}
        too_long = {r: pickup for r, (_, pickup, dropoff) in solved.assigned.items()
                    if dropoff - pickup > by_id[r].max_ride}
        if not too_long or round_number == MAX_ROUNDS - 1:
            for ride_id in too_long:
                solved.assigned.pop(ride_id)
                result.refused[ride_id] = "no plan keeps its maximum ride time"
            result.routes = {bus: [stop for stop in stops if stop.ride not in too_long]
                             for bus, stops in solved.routes.items()}
            result.assigned = solved.assigned
            for ride_id in unassigned:
                result.refused[ride_id] = "no vehicle can serve it within its time windows and the seats free"
            break
        candidates = [replace(r, earliest=too_long[r.id], dropoff_by=too_long[r.id] + r.max_ride)
                      if r.id in too_long else r for r in candidates]
    result.seconds = time.perf_counter() - started
    return result


def _unservable(ride: Ride, travel) -> str | None:
    direct = travel(ride.pickup, ride.dropoff)
    if direct is None:
        return "its drop-off cannot be reached by road from its pickup"
    if ride.earliest > ride.latest or ride.latest + direct > ride.dropoff_by:
        return "its time windows leave no time for the journey"
    if direct > ride.max_ride:
        return "the direct journey is longer than its maximum ride time"
    return None


def _solve(vroom, rides: list[Ride], buses: list[Bus], travel, service: int, threads: int, exploration: int):
    nodes = sorted({b.depot for b in buses} | {r.pickup for r in rides} | {r.dropoff for r in rides})
    index = {node: i for i, node in enumerate(nodes)}
    unreachable = 10 ** 7
    matrix = [[0 if a == b else (travel(a, b) if travel(a, b) is not None else unreachable) for b in nodes]
              for a in nodes]
    problem = vroom.Input()
    problem.set_durations_matrix(profile="car", matrix_input=matrix)
    for number, bus in enumerate(buses, start=1):
        problem.add_vehicle(vroom.Vehicle(id=number, start=index[bus.depot], end=index[bus.depot],
                                          capacity=[bus.seats], time_window=vroom.TimeWindow(bus.start, bus.end)))
    for number, ride in enumerate(rides):
        problem.add_shipment(
            vroom.ShipmentStep(id=2 * number + 1, location=index[ride.pickup], default_service=service,
                               time_windows=[vroom.TimeWindow(ride.earliest, ride.latest)]),
            vroom.ShipmentStep(id=2 * number + 2, location=index[ride.dropoff], default_service=service,
                               time_windows=[vroom.TimeWindow(ride.earliest, ride.dropoff_by)]),
            amount=vroom.Amount([ride.passengers]))
    out = Plan()
    if not rides:
        return out, []
    solution = problem.solve(exploration_level=exploration, nb_threads=threads).to_dict()
    served: dict[str, dict] = {}
    for route in solution["routes"]:
        bus = buses[route["vehicle"] - 1]
        stops = []
        for step in route["steps"]:
            kind = step["type"]
            ride = rides[(step["id"] - 1) // 2] if kind in ("pickup", "delivery") else None
            action = {"delivery": "dropoff"}.get(kind, kind)
            begins = step["arrival"] + step.get("waiting_time", 0)
            node = ride.pickup if kind == "pickup" else ride.dropoff if ride else bus.depot
            stops.append(Stop(node, action, step["arrival"], begins, step["load"][0], ride.id if ride else None))
            if ride is not None:
                served.setdefault(ride.id, {"bus": bus.id})[action] = begins
        out.routes[bus.id] = stops
    out.assigned = {r: (s["bus"], s["pickup"], s["dropoff"]) for r, s in served.items()}
    unassigned = [rides[(u["id"] - 1) // 2].id for u in solution.get("unassigned", []) if u.get("type") == "pickup"]
    unassigned = list(dict.fromkeys(unassigned + [r.id for r in rides if r.id not in out.assigned]))
    return out, unassigned
