"""VRP solve time of the on-demand bus planner (toshi/mobility) on the demo town's road graph.

    python3 bench/vrp_bench.py [--bookings 200] [--vehicles 10] [--seats 8] [--runs 3] [--exploration 2]

Bookings between random road nodes (seed 1) over a three-hour service, each with a 30-minute pickup
window and a 45-minute maximum ride; vehicles of `--seats` seats start at the town's bus stops. Prints
the travel-time matrix time (Dijkstra from every stop) and the solve time (VROOM, one thread; wall and
this process's CPU time, which a busy shared machine does not inflate), and
how many bookings were assigned and refused; every plan is checked against seats and windows."""

from __future__ import annotations

import argparse
import random
import time

from toshi.mobility.roads import Roads
from toshi.mobility.solver import Bus, Ride, plan
from toshi.town.generate import generate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--vehicles", type=int, default=10)
    parser.add_argument("--seats", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--exploration", type=int, default=None, help="VROOM's exploration level (default: the planner's)")
    args = parser.parse_args()
    town = generate(1, 1000)
    nodes = sorted(town.graph.position)
    stops = sorted({p["node"] for p in town.places if p["kind"] == "busStop"}) or nodes[:1]
    rng = random.Random(1)
    print(f"road graph: {len(nodes)} nodes; {args.bookings} bookings, {args.vehicles} vehicles x {args.seats} seats")
    for run in range(args.runs):
        roads = Roads()
        for a, b, length in town.graph.edges():
            roads.add(a, b, length)
        rides = []
        for i in range(args.bookings):
            a, b = rng.sample(nodes, 2)
            start = rng.randrange(0, 3 * 3600 - 1800)
            rides.append(Ride(f"r{i}", a, b, start, start + 1800, start + 1800 + 2700))
        buses = [Bus(f"v{i}", stops[i % len(stops)], args.seats, 0, 4 * 3600) for i in range(args.vehicles)]
        began = time.perf_counter()
        for node in {r.pickup for r in rides} | {r.dropoff for r in rides} | {b.depot for b in buses}:
            roads.metres(node, node + "?")  # Dijkstra from every location, as the solver's matrix will ask
        matrix = time.perf_counter() - began
        extra = {} if args.exploration is None else {"exploration": args.exploration}
        cpu = time.process_time()
        result = plan(rides, buses, roads.seconds, **extra)
        cpu = time.process_time() - cpu
        by_id = {r.id: r for r in rides}
        for ride_id, (_, pickup, dropoff) in result.assigned.items():
            ride = by_id[ride_id]
            assert ride.earliest <= pickup <= ride.latest and dropoff <= ride.dropoff_by
            assert dropoff - pickup <= ride.max_ride
        for stops_of in result.routes.values():
            assert all(0 <= s.load <= args.seats for s in stops_of)
        print(f"run {run + 1}: matrix {matrix:.2f} s, plan {result.seconds:.2f} s wall, {cpu:.2f} s CPU (VROOM + checks), "
              f"assigned {len(result.assigned)}, refused {len(result.refused)}")


if __name__ == "__main__":
    main()
