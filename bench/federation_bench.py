"""Federated query latency (issue 14): a prefecture answering a query through the registration of a
town, against the town answering the same query itself, both `toshi serve` processes on 127.0.0.1.

    python3 bench/federation_bench.py                      # 300 Shelters, 8 rounds of 100 requests per side
    python3 bench/federation_bench.py --quick              # 3 rounds of 40
    python3 bench/federation_bench.py --baseline /tmp/old  # the same with the code of another checkout, in turns

The town holds `--entities` Shelters; the prefecture holds none and registers the town (inclusive,
`information: [{entities: [{type: Shelter}]}]`). The query is GET /ngsi-ld/v1/entities?type=Shelter&
limit=100 (keyValues with --key-values), one client, one request at a time over one kept-alive
connection, so a figure is the latency of one request, not throughput. The rounds alternate: town,
prefecture (and the baseline's town and prefecture with --baseline), so load drifts hit both sides
alike. Reported: p50 / p95 of each side over all rounds, and federated p50 / local p50.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import run

LD = "/ngsi-ld/v1"


def shelter(n: int) -> dict:
    return {"id": f"urn:ngsi-ld:Shelter:{n:05d}", "type": "Shelter",
            "name": {"type": "Property", "value": f"避難所 {n}"},
            "capacity": {"type": "Property", "value": 100 + n % 400},
            "occupancy": {"type": "Property", "value": n % 97, "observedAt": "2026-12-07T09:00:00Z"},
            "location": {"type": "GeoProperty", "value": {"type": "Point",
                                                          "coordinates": [135.4 + n % 50 / 1000, 34.8 + n % 37 / 1000]}}}


class Pair:
    """A town with the Shelters and a prefecture registering it, running the code of `root`."""

    def __init__(self, label: str, root: Path, work: Path, entities: int):
        self.label = label
        self.town = self._server(root, work / f"{label}-town")
        self.prefecture = self._server(root, work / f"{label}-prefecture")
        for first in range(0, entities, 100):
            batch = [shelter(n) for n in range(first, min(first + 100, entities))]
            status, _, body = run.request(self.town.port, "POST", LD + "/entityOperations/upsert", orjson.dumps(batch))
            assert status in (201, 204), body
        registration = {"type": "ContextSourceRegistration", "endpoint": f"http://{run.HOST}:{self.town.port}",
                        "information": [{"entities": [{"type": "Shelter"}]}]}
        status, _, body = run.request(self.prefecture.port, "POST", LD + "/csourceRegistrations",
                                      orjson.dumps(registration))
        assert status == 201, body

    @staticmethod
    def _server(root: Path, data: Path) -> run.Server:
        data.mkdir(parents=True)
        server = run.toshi_server(data / "data", [])
        server.root = root
        server.log_path = data / "toshi.log"
        return server.start()

    def stop(self) -> None:
        self.town.stop()
        self.prefecture.stop()


def timed(port: int, path: str, count: int) -> list[float]:
    """`count` GETs of `path` over one kept-alive connection: each one's ms."""
    conn = http.client.HTTPConnection(run.HOST, port, timeout=60)
    out = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            out.append((time.perf_counter() - started) * 1000)
            assert response.status == 200, (response.status, body[:200])
    finally:
        conn.close()
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--requests", type=int, default=100, help="requests per side per round")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--key-values", action="store_true")
    parser.add_argument("--baseline", type=Path, help="a checkout of the code to compare with (e.g. git worktree)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.requests = 3, 40
    path = LD + "/entities?type=Shelter&limit=100" + ("&options=keyValues" if args.key_values else "")
    work = Path(tempfile.mkdtemp(prefix="federation-bench-"))
    pairs = [Pair("current", run.REPO, work, args.entities)]
    if args.baseline:
        pairs.insert(0, Pair("baseline", args.baseline.resolve(), work, args.entities))
    try:
        for pair in pairs:  # same answer both ways (the query, merged: the town's entities as they are)
            local = orjson.loads(run.request(pair.town.port, "GET", path)[2])
            federated = orjson.loads(run.request(pair.prefecture.port, "GET", path)[2])
            assert local == federated, f"{pair.label}: the federated answer differs from the local one"
            timed(pair.town.port, path, 10)  # warm both
            timed(pair.prefecture.port, path, 10)
        times = {(p.label, side): [] for p in pairs for side in ("local", "federated")}
        loads = [os.getloadavg()[0]]
        for _ in range(args.rounds):
            for pair in pairs:
                times[(pair.label, "local")] += timed(pair.town.port, path, args.requests)
                times[(pair.label, "federated")] += timed(pair.prefecture.port, path, args.requests)
            loads.append(os.getloadavg()[0])
    finally:
        for pair in pairs:
            pair.stop()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=run.REPO, capture_output=True,
                            text=True).stdout.strip()
    print(f"federation bench {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}; "
          f"GET {path}, {args.entities} Shelters in the town, {args.rounds} rounds x {args.requests} per side; "
          f"load (1 min) {min(loads):.2f}-{max(loads):.2f}; uptime: {os.popen('uptime').read().strip()}")
    print(f"{'code':<10} {'side':<10} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for pair in pairs:
        for side in ("local", "federated"):
            got = times[(pair.label, side)]
            print(f"{pair.label:<10} {side:<10} {pct(got, .5):8.2f} {pct(got, .95):8.2f} {statistics.fmean(got):8.2f}")
        ratio = pct(times[(pair.label, "federated")], .5) / pct(times[(pair.label, "local")], .5)
        print(f"{pair.label:<10} federated p50 / local p50 = {ratio:.2f} ({'meets' if ratio <= 2 else 'misses'} <= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
