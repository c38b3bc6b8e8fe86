"""Toshi benchmark harness: start a server, load data through the API, drive it with wrk, report.

    python3 bench/run.py                      # every scenario, 10 s each (~3 minutes)
    python3 bench/run.py --quick              # 3 s each
    python3 bench/run.py --scenario get --scenario reference --duration 5
    python3 bench/run.py --repeat 2           # best of two measurements per scenario (noisy machines)
    python3 bench/run.py --write-md           # also replace the results section of BENCHMARKS.md
    python3 bench/run.py --profile            # also sample the Toshi server with py-spy (slower figures)

Everything runs on 127.0.0.1: the server (one process, as `toshi serve` runs it) in a fresh temporary
data directory on a free port, and wrk in its own process. BENCHMARKS.md explains what is measured.
"""

from __future__ import annotations

import argparse
import atexit
import http.client
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from urllib.parse import quote

import bench_data
import profile_summary

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
WRK_DIR = BENCH_DIR / "wrk"
RESULTS_DIR = BENCH_DIR / "results"
MARK_BEGIN = "<!-- bench:results:begin -->"
MARK_END = "<!-- bench:results:end -->"
HOST = "127.0.0.1"
NGSI = "/ngsi-ld/v1"
SHELTERS = 1_000
LOAD_BATCH = 500          # entities per upsert while loading (bodies stay well under 1 MB)
BATCH_SIZE = 100          # entities per upsert in the `batch` scenario
QUERY_BROAD = "temperature>20"
QUERY_SELECTIVE = "temperature>=39.6"
TIMEOUT_S = 5             # wrk counts a slower response as a timeout error


# -- scenarios ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One measured line of the report: a wrk script with its options against one server."""

    name: str
    group: str                   # the --scenario name that selects it
    server: str                  # "toshi" or "reference"
    script: str                  # file in bench/wrk/
    options: dict[str, str]      # key=value options for the script (see bench/wrk/common.lua)
    what: str
    per_request: int = 1         # entities per request (batch)


def shelter_options(path: str, expect: str) -> dict[str, str]:
    return {"path": path, "id_format": bench_data.SHELTER_ID_FORMAT, "n": str(SHELTERS), "expect": expect}


def query_path(q: str) -> str:
    return f"{NGSI}/entities?type={bench_data.WEATHER_TYPE}&q={quote(q)}&limit=100"


def all_rows(query_entities: int) -> list[Row]:
    n = f"{query_entities:,}"
    return [
        Row("get", "get", "toshi", "get.lua",
            {**shelter_options(NGSI + "/entities/{id}", "200"), "body_prefix": "{"},
            f"GET /entities/{{id}}, random of {SHELTERS:,} Shelters"),
        Row("update", "update", "toshi", "update.lua",
            shelter_options(NGSI + "/entities/{id}/attrs/occupancy", "204"),
            f'PATCH /entities/{{id}}/attrs/occupancy {{"value": N}}, random of {SHELTERS:,}'),
        Row("query", "query", "toshi", "query.lua",
            {"path": query_path(QUERY_BROAD), "expect": "200", "body_prefix": "[{"},
            f"GET /entities?type=WeatherObserved&q={QUERY_BROAD}&limit=100 over {n}"),
        Row("query-selective", "query", "toshi", "query.lua",
            {"path": query_path(QUERY_SELECTIVE), "expect": "200", "body_prefix": "[{"},
            f"GET /entities?type=WeatherObserved&q={QUERY_SELECTIVE}&limit=100 over {n}"),
        Row("batch", "batch", "toshi", "batch.lua",
            {"path": NGSI + "/entityOperations/upsert", "size": str(BATCH_SIZE), "expect": "201,204"},
            f"POST /entityOperations/upsert, {BATCH_SIZE} new AirQualityObserved per request",
            per_request=BATCH_SIZE),
        Row("ref-constant", "reference", "reference", "get.lua",
            {**shelter_options("/ref/constant/{id}", "200"), "body_prefix": "{"},
            "ceiling: Starlette GET returning a constant Shelter-sized JSON body"),
        Row("ref-sqlite-get", "reference", "reference", "get.lua",
            {**shelter_options("/ref/sqlite/{id}", "200"), "body_prefix": "{"},
            "ceiling: Starlette GET of one SQLite row by primary key"),
        Row("ref-rmw", "reference", "reference", "update.lua",
            shelter_options("/ref/rmw/{id}/attrs/occupancy", "204"),
            "ceiling: SQLite read-modify-write + change-log row in one transaction"),
        Row("ref-bulk", "reference", "reference", "batch.lua",
            {"path": "/ref/bulk", "size": str(BATCH_SIZE), "expect": "201"},
            f"ceiling: the batch's rows in Toshi's tables, one executemany per table, {BATCH_SIZE} per request",
            per_request=BATCH_SIZE),
    ]


def select_rows(rows: list[Row], wanted: list[str] | None) -> list[Row]:
    if not wanted:
        return rows
    known = {r.name for r in rows} | {r.group for r in rows}
    unknown = set(wanted) - known
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(sorted(known))}")
    return [r for r in rows if r.name in wanted or r.group in wanted]


# -- results and targets --------------------------------------------------------------------------

@dataclass
class Result:
    row: Row
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    errors: int = 0
    error_detail: str = ""
    notes: list[str] = field(default_factory=list)
    target: str = ""
    met: str = ""

    @property
    def entities_per_s(self) -> float:
        return self.rps * self.row.per_request


def from_wrk(row: Row, raw: dict) -> Result:
    transport = {k: v for k, v in raw["errors"].items() if k != "status" and v}
    statuses = raw.get("bad_statuses") or {}
    errors = int(raw["bad"]) + sum(transport.values())
    detail = ", ".join([f"HTTP {s}×{c}" for s, c in sorted(statuses.items())]
                       + [f"{k}×{v}" for k, v in sorted(transport.items())])
    if not raw["requests"]:
        errors, detail = max(errors, 1), detail or "no response completed during the run"
    if raw.get("bad_example"):
        detail += f"; e.g. {raw['bad_example'][:160]!r}"
    seconds = raw["duration_us"] / 1e6
    return Result(row, rps=raw["requests"] / seconds if seconds else 0.0, p50_ms=raw["p50_us"] / 1000,
                  p99_ms=raw["p99_us"] / 1000, requests=int(raw["requests"]), errors=errors,
                  error_detail=detail)


def judge(results: list[Result]) -> None:
    """Fill in each result's target and whether it is met (ratios only when the ceiling ran too)."""
    by_name = {r.row.name: r for r in results}
    for result in results:
        name = result.row.name
        if name == "get":
            _judge(result, result.rps, 12_000, by_name.get("ref-constant"), 0.50, "req/s")
        elif name == "update":
            _judge(result, result.rps, 8_000, by_name.get("ref-rmw"), 0.50, "req/s")
        elif name.startswith("query"):
            _judge(result, result.rps, 2_500, None, 0.0, "req/s")
        elif name == "batch":
            _judge(result, result.entities_per_s, 20_000, by_name.get("ref-bulk"), 0.0, "entities/s")


def _judge(result: Result, value: float, floor: float, ceiling: Result | None, share: float,
           unit: str) -> None:
    result.target = f"≥{floor:,.0f} {unit}"
    ok = value >= floor and result.errors == 0
    if ceiling is not None and ceiling.rps:
        ratio = result.rps / ceiling.rps
        result.target += f", ≥{share:.0%} of {ceiling.row.name} (now {ratio:.0%})" if share else \
            f" ({ratio:.0%} of {ceiling.row.name})"
        ok = ok and ratio >= share
    result.met = "yes" if ok else "no"


# -- machine --------------------------------------------------------------------------------------

def machine_info() -> dict[str, str]:
    return {
        "cpus": f"{len(os.sched_getaffinity(0))} CPUs (nproc)",
        "cpu_model": _cpu_model(),
        "memory": _memory(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": ", ".join(f"{p} {_version(p)}" for p in
                              ("uvicorn", "uvloop", "httptools", "starlette", "orjson")),
        "wrk": _wrk_version(),
        "load_before": load_average(),
        "commit": _commit(),
    }


def load_average() -> str:
    """The 1-minute load average: well above 0 before a run means something else competes for the CPUs."""
    return Path("/proc/loadavg").read_text().split()[0]


def _wrk_version() -> str:
    if not shutil.which("wrk"):
        return "wrk missing"
    return _run_text(["wrk", "--version"]).splitlines()[0].split(" Copyright")[0].strip()


def _commit() -> str:
    """The checked-out commit, marked when tracked files have uncommitted changes."""
    commit = _run_text(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]).strip() or "(none)"
    changed = _run_text(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"]).strip()
    return f"{commit} + uncommitted changes" if changed else commit


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def _run_text(cmd: list[str]) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return result.stdout + result.stderr if result.returncode in (0, 1) else ""


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    print("wrk missing: apt-get install -y wrk", file=sys.stderr)
    install = ["apt-get", "install", "-y", "wrk"]
    if subprocess.run(install, stdout=subprocess.DEVNULL, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], stdout=subprocess.DEVNULL, check=True)
        subprocess.run(install, stdout=subprocess.DEVNULL, check=True)


def ensure_py_spy() -> None:
    if not shutil.which("py-spy"):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], check=True)


def cpu_plan(pin: bool) -> tuple[list[str], list[str]]:
    """taskset prefixes (server, load generator): separate CPUs when there are at least two."""
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or len(cpus) < 2 or not shutil.which("taskset"):
        return [], []
    return ["taskset", "-c", str(cpus[-1])], ["taskset", "-c", str(cpus[0])]


# -- server processes -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """A server in its own process, killed on stop(), at exit and on SIGTERM."""

    def __init__(self, name: str, cmd: list[str], ready_path: str, log_path: Path):
        self.name, self.cmd, self.ready_path, self.log_path = name, cmd, ready_path, log_path
        self.root = REPO  # the code it runs (another checkout to compare with: consent_bench --baseline)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOSHI_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.root), env.get("PYTHONPATH")]))
        cmd = [part.replace("{port}", str(self.port)) for part in self.cmd]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, env=env, cwd=self.log_path.parent, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        atexit.register(self.stop)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up:\n{self.log_tail()}")
            try:
                if request(self.port, "GET", self.ready_path)[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if not self.alive():
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def toshi_server(data_dir: Path, pin: list[str], extra: tuple[str, ...] = ()) -> Server:
    """`extra`: more `toshi serve` arguments (e.g. --database-url, --workers; bench/scale_bench.py)."""
    cmd = [*pin, sys.executable, "-m", "toshi.cli", "serve", "--host", HOST, "--port", "{port}",
           "--data-dir", str(data_dir), "--log-level", "warning", *extra]
    return Server("toshi", cmd, "/version", data_dir.parent / "toshi.log")


def reference_server(data_dir: Path, pin: list[str]) -> Server:
    cmd = [*pin, sys.executable, str(BENCH_DIR / "reference_apps.py"), "--port", "{port}",
           "--data-dir", str(data_dir)]
    return Server("reference", cmd, "/ref/health", data_dir.parent / "reference.log")


# -- HTTP for loading and checks ------------------------------------------------------------------

def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        sent = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers={**sent, **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def load(port: int, make: Callable[[int], dict], count: int, headers: dict[str, str] | None = None) -> float:
    """Upsert `count` entities in batches through the API; returns entities per second."""
    started = time.perf_counter()
    for first in range(0, count, LOAD_BATCH):
        batch = [make(n) for n in range(first, min(first + LOAD_BATCH, count))]
        status, _, body = request(port, "POST", NGSI + "/entityOperations/upsert", json.dumps(batch).encode(),
                                  headers)
        if status not in (201, 204):
            raise RuntimeError(f"loading failed with HTTP {status}: {body[:300]!r}")
    return count / (time.perf_counter() - started)


def load_for(rows: list[Row], port: int, query_entities: int) -> list[str]:
    notes = []
    if any(r.group in ("get", "update") for r in rows):
        rate = load(port, bench_data.shelter, SHELTERS)
        notes.append(f"loaded {SHELTERS:,} Shelters at {rate:,.0f} entities/s")
    if any(r.group == "query" for r in rows):
        print(f"loading {query_entities:,} WeatherObserved ...", file=sys.stderr)
        rate = load(port, bench_data.weather_observed, query_entities)
        notes.append(f"loaded {query_entities:,} WeatherObserved at {rate:,.0f} entities/s "
                     f"(upserts of {LOAD_BATCH})")
    return notes


def match_count(port: int, path: str) -> str:
    """How many entities the query matches, and how long one page takes with no other load."""
    started = time.perf_counter()
    status, _, body = request(port, "GET", path)
    alone_ms = (time.perf_counter() - started) * 1000
    status, headers, body = request(port, "GET", path.replace("limit=100", "limit=1") + "&count=true")
    if status != 200:
        return f"count check failed: HTTP {status} {body[:120]!r}"
    return (f"matches {int(headers.get('ngsild-results-count', '0')):,} entities; "
            f"one page alone (no concurrent load) took {alone_ms:.1f} ms")


# -- wrk ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WrkConfig:
    duration: int
    warmup: int
    connections: int
    repeat: int
    pin: list[str]


def wrk_command(row: Row, port: int, seconds: int, wrk_cfg: WrkConfig, tag: str) -> list[str]:
    options = {**row.options, "tag": tag}
    return [*wrk_cfg.pin, "wrk", "-t1", f"-c{wrk_cfg.connections}", f"-d{seconds}s",
            "--timeout", f"{TIMEOUT_S}s", "-s", str(WRK_DIR / row.script), f"http://{HOST}:{port}", "--",
            *[f"{k}={v}" for k, v in options.items()]]


def run_wrk(row: Row, port: int, seconds: int, wrk_cfg: WrkConfig, tag: str) -> dict:
    env = {**os.environ, "LUA_PATH": f"{WRK_DIR}/?.lua;;"}
    cmd = wrk_command(row, port, seconds, wrk_cfg, tag)
    done = subprocess.run(cmd, capture_output=True, encoding="utf-8", errors="replace", env=env,
                          timeout=seconds + 60, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line.removeprefix("BENCH_RESULT "))
    raise RuntimeError(f"wrk gave no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")


def measure(row: Row, server: Server, wrk_cfg: WrkConfig, profile_dir: Path | None) -> Result:
    """Warm up, then the best of `repeat` measured runs; errors of every run count."""
    stamp = f"{int(time.time())}"
    if wrk_cfg.warmup:
        run_wrk(row, server.port, wrk_cfg.warmup, wrk_cfg, f"w{stamp}")
        wait_idle(server)
    runs = [measure_once(row, server, wrk_cfg, profile_dir if n == 0 else None, f"m{stamp}-{n}")
            for n in range(wrk_cfg.repeat)]
    best = max(runs, key=lambda r: r.rps)
    others = [r for r in runs if r is not best]
    best.errors += sum(r.errors for r in others)
    best.error_detail = "; ".join(filter(None, [best.error_detail, *(r.error_detail for r in others)]))
    best.notes += [note for r in others for note in r.notes]
    if wrk_cfg.repeat > 1:
        best.notes.append("best of " + ", ".join(f"{r.rps:,.0f}" for r in runs) + " req/s")
    return best


def alternate(rows: dict[str, Row], servers: dict[str, Server], wrk_cfg: WrkConfig,
              stamp: str) -> dict[str, list[Result]]:
    """Warm each server up, then `repeat` rounds of one run per server in turn (A, B, A, B, ...), so
    that the machine's changing load falls on every server alike. `rows` and `servers` by case name."""
    for name, server in servers.items():
        if wrk_cfg.warmup:
            run_wrk(rows[name], server.port, wrk_cfg.warmup, wrk_cfg, f"w{stamp}-{name}")
            wait_idle(server)
    runs: dict[str, list[Result]] = {name: [] for name in servers}
    for n in range(wrk_cfg.repeat):
        for name, server in servers.items():
            if not server.alive():
                raise RuntimeError(f"server {name} died:\n{server.log_tail()}")
            print(f"running {rows[name].name} ({n + 1}/{wrk_cfg.repeat}) ...", file=sys.stderr)
            runs[name].append(measure_once(rows[name], server, wrk_cfg, None, f"m{stamp}-{name}-{n}"))
    return runs


def measure_once(row: Row, server: Server, wrk_cfg: WrkConfig, profile_dir: Path | None, tag: str) -> Result:
    spy = start_profiler(row, server, wrk_cfg, profile_dir)
    result = from_wrk(row, run_wrk(row, server.port, wrk_cfg.duration, wrk_cfg, tag))
    if spy is not None:
        result.notes.append(finish_profiler(spy, row, profile_dir))
    wait_idle(server)
    return result


def wait_idle(server: Server, limit_s: float = 120.0) -> None:
    """Let the server finish requests wrk gave up on, so they do not slow down the next scenario."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and server.alive():
        started = time.perf_counter()
        request(server.port, "GET", server.ready_path)
        if time.perf_counter() - started < 0.05:
            return


def start_profiler(row: Row, server: Server, wrk_cfg: WrkConfig,
                   profile_dir: Path | None) -> subprocess.Popen | None:
    if profile_dir is None or row.server != "toshi":
        return None
    out = profile_dir / f"{row.name}.txt"
    cmd = [*wrk_cfg.pin, "py-spy", "record", "--nonblocking", "-r", "200", "-f", "raw", "-d",
           str(wrk_cfg.duration), "-o", str(out), "--pid", str(server.proc.pid)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finish_profiler(spy: subprocess.Popen, row: Row, profile_dir: Path) -> str:
    spy.wait(30)
    out = profile_dir / f"{row.name}.txt"
    if not out.exists():
        return "profile: py-spy wrote nothing"
    summary = profile_summary.summarise(out.read_text(), top=15)
    (profile_dir / f"{row.name}.summary.txt").write_text(summary)
    print(f"\n== profile of {row.name} ({out}) ==\n{summary}", file=sys.stderr)
    return f"profiled (py-spy, figures lowered): {out}"


# -- the run --------------------------------------------------------------------------------------

def run_server_rows(rows: list[Row], server: Server, wrk_cfg: WrkConfig, profile_dir: Path | None,
                    query_entities: int, data_notes: list[str]) -> Iterator[Result]:
    server.start()
    try:
        if server.name == "toshi":
            data_notes.extend(load_for(rows, server.port, query_entities))
        for row in rows:
            if not server.alive():
                raise RuntimeError(f"{server.name} died before {row.name}:\n{server.log_tail()}")
            print(f"running {row.name} ...", file=sys.stderr)
            result = measure(row, server, wrk_cfg, profile_dir)
            if row.group == "query":
                result.notes.append(match_count(server.port, row.options["path"]))
            if result.errors and len(server.log_tail(2).splitlines()) > 1:
                result.notes.append(f"server log ends: {server.log_tail(1)[-200:]!r}")
            yield result
    finally:
        server.stop()


def run_all(rows: list[Row], wrk_cfg: WrkConfig, server_pin: list[str], profile_dir: Path | None,
            query_entities: int) -> tuple[list[Result], list[str]]:
    """Every row against its server; returns the results and notes on the data loaded."""
    results: list[Result] = []
    data_notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="toshi-bench-") as tmp:
        for name, make in (("toshi", toshi_server), ("reference", reference_server)):
            mine = [r for r in rows if r.server == name]
            if mine:
                server = make(Path(tmp) / f"{name}-data", server_pin)
                results.extend(run_server_rows(mine, server, wrk_cfg, profile_dir, query_entities,
                                               data_notes))
    judge(results)
    return results, data_notes


# -- report ---------------------------------------------------------------------------------------

def table(results: list[Result]) -> str:
    lines = ["| scenario | what | req/s | entities/s | p50 ms | p99 ms | errors | target | met |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |"]
    for r in results:
        entities = f"{r.entities_per_s:,.0f}" if r.row.per_request > 1 else ""
        errors = "0" if not r.errors else f"**{r.errors:,} ERRORS** ({r.error_detail})"
        rps = f"{r.rps:,.0f}" if r.rps >= 100 else f"{r.rps:.1f}"
        lines.append(f"| {r.row.name} | {r.row.what} | {rps} | {entities} | {r.p50_ms:.2f} | "
                     f"{r.p99_ms:.2f} | {errors} | {r.target} | {r.met} |")
    return "\n".join(lines)


def report(results: list[Result], data_notes: list[str], machine: dict[str, str], command: str,
           wrk_cfg: WrkConfig, server_pin: list[str], when: str) -> str:
    pinning = (f"server pinned to CPU {server_pin[-1]}, wrk to CPU {wrk_cfg.pin[-1]}" if server_pin
               else "no CPU pinning")
    notes = [f"- {r.row.name}: {note}" for r in results for note in r.notes]
    repeat = f", best of {wrk_cfg.repeat} runs" if wrk_cfg.repeat > 1 else ""
    failed = [r.row.name for r in results if r.errors]
    lines = [
        f"### Run of {when}", "",
        f"Command: `{command}`  ",
        (f"Load: `wrk -t1 -c{wrk_cfg.connections}`, {wrk_cfg.duration} s per scenario after a "
         f"{wrk_cfg.warmup} s warm-up{repeat}; {pinning}.  "),
        (f"Machine: {machine['cpus']}, {machine['cpu_model']}, {machine['memory']} RAM, {machine['os']}, "
         f"Python {machine['python']}, SQLite {machine['sqlite']}; 1-min load average "
         f"{machine['load_before']} before the run, {machine['load_after']} after.  "),
        f"Stack: {machine['packages']}; {machine['wrk']}; commit {machine['commit']}.  ",
        f"Data, loaded through the API before the runs: {'; '.join(data_notes) or 'none'}.", "",
        table(results), "",
    ]
    if failed:
        lines += [error_summary(failed, wrk_cfg.connections), ""]
    if notes:
        lines += ["Notes:", "", *notes, ""]
    return "\n".join(lines)


def error_summary(failed: list[str], connections: int) -> str:
    return (f"**Scenarios with errors: {', '.join(failed)}** — see the errors column. Failed responses make "
            f"a figure invalid; timeouts (> {TIMEOUT_S} s) mean the server fell behind {connections} "
            "connections, and wrk's latencies leave those requests out.")


def write_md(section: str, path: Path, begin: str = MARK_BEGIN, end: str = MARK_END,
             heading: str = "## Results") -> None:
    """Replace what is between the markers; append them under `heading` when they are absent."""
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{begin}\n{end}\n"
    if begin not in text or end not in text:
        text = text.rstrip() + f"\n\n{heading}\n\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{section.rstrip()}\n{end}{tail}")


def save(results: list[Result], section: str, machine: dict[str, str], stamp: str) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    rows = [{"scenario": r.row.name, "rps": r.rps, "entities_per_s": r.entities_per_s, "p50_ms": r.p50_ms,
             "p99_ms": r.p99_ms, "requests": r.requests, "errors": r.errors, "error_detail": r.error_detail,
             "target": r.target, "met": r.met, "notes": r.notes} for r in results]
    (RESULTS_DIR / f"{stamp}.json").write_text(json.dumps({"machine": machine, "results": rows}, indent=2))
    out = RESULTS_DIR / f"{stamp}.md"
    out.write_text(section)
    return out


# -- command line ---------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark Toshi with wrk (see BENCHMARKS.md).")
    parser.add_argument("--quick", action="store_true", help="3 s per scenario, 1 s warm-up")
    parser.add_argument("--scenario", action="append", metavar="NAME",
                        help="get, update, query, batch, reference, or a row name (repeatable; default all)")
    parser.add_argument("--duration", type=int, help="seconds per measurement (default 10, --quick 3)")
    parser.add_argument("--warmup", type=int, help="seconds of warm-up before each measurement")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure each scenario N times and keep the best (for noisy machines)")
    parser.add_argument("--query-entities", type=int, default=100_000, help="WeatherObserved to load")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and wrk to separate CPUs")
    parser.add_argument("--profile", action="store_true",
                        help="sample Toshi with py-spy during each measurement")
    parser.add_argument("--write-md", action="store_true",
                        help="replace the results section of BENCHMARKS.md")
    return parser.parse_args(argv)


def wrk_config(args: argparse.Namespace, pin: list[str]) -> WrkConfig:
    duration = args.duration or (3 if args.quick else 10)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    return WrkConfig(duration=duration, warmup=warmup, connections=args.connections,
                     repeat=max(1, args.repeat), pin=pin)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so finally-blocks stop the servers
    ensure_wrk()
    if args.profile:
        ensure_py_spy()
    rows = select_rows(all_rows(args.query_entities), args.scenario)
    server_pin, wrk_pin = cpu_plan(not args.no_pin)
    wrk_cfg = wrk_config(args, wrk_pin)
    now = datetime.now(UTC)
    stamp = now.strftime("%Y%m%d-%H%M%S")
    profile_dir = RESULTS_DIR / f"{stamp}-profile" if args.profile else None
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    results, data_notes = run_all(rows, wrk_cfg, server_pin, profile_dir, args.query_entities)
    machine["load_after"] = load_average()
    command = shlex.join(["python3", "bench/run.py", *(sys.argv[1:] if argv is None else argv)])
    section = report(results, data_notes, machine, command, wrk_cfg, server_pin,
                     now.strftime("%Y-%m-%d %H:%M UTC"))
    print(section)
    print(f"saved {save(results, section, machine, stamp)}", file=sys.stderr)
    if args.write_md:
        write_md(section, REPO / "BENCHMARKS.md")
        print("BENCHMARKS.md updated", file=sys.stderr)
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
