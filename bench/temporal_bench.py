"""Temporal API benchmark: 1,000,000 observations of one attribute, then lastN and aggregations.

Loads the points directly through `toshi.temporal.history` (bulk insert in one transaction, as the
temporal API's append does), then measures, each as the median of repeated runs:

- the history module alone: lastN=100; a one-day window aggregated per hour (PT1H); the whole history
  aggregated per day (P1D);
- the same through the ASGI app in-process (Starlette TestClient: routing, parsing, rendering, JSON).

    python bench/temporal_bench.py [--points 1000000] [--repeat 20]

The points are one every 30 s from 2026-01-01 (1,000,000 span ~347 days), value = a deterministic
river level in cm.

    python bench/temporal_bench.py --sensors 1000 --seconds 3600

The cost of growth instead (issue 20): an hour of 1,000 sensors at 1 Hz (3.6M instances), loaded in
time order (each minute, every sensor's 60 readings), then the storage per instance and one sensor's
day (normalized, and per minute) through the app.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from toshi.core.entity import now_iso
from toshi.core.times import to_ms
from toshi.store.sqlite import SqliteStore
from toshi.temporal.aggregate import parse_aggregation
from toshi.temporal.history import history_for
from toshi.temporal.timequery import TimeQuery

ENTITY = "urn:ngsi-ld:WaterLevelObserved:bench"
TYPE = "https://uri.etsi.org/ngsi-ld/default-context/WaterLevelObserved"
ATTR = "https://uri.etsi.org/ngsi-ld/default-context/level"
START = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=30)
CHUNK = 50_000


def observed(n: int) -> str:
    return (START + STEP * n).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def level(n: int) -> float:
    return round(120 + 40 * ((n * 7919) % 1000) / 1000, 1)


async def open_history(path: Path):
    """A store on `path` and its history module, with the tables made outside the load's transactions."""
    store = SqliteStore(path)
    await store.open()
    history = history_for(store)
    history.db  # noqa: B018 - creates the tables outside the load transaction
    return store, history


async def load(path: Path, points: int) -> float:
    store, history = await open_history(path)
    began = time.perf_counter()
    now = now_iso()
    async with store.transaction("") as _:
        for first in range(0, points, CHUNK):
            instances = [{"type": "Property", "value": level(n), "unitCode": "CMT", "observedAt": observed(n),
                          "createdAt": now, "modifiedAt": now} for n in range(first, min(points, first + CHUNK))]
            history.append("", ENTITY, [TYPE], {ATTR: instances}, live=False, now=now)
    elapsed = time.perf_counter() - began
    await store.close()
    return elapsed


def median_ms(run, repeat: int) -> float:
    run()  # warm the caches
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def window_day(points: int) -> datetime:
    """A whole day in the middle of the history."""
    return START + timedelta(days=int(points * STEP.total_seconds() // 86_400 // 2))


async def direct(path: Path, points: int, repeat: int) -> dict[str, float]:
    store = SqliteStore(path)
    await store.open()
    history = history_for(store)
    [series] = history.series("", ENTITY)
    day = to_ms(window_day(points).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    window = TimeQuery("between", day, day + 86_400_000)
    hourly, daily = parse_aggregation("avg,min,max,sum,totalCount", "PT1H"), parse_aggregation(
        "avg,min,max,sum,totalCount", "P1D")
    everything = TimeQuery()
    first, last = history.time_range([series.id], everything)
    figures = {
        "lastN=100": median_ms(lambda: history.instances(series.id, TimeQuery(last_n=100), 10_000), repeat),
        "1 day, PT1H periods": median_ms(lambda: history.aggregate(
            series.id, window, hourly, window.time_at, window.end_time_at), repeat),
        "1 day, PT1H periods + stddev": median_ms(lambda: history.aggregate(
            series.id, window, parse_aggregation("avg,stddev", "PT1H"), window.time_at, window.end_time_at), repeat),
        "whole history, P1D periods": median_ms(lambda: history.aggregate(
            series.id, everything, daily, first, last), max(3, repeat // 5)),
        "whole history, P1D periods + stddev": median_ms(lambda: history.aggregate(
            series.id, everything, parse_aggregation("avg,stddev", "P1D"), first, last), max(3, repeat // 5)),
    }
    assert len(history.aggregate(series.id, window, hourly, window.time_at, window.end_time_at)) == 24
    await store.close()
    return figures


def through_app(data_dir: Path, points: int, repeat: int) -> dict[str, float]:
    warnings.filterwarnings("ignore", message=".*httpx.*")  # TestClient's notice about its HTTP client
    from starlette.testclient import TestClient

    from toshi.app import create_app
    from toshi.config import Settings

    url = f"/ngsi-ld/v1/temporal/entities/{ENTITY}"
    first = window_day(points)
    day = {"timerel": "between", "timeAt": first.strftime("%Y-%m-%dT%H:%M:%SZ"),
           "endTimeAt": (first + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    aggregated = {"options": "aggregatedValues", "aggrMethods": "avg,min,max,sum,totalCount"}
    with TestClient(create_app(Settings(data_dir=str(data_dir)))) as client:
        def get(params: dict):
            def run():
                response = client.get(url, params=params)
                assert response.status_code == 200, response.text
            return run

        return {
            "lastN=100": median_ms(get({"lastN": 100}), repeat),
            "lastN=100, temporalValues": median_ms(get({"lastN": 100, "options": "temporalValues"}), repeat),
            "1 day, normalized (2,880 instances)": median_ms(get(day), repeat),
            "1 day, PT1H periods": median_ms(get({**day, **aggregated, "aggrPeriodDuration": "PT1H"}), repeat),
            "whole history, P1D periods": median_ms(get({**aggregated, "aggrPeriodDuration": "P1D"}),
                                                    max(3, repeat // 5)),
        }


def sensor(i: int) -> str:
    return f"{ENTITY}-{i:04d}"


async def load_fleet(path: Path, sensors: int, seconds: int) -> float:
    store, history = await open_history(path)
    began = time.perf_counter()
    now = now_iso()
    for minute in range(0, seconds, 60):
        async with store.transaction("") as _:
            for i in range(sensors):
                instances = [{"type": "Property", "value": level(n * sensors + i), "unitCode": "CMT",
                              "observedAt": (START + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                              "createdAt": now, "modifiedAt": now} for n in range(minute, min(seconds, minute + 60))]
                history.append("", sensor(i), [TYPE], {ATTR: instances}, live=False, now=now)
    elapsed = time.perf_counter() - began
    await store.close()
    return elapsed


def fleet_through_app(data_dir: Path, sensors: int, seconds: int, repeat: int) -> dict[str, float]:
    warnings.filterwarnings("ignore", message=".*httpx.*")
    from starlette.testclient import TestClient

    from toshi.app import create_app
    from toshi.config import Settings

    url = f"/ngsi-ld/v1/temporal/entities/{sensor(sensors // 2)}"
    day = {"timerel": "between", "timeAt": START.strftime("%Y-%m-%dT%H:%M:%SZ"),
           "endTimeAt": (START + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    per_minute = {"options": "aggregatedValues", "aggrMethods": "avg,min,max", "aggrPeriodDuration": "PT1M"}
    with TestClient(create_app(Settings(data_dir=str(data_dir)))) as client:
        def get(params: dict, instances: int, key: str | None = None):
            def run():
                response = client.get(url, params=params)
                assert response.status_code == 200, response.text
                got = response.json()[ATTR.rsplit("/", 1)[1]]
                assert len(got[key] if key else got) == instances, response.text[:300]
            return run

        return {
            f"one sensor's day, normalized ({seconds:,} instances)": median_ms(get(day, seconds), repeat),
            "one sensor's day, PT1M periods": median_ms(get({**day, **per_minute}, -(-seconds // 60), "avg"), repeat),
            "lastN=100": median_ms(get({"lastN": 100}, 100), repeat),
        }


def fleet(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        path = data_dir / "toshi.db"
        total = args.sensors * args.seconds
        seconds = asyncio.run(load_fleet(path, args.sensors, args.seconds))
        size = sum(f.stat().st_size for f in data_dir.iterdir() if f.name.startswith("toshi.db"))
        print(f"loaded {total:,} instances ({args.sensors:,} sensors x {args.seconds:,} s) in {seconds:.1f} s "
              f"({total / seconds:,.0f}/s), database {size / 1e6:.0f} MB = {size / total:.0f} bytes per instance")
        print("through the app, in-process HTTP (median ms):")
        for name, ms in fleet_through_app(data_dir, args.sensors, args.seconds, args.repeat).items():
            print(f"  {name:50s} {ms:9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--sensors", type=int, help="the cost-of-growth run: this many sensors at 1 Hz")
    parser.add_argument("--seconds", type=int, default=3600, help="with --sensors: seconds of history")
    args = parser.parse_args()
    if args.sensors:
        fleet(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        path = data_dir / "toshi.db"
        seconds = asyncio.run(load(path, args.points))
        size = sum(f.stat().st_size for f in data_dir.iterdir() if f.name.startswith("toshi.db"))
        print(f"loaded {args.points:,} points in {seconds:.1f} s ({args.points / seconds:,.0f} points/s), "
              f"database {size / 1e6:.0f} MB")
        print("history module (median ms):")
        for name, ms in asyncio.run(direct(path, args.points, args.repeat)).items():
            print(f"  {name:40s} {ms:9.2f}")
        print("through the app, in-process HTTP (median ms):")
        for name, ms in through_app(data_dir, args.points, args.repeat).items():
            print(f"  {name:40s} {ms:9.2f}")


if __name__ == "__main__":
    main()
