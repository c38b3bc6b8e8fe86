"""Cost of growth (issue 20): GET, PATCH and queries at 10k, 100k and 1M entities.

    python3 bench/growth_bench.py                         # SQLite, 10k / 100k / 1M WeatherObserved
    python3 bench/growth_bench.py --sizes 10000,100000 --duration 5 --repeat 2
    python3 bench/growth_bench.py --postgres postgresql://postgres@127.0.0.1:5432/test

One `toshi serve` per size, all running at once, each loaded through the API (upserts of 500). Then
every scenario runs on every size in turns (10k, 100k, 1M, 10k, ...), so that the machine's changing
load falls on every size alike; the table gives the median of the rounds. With --postgres each size
gets a fresh schema of that database (dropped afterwards) and one worker. The database size per
entity is what the data directory (SQLite) or the schema (PostgreSQL) holds after loading.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from urllib.parse import quote

import bench_data
import run

NGSI = run.NGSI


def rows_for(size: int) -> list[run.Row]:
    ids = {"id_format": bench_data.WEATHER_ID_FORMAT, "n": str(size)}
    query = f"{NGSI}/entities?type={bench_data.WEATHER_TYPE}&limit=100&q="
    return [
        run.Row("get", "get", "toshi", "get.lua", {**ids, "path": NGSI + "/entities/{id}", "expect": "200",
                                                   "body_prefix": "{"}, "GET /entities/{id}, random"),
        run.Row("update", "update", "toshi", "update.lua",
                {**ids, "path": NGSI + "/entities/{id}/attrs/temperature", "expect": "204"},
                'PATCH /entities/{id}/attrs/temperature {"value": N}, random'),
        run.Row("query-selective", "query", "toshi", "query.lua",
                {"path": query + quote(run.QUERY_SELECTIVE), "expect": "200", "body_prefix": "["},
                f"GET /entities?type=WeatherObserved&q={run.QUERY_SELECTIVE}&limit=100"),
        run.Row("query-broad", "query", "toshi", "query.lua",
                {"path": query + quote(run.QUERY_BROAD), "expect": "200", "body_prefix": "[{"},
                f"GET /entities?type=WeatherObserved&q={run.QUERY_BROAD}&limit=100"),
    ]


def sqlite_bytes(data_dir: Path) -> int:
    """The database file after a full checkpoint (the WAL's high-water mark is reported apart)."""
    import sqlite3

    path = data_dir / "toshi.db"
    wal = path.with_name("toshi.db-wal")
    print(f"  (WAL before the checkpoint: {wal.stat().st_size / 1e6:,.0f} MB)" if wal.exists() else "")
    with sqlite3.connect(path, timeout=60) as db:
        db.execute("PRAGMA wal_checkpoint(FULL)")
    return path.stat().st_size


def postgres_bytes(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')").fetchone()[0]


def start(stack: ExitStack, tmp: Path, size: int, postgres: str | None) -> tuple[run.Server, Callable[[], int]]:
    data_dir = tmp / f"toshi-{size}" / "data"
    data_dir.mkdir(parents=True)
    if postgres:
        import scale_bench

        url = stack.enter_context(scale_bench.pg_schema(postgres, f"g{size}"))
        server = run.toshi_server(data_dir, [], ("--database-url", url, "--workers", "1"))
        measure_bytes = partial(postgres_bytes, url)
    else:
        server = run.toshi_server(data_dir, [])
        measure_bytes = partial(sqlite_bytes, data_dir)
    stack.callback(server.stop)
    return server.start(), measure_bytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every size in turn")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL database: one schema per size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    run.ensure_wrk()
    wrk_cfg = run.WrkConfig(args.duration, args.warmup, args.connections, args.repeat, [])
    print(f"load before: {run.load_average()}; {run.machine_info()}")
    with tempfile.TemporaryDirectory(prefix="toshi-growth-") as tmp, ExitStack() as stack:
        servers = {}
        for size in sizes:
            server, measure_bytes = start(stack, Path(tmp), size, args.postgres)
            began = time.perf_counter()
            rate = run.load(server.port, bench_data.weather_observed, size)
            stored = measure_bytes()
            print(f"{size:>9,} entities loaded at {rate:,.0f}/s in {time.perf_counter() - began:.0f} s; "
                  f"stored {stored / 1e6:,.0f} MB = {stored / size:,.0f} bytes per entity", flush=True)
            servers[size] = server
        table = []
        for index, row in enumerate(rows_for(sizes[0])):
            rows = {size: rows_for(size)[index] for size in sizes}
            runs = run.alternate(rows, servers, wrk_cfg, f"{int(time.time())}")
            for size in sizes:
                results = runs[size]
                errors = sum(r.errors for r in results)
                table.append(f"| {row.name} | {size:,} | {statistics.median(r.rps for r in results):,.0f} | "
                             f"{statistics.median(r.p50_ms for r in results):.1f} | "
                             f"{statistics.median(r.p99_ms for r in results):.1f} | {errors} |")
            print("\n".join(table[-len(sizes):]), flush=True)
    print(f"\nload after: {run.load_average()}")
    print("| scenario | entities | req/s (median) | p50 ms | p99 ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
