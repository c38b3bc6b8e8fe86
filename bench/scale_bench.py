"""The NGSI-LD and NGSI-v2 scenarios of bench/run.py on SQLite and on PostgreSQL with 1 and 2 workers.

    python3 bench/scale_bench.py                  # every scenario, 10 s each, three configurations
    python3 bench/scale_bench.py --quick          # 3 s each, 10,000 WeatherObserved: a smoke run
    python3 bench/scale_bench.py --config pg-2 --scenario update --duration 5
    python3 bench/scale_bench.py --write-md       # also replace the scale section of BENCHMARKS.md

Each configuration gets a fresh server: `sqlite` (one process, as bench/run.py runs it), `pg-1`
(`toshi serve --database-url ... --workers 1`) and `pg-2` (`--workers 2`), each PostgreSQL one in a
fresh schema of the `test` database (dropped afterwards). The data is loaded through the API as
bench/run.py loads it, then wrk drives the NGSI-LD rows of bench/run.py and the NGSI-v2 rows of
bench/v2_bench.py. Nothing is pinned to a CPU: PostgreSQL needs the cores too, so the server, the
database and wrk share the machine in all three configurations.

Two write-path costs are measured on PostgreSQL as well:
- statements per update: updates run in this process through the app (the real write path, with its
  history and audit listeners) against a fresh schema, counting what `PgConnection` sends, one at a
  time and 32 at a time (the group commit lets concurrent updates share a transaction);
- WAL syncs and commits per request: `pg_stat_wal` and `pg_stat_database` read before and after the
  `update` and `batch` scenarios of `pg-1`, less what the cluster did over an idle window of the same
  length just before (other clients of the same PostgreSQL count in these views too).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import shlex
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import bench_data
import psycopg
import run
import v2_bench

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
MARK_BEGIN = "<!-- bench:scale:begin -->"
MARK_END = "<!-- bench:scale:end -->"
HEADING = "## PostgreSQL and workers (`python3 bench/scale_bench.py`)"
TARGET_SHARE = 0.50          # PostgreSQL with 2 workers against SQLite's single process
WAL_ROWS = ("update", "batch")  # the rows of pg-1 measured with pg_stat_wal / pg_stat_database
STATS_FLUSH_S = 11           # a PostgreSQL backend reports its pending statistics within 10 s of going idle
CONCURRENT = 32              # updates in flight at once for the group-commit figure (wrk's connections)
BATCHES = 20                 # in-process batches of BATCH_SIZE entities for statements per batch


@dataclass(frozen=True)
class Config:
    name: str
    label: str
    workers: int  # 0: SQLite


CONFIGS = (Config("sqlite", "SQLite", 0), Config("pg-1", "PG 1 worker", 1), Config("pg-2", "PG 2 workers", 2))


# -- PostgreSQL -----------------------------------------------------------------------------------

def schema_url(server_url: str, schema: str) -> str:
    return f"{server_url}{'&' if '?' in server_url else '?'}options=-csearch_path%3D{schema}"


@contextmanager
def pg_schema(server_url: str, tag: str) -> Iterator[str]:
    """A fresh schema (dropped afterwards); yields the URL that puts Toshi in it."""
    name = f"toshi_bench_{tag}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield schema_url(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@contextmanager
def database_for(config: Config, server_url: str) -> Iterator[str]:
    """"" for SQLite, else the URL of a fresh schema."""
    if not config.workers:
        yield ""
        return
    with pg_schema(server_url, config.name.replace("-", "")) as url:
        yield url


def server_args(config: Config, url: str) -> tuple[str, ...]:
    return ("--database-url", url, "--workers", str(config.workers)) if config.workers else ()


def pg_info(server_url: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                    for name in ("synchronous_commit", "fsync", "wal_sync_method", "commit_delay",
                                 "shared_buffers")}
    return (f"PostgreSQL {version} on 127.0.0.1 (" + ", ".join(f"{k}={v}" for k, v in settings.items())
            + f"), psycopg {psycopg.__version__}")


@dataclass(frozen=True)
class PgCounters:
    """Cumulative counters of the whole cluster (WAL) and of the database (commits)."""

    wal_records: int = 0
    wal_write: int = 0
    wal_sync: int = 0
    xact_commit: int = 0

    def __sub__(self, other: PgCounters) -> PgCounters:
        return PgCounters(*(a - b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))


def pg_counters(server_url: str) -> PgCounters:
    with psycopg.connect(server_url, autocommit=True) as conn:
        wal = conn.execute("SELECT wal_records, wal_write, wal_sync FROM pg_stat_wal").fetchone()
        commits = conn.execute("SELECT xact_commit FROM pg_stat_database "
                               "WHERE datname = current_database()").fetchone()
    return PgCounters(*wal, *commits)


@dataclass
class WalCost:
    row: str
    requests: int
    measured: PgCounters     # over the measured run (+ the statistics flush delay)
    background: PgCounters   # over an idle window of the same length just before

    def per_request(self, name: str) -> float:
        net = getattr(self.measured, name) - getattr(self.background, name)
        return net / self.requests if self.requests else 0.0


def measure_with_wal(row: run.Row, server: run.Server, wrk_cfg: run.WrkConfig,
                     server_url: str) -> tuple[run.Result, WalCost]:
    """One measured run (no best-of) between readings of the PostgreSQL statistics."""
    if wrk_cfg.warmup:
        run.run_wrk(row, server.port, wrk_cfg.warmup, wrk_cfg, f"w{int(time.time())}")
        run.wait_idle(server)
    time.sleep(STATS_FLUSH_S)  # the warm-up's statistics reach the views
    window = wrk_cfg.duration + STATS_FLUSH_S
    print(f"  reading pg_stat_wal over {window} s idle, then over the run ...", file=sys.stderr)
    start = pg_counters(server_url)
    time.sleep(window)
    idle_end = pg_counters(server_url)
    begun = time.monotonic()
    result = run.measure_once(row, server, wrk_cfg, None, f"m{int(time.time())}")
    time.sleep(max(0.0, window - (time.monotonic() - begun)))
    end = pg_counters(server_url)
    return result, WalCost(row.name, result.requests, end - idle_end, idle_end - start)


# -- the wrk runs ---------------------------------------------------------------------------------

def all_rows(query_entities: int) -> list[run.Row]:
    ld = [r for r in run.all_rows(query_entities) if r.server == "toshi"]
    return ld + v2_bench.v2_rows(query_entities)


def run_order(rows: list[run.Row]) -> list[run.Row]:
    """Batches last: they add entities, which the other rows should not see."""
    return sorted(rows, key=lambda r: r.group == "batch")


def matches(row: run.Row, port: int) -> str:
    count = v2_bench.v2_match_count if row.name.startswith("v2-") else run.match_count
    return count(port, row.options["path"])


@dataclass
class ConfigRun:
    config: Config
    results: dict[str, run.Result] = field(default_factory=dict)
    data_notes: list[str] = field(default_factory=list)
    wal: list[WalCost] = field(default_factory=list)
    failure: str = ""  # why the configuration stopped early (its other rows are kept)


def run_config(config: Config, rows: list[run.Row], wrk_cfg: run.WrkConfig, args: argparse.Namespace,
               tmp: Path) -> ConfigRun:
    out = ConfigRun(config)
    with database_for(config, args.pg_url) as url:
        data_dir = tmp / config.name / "data"  # the server log goes beside it
        data_dir.parent.mkdir(parents=True)
        server = run.toshi_server(data_dir, [], server_args(config, url))
        print(f"[{config.name}] starting {shlex.join(server.cmd)}", file=sys.stderr)
        try:
            server.start()
            out.data_notes = run.load_for(rows, server.port, args.query_entities)
            if url:
                analyze(url)
                out.data_notes.append("PostgreSQL: ANALYZE after loading (what autovacuum does a little later by itself)")
            for row in run_order(rows):
                out.results[row.name] = run_row(config, row, server, wrk_cfg, args, out)
        except RuntimeError as exc:  # a server that would not start or died: report, go on with the next
            out.failure = str(exc)
            print(f"[{config.name}] FAILED: {exc}", file=sys.stderr)
        finally:
            server.stop()
            keep_log(server, out, args.stamp)
    return out


def analyze(url: str) -> None:
    """Fresh planner statistics for the loaded tables, so that plans are those of a town that has run
    a while, not of empty tables."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def keep_log(server: run.Server, out: ConfigRun, stamp: str) -> None:
    """The server log of a configuration that failed or had errors, kept beside the results."""
    if out.failure or any(r.errors for r in out.results.values()):
        run.RESULTS_DIR.mkdir(exist_ok=True)
        kept = run.RESULTS_DIR / f"scale-{stamp}-{out.config.name}.log"
        kept.write_bytes(server.log_path.read_bytes() if server.log_path.exists() else b"")
        out.data_notes.append(f"server log kept in {kept.relative_to(run.REPO)}")


def run_row(config: Config, row: run.Row, server: run.Server, wrk_cfg: run.WrkConfig,
            args: argparse.Namespace, out: ConfigRun) -> run.Result:
    if not server.alive():
        raise RuntimeError(f"{config.name}: the server died before {row.name}:\n{server.log_tail()}")
    print(f"[{config.name}] running {row.name} ...", file=sys.stderr)
    if config.name == "pg-1" and row.name in WAL_ROWS and not args.no_wal:
        result, cost = measure_with_wal(row, server, wrk_cfg, args.pg_url)
        out.wal.append(cost)
    else:
        result = run.measure(row, server, wrk_cfg, None)
    if row.group == "query":
        result.notes.append(matches(row, server.port))
    if result.errors:
        result.notes.append(f"errors: {result.error_detail}; server log ends: {server.log_tail(3)[-400:]!r}")
    return result


# -- statements per update, in process ------------------------------------------------------------

class StatementCounter:
    """Counts what PgConnection sends while `active` (executemany: one statement, its rows counted)."""

    def __init__(self):
        self.active = False
        self.statements: Counter[str] = Counter()
        self.rows = 0

    @contextmanager
    def installed(self) -> Iterator[StatementCounter]:
        from toshi.store.pgsql import PgConnection

        original = PgConnection._run

        def counting(conn, method: str, sql: str, params):
            if self.active:
                self.statements[kind(sql)] += 1
                self.rows += len(params) if method == "executemany" else 1
            return original(conn, method, sql, params)

        PgConnection._run = counting
        try:
            yield self
        finally:
            PgConnection._run = original

    def reset(self) -> None:
        self.statements, self.rows = Counter(), 0


def kind(sql: str) -> str:
    if "pg_advisory_xact_lock" in sql:
        return "lock"
    return sql.split(None, 1)[0].upper()


@dataclass
class StatementCost:
    what: str
    operations: int   # updates, or batches
    statements: Counter[str]
    rows: int
    seconds: float
    wal: PgCounters | None = None          # over the phase, less an idle window of the same length after it
    wal_background: PgCounters | None = None

    @property
    def total(self) -> int:
        return sum(self.statements.values())

    def per_op(self, value: float) -> float:
        return value / self.operations


@dataclass
class Meter:
    """Counts a phase's statements, and reads the PostgreSQL statistics around it: the store's own
    connection is asked to report its statistics at once (pg_stat_force_next_flush), so no wait."""

    counter: StatementCounter
    store_db: psycopg.Connection   # the store's connection (not counted: raw psycopg)
    server_url: str

    def wal(self) -> PgCounters:
        self.store_db.execute("SELECT pg_stat_force_next_flush()")
        return pg_counters(self.server_url)

    async def counted(self, what: str, operations: int, work: Callable[[], Awaitable[None]]) -> StatementCost:
        before = self.wal()
        self.counter.reset()
        self.counter.active = True
        started = time.perf_counter()
        try:
            await work()
        finally:
            self.counter.active = False
        seconds = time.perf_counter() - started
        during = self.wal() - before
        await asyncio.sleep(seconds)  # the idle window: what the other clients of the cluster do meanwhile
        background = self.wal() - before - during
        return StatementCost(what, operations, self.counter.statements, self.counter.rows, seconds,
                             during - background, background)


def air_quality(tag: str, n: int) -> dict:
    """An AirQualityObserved like bench/wrk/batch.lua's."""
    observed = {"observedAt": bench_data.OBSERVED_AT, "unitCode": "GQ"}
    return {"id": f"urn:ngsi-ld:AirQualityObserved:{tag}-{n}", "type": "AirQualityObserved",
            "dateObserved": {"type": "Property",
                             "value": {"@type": "DateTime", "@value": bench_data.OBSERVED_AT}},
            "NO2": {"type": "Property", "value": n % 90, **observed},
            "PM10": {"type": "Property", "value": n % 70, **observed},
            "PM2_5": {"type": "Property", "value": n % 50, **observed},
            "temperature": {"type": "Property", "value": (n % 400) / 10, "unitCode": "CEL"},
            "relativeHumidity": {"type": "Property", "value": (n % 100) / 100, "unitCode": "P1"},
            "airQualityLevel": {"type": "Property", "value": "moderate"},
            "location": {"type": "GeoProperty", "value": bench_data._point(n)}}


class InProcessApp:
    """Toshi's app against one PostgreSQL schema, called through httpx without a socket."""

    def __init__(self, client):
        self.client = client
        self.rng = random.Random(1)

    async def call(self, method: str, path: str, body, expect: tuple[int, ...]) -> None:
        response = await self.client.request(method, path, json=body)
        if response.status_code not in expect:
            raise RuntimeError(f"{method} {path}: HTTP {response.status_code} {response.text[:200]}")

    async def load_shelters(self) -> None:
        for first in range(0, run.SHELTERS, run.LOAD_BATCH):
            batch = [bench_data.shelter(n) for n in range(first, min(first + run.LOAD_BATCH, run.SHELTERS))]
            await self.call("POST", f"{run.NGSI}/entityOperations/upsert", batch, (201, 204))

    def patch_ld(self) -> Awaitable[None]:
        entity = bench_data.shelter_id(self.rng.randrange(run.SHELTERS))
        return self.call("PATCH", f"{run.NGSI}/entities/{entity}/attrs/occupancy",
                         {"value": self.rng.randrange(1_000_000)}, (204,))

    def patch_v2(self) -> Awaitable[None]:
        entity = bench_data.shelter_id(self.rng.randrange(run.SHELTERS))
        return self.call("PATCH", f"{v2_bench.V2}/entities/{entity}/attrs",
                         {"occupancy": {"value": self.rng.randrange(1_000_000)}}, (204,))

    async def one_at_a_time(self, make: Callable[[], Awaitable[None]], n: int) -> None:
        for _ in range(n):
            await make()

    async def concurrently(self, make: Callable[[], Awaitable[None]], n: int) -> None:
        for first in range(0, n, CONCURRENT):
            await asyncio.gather(*(make() for _ in range(min(CONCURRENT, n - first))))

    async def batches(self, count: int) -> None:
        for b in range(count):
            batch = [air_quality(f"inproc{b}", n) for n in range(run.BATCH_SIZE)]
            await self.call("POST", f"{run.NGSI}/entityOperations/upsert", batch, (201, 204))


async def statement_costs(url: str, server_url: str, data_dir: Path, updates: int) -> list[StatementCost]:
    import httpx

    from toshi.app import create_app
    from toshi.config import Settings

    app = create_app(Settings(database_url=url, data_dir=str(data_dir), log_level="warning"))
    counter = StatementCounter()
    with counter.installed():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                toshi = InProcessApp(client)
                await toshi.load_shelters()
                meter = Meter(counter, app.state.toshi.store.db.raw, server_url)
                return [
                    await meter.counted("NGSI-LD PATCH .../attrs/occupancy, one at a time", updates,
                                        lambda: toshi.one_at_a_time(toshi.patch_ld, updates)),
                    await meter.counted(f"NGSI-LD PATCH .../attrs/occupancy, {CONCURRENT} at a time",
                                        updates, lambda: toshi.concurrently(toshi.patch_ld, updates)),
                    await meter.counted("NGSI-v2 PATCH /v2/entities/{id}/attrs, one at a time", updates,
                                        lambda: toshi.one_at_a_time(toshi.patch_v2, updates)),
                    await meter.counted(f"upsert of {run.BATCH_SIZE} new AirQualityObserved, one at a time "
                                        "(per batch)", BATCHES, lambda: toshi.batches(BATCHES)),
                ]


def measure_statements(args: argparse.Namespace, tmp: Path) -> list[StatementCost]:
    print(f"counting statements of {args.updates:,} updates in process ...", file=sys.stderr)
    with pg_schema(args.pg_url, "stmts") as url:
        data_dir = tmp / "statements"
        data_dir.mkdir()
        return asyncio.run(statement_costs(url, args.pg_url, data_dir, args.updates))


# -- report ---------------------------------------------------------------------------------------

def rate(result: run.Result | None) -> str:
    if result is None:
        return "—"
    text = f"{result.rps:,.0f}" if result.rps >= 100 else f"{result.rps:.1f}"
    return text + (f" (**{result.errors:,} errors**)" if result.errors else "")


def share(sqlite: run.Result | None, pg2: run.Result | None) -> tuple[str, str]:
    if sqlite is None or pg2 is None or not sqlite.rps:
        return "—", "—"
    ratio = pg2.rps / sqlite.rps
    met = ratio >= TARGET_SHARE and not sqlite.errors and not pg2.errors
    return f"{ratio:.0%}", "yes" if met else "**no**"


def scenario_name(row: run.Row) -> str:
    return f"{row.name} ({row.per_request} entities/request)" if row.per_request > 1 else row.name


def table(rows: list[run.Row], runs: dict[str, ConfigRun]) -> str:
    lines = ["| scenario | SQLite req/s | PG 1 worker | PG 2 workers | PG-2 as % of SQLite "
             "| target (≥ 50 %) met? | p99 ms SQLite / PG-1 / PG-2 |",
             "| --- | ---: | ---: | ---: | ---: | --- | ---: |"]
    for row in rows:
        got = {c.name: runs[c.name].results.get(row.name) if c.name in runs else None for c in CONFIGS}
        ratio, met = share(got["sqlite"], got["pg-2"])
        p99 = " / ".join(f"{r.p99_ms:.1f}" if r else "—" for r in got.values())
        lines.append(f"| {scenario_name(row)} | {rate(got['sqlite'])} | {rate(got['pg-1'])} | "
                     f"{rate(got['pg-2'])} | {ratio} | {met} | {p99} |")
    return "\n".join(lines)


def statements_table(costs: list[StatementCost]) -> str:
    lines = ["| write (in process, through the app) | count | per second | statements each "
             "| rows sent each | transactions each | WAL syncs each | statements by kind, each |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for c in costs:
        kinds = ", ".join(f"{k} {c.per_op(v):.2f}" for k, v in c.statements.most_common())
        syncs = f"{c.per_op(c.wal.wal_sync):.3f}" if c.wal else ""
        lines.append(f"| {c.what} | {c.operations:,} | {c.operations / c.seconds:,.1f} | "
                     f"{c.per_op(c.total):.2f} | {c.per_op(c.rows):.2f} | "
                     f"{c.per_op(c.statements['BEGIN']):.3f} | {syncs} | {kinds} |")
    return "\n".join(lines)


def wal_table(costs: list[WalCost]) -> str:
    lines = ["| pg-1 scenario | requests | WAL syncs / request | WAL writes / request "
             "| WAL records / request | commits / request | syncs, commits: run / idle window | reliable? |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for c in costs:
        if not c.requests:
            lines.append(f"| {c.row} | 0 | | | | | | no request completed |")
            continue
        lines.append(f"| {c.row} | {c.requests:,} | {c.per_request('wal_sync'):.3f} | "
                     f"{c.per_request('wal_write'):.3f} | {c.per_request('wal_records'):.1f} | "
                     f"{c.per_request('xact_commit'):.3f} | {c.measured.wal_sync:,}, "
                     f"{c.measured.xact_commit:,} / {c.background.wal_sync:,}, "
                     f"{c.background.xact_commit:,} | {wal_reliable(c)} |")
    return "\n".join(lines)


def wal_reliable(cost: WalCost) -> str:
    """The idle window's counts stand for the other clients' during the run: only when they are small."""
    noisy = [name for name in ("wal_sync", "xact_commit")
             if getattr(cost.background, name) > 0.2 * max(1, getattr(cost.measured, name))]
    return f"**no**: other clients' {' and '.join(noisy)} ≥ 20 % of the run's" if noisy else "yes"


def report(rows: list[run.Row], runs: dict[str, ConfigRun], statements: list[StatementCost],
           machine: dict[str, str], command: str, wrk_cfg: run.WrkConfig, when: str) -> str:
    data = "; ".join(f"{name}: {', '.join(r.data_notes)}" for name, r in runs.items())
    notes = [f"- {name} {r.row.name}: {note}" for name, cr in runs.items()
             for r in cr.results.values() for note in r.notes]
    repeat = f", best of {wrk_cfg.repeat} runs" if wrk_cfg.repeat > 1 else ""
    lines = [
        f"### Run of {when}", "",
        f"Command: `{command}`  ",
        (f"Load: `wrk -t1 -c{wrk_cfg.connections}`, {wrk_cfg.duration} s per scenario after a "
         f"{wrk_cfg.warmup} s warm-up{repeat}; **no CPU pinning** in any configuration (PostgreSQL needs "
         "the cores too): Toshi, PostgreSQL and wrk share the machine's CPUs.  "),
        ("Configurations: `sqlite` = one `toshi serve` process on SQLite in a fresh data directory; "
         "`pg-1` / `pg-2` = `toshi serve --database-url ... --workers 1` / `2`, each in a fresh schema.  "),
        (f"Machine: {machine['cpus']}, {machine['cpu_model']}, {machine['memory']} RAM, {machine['os']}, "
         f"Python {machine['python']}, SQLite {machine['sqlite']}; {machine['postgres']}; 1-min load "
         f"average {machine['load_before']} before the run, {machine['load_after']} after.  "),
        f"Stack: {machine['packages']}; {machine['wrk']}; commit {machine['commit']}.  ",
        f"Data, loaded through the API into each configuration: {data or 'none'}.", "",
        table(rows, runs), "",
    ]
    if statements:
        lines += ["Write path on PostgreSQL, statements sent by `PgConnection`, counted in process through "
                  "the app against a fresh schema (a `BEGIN IMMEDIATE` is `BEGIN` + `lock`; an executemany "
                  "is one statement, its rows counted in \"rows sent\"; WAL syncs from `pg_stat_wal` around "
                  "each phase, less an idle window of the same length after it):", "",
                  statements_table(statements), ""]
    wal = [c for cr in runs.values() for c in cr.wal]
    if wal:
        lines += [f"WAL syncs (fsyncs) and commits per request on `pg-1`, from `pg_stat_wal` (whole "
                  f"cluster) and `pg_stat_database` (`xact_commit`, this database), read before and "
                  f"{STATS_FLUSH_S} s after one measured run, less the counts of an idle window of the "
                  "same length just before (other clients of this PostgreSQL). Commits include the "
                  "single-statement (autocommit) reads; only transactions that wrote need a WAL sync:",
                  "", wal_table(wal), ""]
    failures = [f"- **{name} stopped early**: {cr.failure.splitlines()[0]} (last log line: "
                f"{cr.failure.splitlines()[-1][:300]!r})" for name, cr in runs.items() if cr.failure]
    if notes or failures:
        lines += ["Notes:", "", *failures, *notes, ""]
    return "\n".join(lines)


def save(section: str, runs: dict[str, ConfigRun], statements: list[StatementCost],
         machine: dict[str, str], stamp: str) -> Path:
    run.RESULTS_DIR.mkdir(exist_ok=True)
    data = {"machine": machine,
            "results": {name: {row: {"rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms,
                                     "requests": r.requests, "errors": r.errors,
                                     "error_detail": r.error_detail, "notes": r.notes}
                               for row, r in cr.results.items()} for name, cr in runs.items()},
            "failures": {name: cr.failure for name, cr in runs.items() if cr.failure},
            "wal": [dataclasses.asdict(c) for cr in runs.values() for c in cr.wal],
            "statements": [{"what": c.what, "operations": c.operations, "statements": dict(c.statements),
                            "rows": c.rows, "seconds": c.seconds,
                            "wal": dataclasses.asdict(c.wal) if c.wal else None,
                            "wal_background": dataclasses.asdict(c.wal_background) if c.wal_background else None}
                           for c in statements]}
    (run.RESULTS_DIR / f"scale-{stamp}.json").write_text(json.dumps(data, indent=2))
    out = run.RESULTS_DIR / f"scale-{stamp}.md"
    out.write_text(section)
    return out


# -- command line ---------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Toshi on SQLite and on PostgreSQL with 1 and 2 workers, with wrk.")
    parser.add_argument("--quick", action="store_true",
                        help="3 s per scenario, 1 s warm-up, 10,000 WeatherObserved, 500 counted updates")
    parser.add_argument("--config", action="append", choices=[c.name for c in CONFIGS],
                        help="configuration(s) to run (repeatable; default all three)")
    parser.add_argument("--scenario", action="append", metavar="NAME",
                        help="get, update, query, batch, or a row name such as v2-get "
                             "(repeatable; default all)")
    parser.add_argument("--duration", type=int, help="seconds per measurement (default 10, --quick 3)")
    parser.add_argument("--warmup", type=int, help="seconds of warm-up before each measurement")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="keep the best of N runs (the WAL-counted rows of pg-1 run once)")
    parser.add_argument("--query-entities", type=int,
                        help="WeatherObserved to load (default 100,000, --quick 10,000)")
    parser.add_argument("--updates", type=int, help="updates counted in process (default 2,000, --quick 500)")
    parser.add_argument("--pg-url", default=PG_SERVER,
                        help=f"PostgreSQL database the schemas are made in (default {PG_SERVER})")
    parser.add_argument("--no-statements", action="store_true", help="skip the in-process statement count")
    parser.add_argument("--no-wal", action="store_true",
                        help="skip the pg_stat_wal readings (saves about a minute)")
    parser.add_argument("--write-md", action="store_true", help="replace the scale section of BENCHMARKS.md")
    args = parser.parse_args(argv)
    if args.query_entities is None:
        args.query_entities = 10_000 if args.quick else 100_000
    if args.updates is None:
        args.updates = 500 if args.quick else 2_000
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so finally-blocks stop servers, drop schemas
    run.ensure_wrk()
    rows = run.select_rows(all_rows(args.query_entities), args.scenario)
    configs = [c for c in CONFIGS if not args.config or c.name in args.config]
    wrk_cfg = run.wrk_config(args, [])
    now = datetime.now(UTC)
    args.stamp = now.strftime("%Y%m%d-%H%M%S")
    machine = {**run.machine_info(), "postgres": pg_info(args.pg_url)}
    runs: dict[str, ConfigRun] = {}
    with tempfile.TemporaryDirectory(prefix="toshi-scale-") as tmp:
        for config in configs:
            runs[config.name] = run_config(config, rows, wrk_cfg, args, Path(tmp))
        statements = [] if args.no_statements else measure_statements(args, Path(tmp))
    machine["load_after"] = run.load_average()
    command = shlex.join(["python3", "bench/scale_bench.py", *(sys.argv[1:] if argv is None else argv)])
    section = report(rows, runs, statements, machine, command, wrk_cfg, now.strftime("%Y-%m-%d %H:%M UTC"))
    print(section)
    print(f"saved {save(section, runs, statements, machine, args.stamp)}", file=sys.stderr)
    if args.write_md:
        run.write_md(section, run.REPO / "BENCHMARKS.md", MARK_BEGIN, MARK_END, HEADING)
        print("BENCHMARKS.md updated", file=sys.stderr)
    failed = any(cr.failure for cr in runs.values())
    return 1 if failed or any(r.errors for cr in runs.values() for r in cr.results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
