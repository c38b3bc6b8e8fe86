"""Open-data catalogue figures: a CSV of N shelter rows (the standard dataset 03, every column
filled) imported into entities, then the CSV and GeoJSON distributions downloaded from a running
`toshi serve` (streamed), with the server's memory before and after.

    python3 bench/catalogue_bench.py [--rows 100000]

Import runs in-process as `toshi import` does (validation, then writes through the Writer with every
feature's listeners, SQLite in a temporary data directory); the download goes over HTTP on 127.0.0.1.
Two ceilings are measured in the same process, since the machine's load moves every figure: the
entities' documents alone into a plain SQLite table (for the import) and the store's pages of the
dataset alone (for the downloads)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from toshi.app import create_app  # noqa: E402
from toshi.catalogue import csv_import, distributions  # noqa: E402
from toshi.catalogue.datasets import Datasets  # noqa: E402
from toshi.catalogue.importing import dataset_for  # noqa: E402
from toshi.catalogue.opening import open_dataset  # noqa: E402
from toshi.catalogue.standards import EVACUATION_SITES  # noqa: E402
from toshi.config import Settings  # noqa: E402
from toshi.store import store_for  # noqa: E402


def shelters(rows: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EVACUATION_SITES.headers)
    for n in range(rows):
        cells = {"全国地方公共団体コード": "273619", "ID": f"{n:06d}", "名称": f"避難場所{n}", "名称_カナ": "ヒナンバショ",
                 "所在地_連結表記": f"大阪府豊能郡豊能町余野{n}", "緯度": f"{34.80 + n % 1000 / 10000:.4f}",
                 "経度": f"{135.40 + n // 1000 / 10000:.4f}", "災害種別_洪水": "1", "災害種別_地震": "1",
                 "想定収容人数": str(100 + n % 400), "対象となる町会・自治会": "余野;川尻", "電話番号": "072-739-0001"}
        writer.writerow([cells.get(h, "") for h in EVACUATION_SITES.headers])
    return buffer.getvalue().encode("utf-8")


async def import_rows(settings: Settings, data: bytes) -> dict:
    store = store_for(settings)
    await store.open()
    services = create_app(settings, store).state.toshi
    dataset, _ = dataset_for(Datasets(store), "", "shelters", data)
    started = time.perf_counter()
    plan = csv_import.plan(dataset, data)
    checked = time.perf_counter()
    assert plan.error_count == 0, plan.errors[:3]
    await csv_import.write(services, dataset, plan)
    written = time.perf_counter()
    dataset.attrs = list(EVACUATION_SITES.attrs)
    open_dataset(services, store, dataset)
    scan_s, docs = await scan(services, dataset)
    await store.close()
    return {"rows": plan.rows, "check_s": checked - started, "write_s": written - checked, "scan_s": scan_s,
            "raw_insert_s": raw_insert(docs)}


async def scan(services, dataset) -> tuple[float, list[tuple]]:
    """Ceiling of the downloads, in this process: the store's pages of the dataset alone (the same
    keyset queries the downloads make, as the public reads), no formatting, no HTTP."""
    started = time.perf_counter()
    pages = [page async for page in distributions.entities(services, dataset)]
    seconds = time.perf_counter() - started
    return seconds, [(n, "", e["id"], orjson.dumps(e).decode()) for n, e in enumerate(
        (e for page in pages for e in page), 1)]


def raw_insert(docs: list[tuple]) -> float:
    """Ceiling of the import's writes, in this process: the entities' documents alone into one plain
    SQLite table (WAL, one executemany, one commit) — no index rows, change log, history or audit."""
    path = Path(tempfile.mkdtemp(prefix="toshi-catalogue-raw-")) / "raw.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE entities (tenant TEXT, id TEXT, doc TEXT, PRIMARY KEY (tenant, id))")
    started = time.perf_counter()
    db.executemany("INSERT INTO entities (rowid, tenant, id, doc) VALUES (?, ?, ?, ?)", docs)
    db.commit()
    seconds = time.perf_counter() - started
    db.close()
    return seconds


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def download(url: str, pid: int) -> dict:
    before = memory_kb(pid, "VmRSS")
    started = time.perf_counter()
    size = lines = 0
    with httpx.stream("GET", url, timeout=600) as response:
        for chunk in response.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "bytes": size, "lines": lines, "rss_before_kb": before,
            "rss_after_kb": memory_kb(pid, "VmRSS"), "peak_kb": memory_kb(pid, "VmHWM")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="toshi-catalogue-bench-"))
    data = shelters(args.rows)
    figures = asyncio.run(import_rows(Settings(data_dir=str(data_dir)), data))
    total = figures["check_s"] + figures["write_s"]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, SQLite")
    print(f"import of {figures['rows']:,} rows ({len(data) / 1e6:.1f} MB): check {figures['check_s']:.1f} s "
          f"({figures['rows'] / figures['check_s']:,.0f} rows/s), write {figures['write_s']:.1f} s "
          f"({figures['rows'] / figures['write_s']:,.0f} rows/s), total {figures['rows'] / total:,.0f} rows/s")
    print(f"ceilings in the same process: the documents alone into a plain table {figures['rows'] / figures['raw_insert_s']:,.0f} "
          f"rows/s; the store's pages alone {figures['rows'] / figures['scan_s']:,.0f} entities/s; load "
          f"{os.getloadavg()[0]:.1f}")
    port = 20000 + os.getpid() % 20000
    server = subprocess.Popen([sys.executable, "-m", "toshi.cli", "serve", "--port", str(port), "--data-dir",
                               str(data_dir), "--log-level", "warning"], stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                httpx.get(f"http://127.0.0.1:{port}/version", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        for fmt in ("csv", "geojson", "csv", "geojson"):
            got = download(f"http://127.0.0.1:{port}/catalogue/datasets/shelters.{fmt}", server.pid)
            print(f"{fmt}: {figures['rows']:,} entities in {got['seconds']:.2f} s = "
                  f"{figures['rows'] / got['seconds']:,.0f} entities/s, {got['bytes'] / 1e6:.1f} MB; server RSS "
                  f"{got['rss_before_kb'] / 1024:.0f} -> {got['rss_after_kb'] / 1024:.0f} MiB "
                  f"(peak {got['peak_kb'] / 1024:.0f} MiB); load {os.getloadavg()[0]:.1f}")
    finally:
        server.terminate()
        server.wait(20)


if __name__ == "__main__":
    main()
