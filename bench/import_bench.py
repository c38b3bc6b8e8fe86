"""CSV import and download figures of the open-data catalogue, before and after, interleaved.

    git archive 940ed75 | (mkdir -p /tmp/toshi-before && tar -x -C /tmp/toshi-before)
    python3 bench/import_bench.py --before /tmp/toshi-before [--after DIR] [--rows 10000 --rows 100000]
        [--rounds 2]

Each measurement is a child process of its own on a fresh SQLite data directory, running one tree's
`toshi` (--before's, or --after's: by default this checkout): a CSV of N shelter rows (the standard
dataset 03, bench/catalogue_bench.py's file) is checked (`csv_import.plan`) and written through the
Writer with every feature's listeners (`csv_import.write`, as `toshi import` does), then the dataset
is opened and its CSV and GeoJSON distributions are streamed in process (the generators the HTTP
route sends, no HTTP). The runs alternate before/after for each size and round, so both see the
same machine; CPU seconds (`time.process_time`) are given beside wall seconds, since a shared
machine's load moves wall time, and the 1-min load average is printed with every run."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()


async def measure(rows: int) -> dict:
    from catalogue_bench import shelters

    from toshi.app import create_app
    from toshi.catalogue import csv_import, distributions
    from toshi.catalogue.datasets import Datasets
    from toshi.catalogue.importing import dataset_for
    from toshi.catalogue.opening import open_dataset
    from toshi.catalogue.standards import EVACUATION_SITES
    from toshi.config import Settings
    from toshi.store import store_for

    settings = Settings(data_dir=tempfile.mkdtemp(prefix="toshi-import-bench-"))
    store = store_for(settings)
    await store.open()
    services = create_app(settings, store).state.toshi
    data = shelters(rows)
    dataset, _ = dataset_for(Datasets(store), "", "shelters", data)
    figures = {}
    with timed(figures, "check"):
        plan = csv_import.plan(dataset, data)
    assert plan.error_count == 0 and plan.rows == rows, plan.errors[:3]
    with timed(figures, "write"):
        await csv_import.write(services, dataset, plan)
    dataset.attrs = list(EVACUATION_SITES.attrs)
    open_dataset(services, store, dataset)
    for fmt in ("csv", "geojson"):
        with timed(figures, fmt):
            size = 0
            async for chunk in distributions.STREAMS[fmt](services, dataset):
                size += len(chunk)
        figures[fmt + "_bytes"] = size
    await store.close()
    return figures


class timed:
    """Puts the wall and CPU seconds of its block in figures[name + '_wall' / '_cpu']."""

    def __init__(self, figures: dict, name: str):
        self.figures, self.name = figures, name

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc):
        self.figures[self.name + "_wall"] = time.perf_counter() - self.wall
        self.figures[self.name + "_cpu"] = time.process_time() - self.cpu


def child(tree: str, rows: int) -> None:
    sys.path.insert(0, tree)
    import toshi

    assert Path(toshi.__file__).resolve().is_relative_to(Path(tree).resolve()), toshi.__file__
    print(json.dumps(asyncio.run(measure(rows))))


def run(label: str, tree: str, rows: int) -> dict:
    load = os.getloadavg()[0]
    out = subprocess.run([sys.executable, str(HERE), "--child", tree, "--rows", str(rows)], check=True,
                         capture_output=True, text=True).stdout
    return {"label": label, "rows": rows, "load": (load, os.getloadavg()[0]), **json.loads(out.splitlines()[-1])}


def line(r: dict) -> str:
    n = r["rows"]

    def rate(name: str) -> str:
        return f"{n / r[name + '_cpu']:>7,.0f} ({n / r[name + '_wall']:>7,.0f})"
    return (f"| {r['label']:6} | {n:>7,} | {r['load'][0]:4.1f}-{r['load'][1]:4.1f} | {rate('check')} | "
            f"{rate('write')} | {rate('csv')} | {rate('geojson')} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="a tree of the baseline commit (git archive), run interleaved")
    parser.add_argument("--after", default=str(HERE.parent.parent), help="the tree measured (this checkout)")
    parser.add_argument("--rows", type=int, action="append")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = args.rows or [10_000, 100_000]
    if args.child:
        child(args.child, sizes[0])
        return
    trees = [("before", args.before)] if args.before else []
    trees.append(("after", args.after))
    print("rows/s of CPU time (of wall time); 1-min load average before-after the run")
    print("| run    |    rows | load      | check rows/s      | write rows/s      | CSV entities/s    "
          "| GeoJSON entities/s |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for rows in sizes:
        for round_ in range(args.rounds):
            order = trees if round_ % 2 == 0 else trees[::-1]
            for label, tree in order:
                print(line(run(label, tree, rows)), flush=True)


if __name__ == "__main__":
    main()
