"""The write path alone, in process (no HTTP): what the Writer costs per edit, with every feature's
listeners (temporal history, audit, IoT commands) as `toshi serve` has them.

    python3 bench/write_bench.py                      # SQLite in a temporary directory
    python3 bench/write_bench.py --database-url postgresql://postgres@127.0.0.1:5432/test
    PYTHONPATH=/tmp/old-tree python3 bench/write_bench.py   # the same against another tree

Figures are this process's CPU time per operation (`time.process_time`: on SQLite every statement
runs in this process, so waiting for a CPU another process holds is left out, which makes runs on a
shared machine comparable), with the wall-clock rate beside it. On PostgreSQL the server's own work
is in another process: only the wall clock says what a write costs there.

Scenarios (each repeated --rounds times, the best round kept; the machine is shared, so alternate
trees and repeat):
- `patch`: single-attribute updates of 1,000 Shelters, 32 concurrent callers (group commit), the
  edit the NGSI-LD PATCH .../attrs/occupancy handler makes;
- `upsert`: upserts of 100 new AirQualityObserved (8 attributes) per call, already parsed;
- `parse`: parsing those 100 entities (what the batch handler does before the Writer);
- `ceiling`: the bulk-insert ceiling of `upsert` (bench/reference_apps.py `bulk_write`: the same
  rows in Toshi's tables, one executemany per table in one transaction, parsing included), SQLite.
PostgreSQL: with `--lock-stats`, also the time each write transaction holds the write lock (BEGIN
IMMEDIATE to COMMIT answered) and its statements' share.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_data  # noqa: E402

from toshi.app import create_app  # noqa: E402
from toshi.config import Settings  # noqa: E402
from toshi.core import entity as ops  # noqa: E402
from toshi.formats.ngsild_parse import parse_attribute, parse_entity  # noqa: E402
from toshi.jsonld.context import core_context  # noqa: E402

SHELTERS = 1000
CPU = {"on": True}


def _clock() -> float:
    return time.process_time() if CPU["on"] else time.perf_counter()
CONCURRENCY = 32


def air_quality(tag: str, n: int) -> dict:
    return {"id": f"urn:ngsi-ld:AirQualityObserved:{tag}-{n}", "type": "AirQualityObserved",
            "dateObserved": {"type": "Property", "value": {"@type": "DateTime", "@value": bench_data.OBSERVED_AT}},
            "NO2": {"type": "Property", "value": n % 200, "unitCode": "GQ", "observedAt": bench_data.OBSERVED_AT},
            "PM10": {"type": "Property", "value": n % 150, "unitCode": "GQ", "observedAt": bench_data.OBSERVED_AT},
            "PM2_5": {"type": "Property", "value": n % 80, "unitCode": "GQ", "observedAt": bench_data.OBSERVED_AT},
            "temperature": {"type": "Property", "value": (n % 400) / 10, "unitCode": "CEL"},
            "relativeHumidity": {"type": "Property", "value": (n % 100) / 100, "unitCode": "P1"},
            "airQualityLevel": {"type": "Property", "value": "moderate"},
            "location": {"type": "GeoProperty",
                         "value": {"type": "Point", "coordinates": [135.4 + n % 100 / 500, 34.8 + n % 70 / 500]}}}


async def patch_round(writer, ctx, count: int) -> float:
    name = ctx.expand_term("occupancy")
    rng = random.Random(1)

    async def one(n: int) -> None:
        entity_id = bench_data.shelter_id(rng.randrange(SHELTERS))
        now = ops.now_iso()
        patch = parse_attribute("occupancy", {"value": n % 100}, ctx, now=now, partial=True)[0]
        await writer.apply_one("default", entity_id, lambda b: ops.update_attribute(b, name, patch, now, entity_id))

    started = _clock()
    for first in range(0, count, CONCURRENCY):
        await asyncio.gather(*(one(n) for n in range(first, min(first + CONCURRENCY, count))))
    return _clock() - started


def parsed_batch(ctx, tag: str, size: int = 100) -> list[dict]:
    now = ops.now_iso()
    return [parse_entity(air_quality(tag, n), ctx, now=now) for n in range(size)]


async def upsert_round(writer, ctx, tag: str, batches: int) -> float:
    todo = [parsed_batch(ctx, f"{tag}-{b}") for b in range(batches)]
    started = _clock()
    for parsed in todo:
        now = ops.now_iso()
        outcomes = await writer.apply("default", [(p["id"], lambda b, p=p, now=now: ops.upsert(b, p, now, mode="replace"))
                                                  for p in parsed])
        assert all(o.error is None for o in outcomes)
    return _clock() - started


def ceiling_round(path: Path, tag: str, batches: int) -> float:
    import reference_apps

    db = reference_apps.open_bulk_db(path)
    bodies = [orjson.dumps([air_quality(f"{tag}-{b}", n) for n in range(100)]) for b in range(batches)]
    started = _clock()
    for body in bodies:
        reference_apps.bulk_write(db, orjson.loads(body))
    elapsed = _clock() - started
    db.close()
    return elapsed


def parse_round(ctx, batches: int) -> float:
    items = [[air_quality(f"p{b}", n) for n in range(100)] for b in range(batches)]
    started = _clock()
    now = ops.now_iso()
    for batch in items:
        for item in orjson.loads(orjson.dumps(batch)):
            parse_entity(item, ctx, now=now)
    return _clock() - started


class LockClock:
    """Times each PostgreSQL write transaction from BEGIN IMMEDIATE to its COMMIT's answer."""

    def __init__(self, db):
        self.held, self.statements = [], 0
        self._db, self._execute, self._started = db, db.execute, None
        run = db._run

        def execute(sql, params=()):
            if sql.startswith("BEGIN IMMEDIATE"):
                self._started = time.perf_counter()
            result = self._execute(sql, params)
            if sql == "COMMIT" and self._started is not None:
                self.held.append(time.perf_counter() - self._started)
                self._started = None
            return result

        def counted(method, sql, params):
            self.statements += 1
            return run(method, sql, params)
        db.execute, db._run = execute, counted


def fresh_schema(server_url: str) -> tuple[str, str]:
    """A new schema on the server (synchronous_commit as the server has it), and its URL."""
    import uuid

    import psycopg

    name = "bench_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return name, f"{server_url}?options=-csearch_path%3D{name}"


def drop_schema(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


async def main_async(args) -> None:
    schema, url = fresh_schema(args.database_url) if args.database_url else (None, "")
    try:
        await run(args, url)
    finally:
        if schema:
            drop_schema(args.database_url, schema)


async def run(args, database_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=str(Path(tmp) / "data"), database_url=database_url)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            services = app.state.toshi
            writer, ctx = services.writer, core_context()
            now = ops.now_iso()
            shelters = [parse_entity(bench_data.shelter(n), ctx, now=now) for n in range(SHELTERS)]
            await writer.apply("default", [(p["id"], lambda b, p=p: ops.upsert(b, p, now, mode="replace"))
                                           for p in shelters])
            clock = LockClock(services.store.db) if args.lock_stats and args.database_url else None
            results = {"patch": [], "upsert": [], "parse": [], "ceiling": []}
            for r in range(args.rounds):
                if clock:
                    clock.held.clear()
                    clock.statements = 0
                seconds = await patch_round(writer, ctx, args.patches)
                results["patch"].append(args.patches / seconds)
                if clock and clock.held:
                    held = sorted(clock.held)
                    print(f"patch round {r}: {len(held)} transactions, lock held median "
                          f"{held[len(held) // 2] * 1e3:.2f} ms, total {sum(held):.2f} s of {seconds:.2f} s; "
                          f"{clock.statements / args.patches:.1f} statements per update", file=sys.stderr)
                    clock.held.clear()
                    clock.statements = 0
                seconds = await upsert_round(writer, ctx, f"r{r}", args.batches)
                results["upsert"].append(args.batches * 100 / seconds)
                if clock and clock.held:
                    held = sorted(clock.held)
                    print(f"upsert round {r}: lock held median {held[len(held) // 2] * 1e3:.2f} ms per 100 entities, "
                          f"total {sum(held):.2f} s of {seconds:.2f} s; {clock.statements / args.batches:.1f} "
                          "statements per batch", file=sys.stderr)
                results["parse"].append(args.batches * 100 / parse_round(ctx, args.batches))
                results["ceiling"].append(args.batches * 100 / ceiling_round(Path(tmp) / "ceiling.db", f"r{r}",
                                                                              args.batches))
    backend = ("PostgreSQL" if args.database_url else "SQLite") + (" (CPU time)" if CPU["on"] else " (wall clock)")
    for name, unit in (("patch", "updates/s"), ("upsert", "entities/s"), ("parse", "entities/s"),
                       ("ceiling", "entities/s")):
        figures = results[name]
        print(f"{backend} {name}: best {max(figures):,.0f} {unit} "
              f"({1e6 / max(figures):.1f} µs each); rounds: {', '.join(f'{f:,.0f}' for f in figures)}")
    both = 1 / (1 / max(results["upsert"]) + 1 / max(results["parse"]))
    print(f"upsert + parse: {both:,.0f} entities/s = {both / max(results['ceiling']):.0%} of the ceiling")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL server URL: the run makes a schema of its own and drops it")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--patches", type=int, default=4000)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--lock-stats", action="store_true", help="PostgreSQL: write-lock hold times")
    parser.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time (default on PostgreSQL)")
    args = parser.parse_args()
    CPU["on"] = not (args.wall or args.database_url)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
