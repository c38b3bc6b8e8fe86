"""The cost of the consent layer: GET one entity and a query page with personal data declared and
consents in force, beside the same runs with nothing declared. Target: overhead ≤ 15 % (issue 16).

    python3 bench/consent_bench.py                     # 10 s per measurement, best of 3 (~3 minutes)
    python3 bench/consent_bench.py --duration 5 --repeat 4
    git worktree add --detach /tmp/before <commit>; python3 bench/consent_bench.py --baseline /tmp/before

Two Toshi servers (authentication on, each in its own fresh data directory, pinned to the same CPU, wrk
to the other one, as bench/run.py does) with the same data loaded through the API: 1,000 CareRecords,
one per resident (a Relationship naming the resident, a ward, three personal attributes and two
others), and 5 service accounts with the consumer role.

  off   nothing declared personal: the consent layer answers "nothing to hide" before any per-entity work
  on    CareRecord declared (diagnosis: sensitive, phone: personal, home: location, resident: personal),
        and every resident holding 5 consents, one to each service, for purpose `care-planning`, over
        categories that vary by resident (recorded with POST /consent/grants). Every GET and every
        entity of a query page is judged per entity, and each release is noted in the access log.

With `--baseline DIR` (another checkout, e.g. a `git worktree` of the commit before a change) two more
servers run that code, `off@base` and `on@base`, in the same turns: a before/after comparison on the
same machine load.

wrk reads as service 0 with `Toshi-Purpose: care-planning` on both servers (its key and the purpose
header on every request). Within a scenario the servers take turns (off, on, off, on, ...) `--repeat`
times, so a slow spell of a shared machine does not land on one case only; the overhead is given of
the medians and of the best runs, and every run is listed. Every response is checked (status and the start of the body), and
before measuring the bench checks that the `on` server shows exactly the consented attributes.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import run
from auth_bench import create_admin_key

TARGET = 0.15
RESIDENTS = 1_000
SERVICES = 5
PURPOSE = "care-planning"
ID_FORMAT = "urn:ngsi-ld:CareRecord:bench-%05d"
CASE_WHAT = {"off": "nothing declared personal", "on": f"declared, {RESIDENTS:,} residents × {SERVICES} consents"}
BASE = "@base"  # the suffix of the cases served by the --baseline checkout
DECLARATION = {"id": "care-records", "type": "CareRecord", "subject": "resident",
               "attributes": {"diagnosis": "sensitive", "phone": "personal", "home": "location",
                              "resident": "personal"}}
# the categories resident n consents to for service s: (n + s) % 4 picks one of these
CATEGORY_SETS = (["sensitive"], ["personal"], ["personal", "location"], ["sensitive", "personal", "location"])


def resident(n: int) -> str:
    return f"urn:ngsi-ld:Person:bench-{n:05d}"


def care_record(n: int) -> dict:
    return {"id": ID_FORMAT % n, "type": "CareRecord",
            "resident": {"type": "Relationship", "object": resident(n)},
            "ward": {"type": "Property", "value": f"ward-{n % 12}"},
            "careLevel": {"type": "Property", "value": n % 5},
            "visits": {"type": "Property", "value": n * 7 % 31, "observedAt": "2026-12-01T09:00:00Z"},
            "diagnosis": {"type": "Property", "value": f"diagnosis {n * 7919 % 10000:04d}"},
            "phone": {"type": "Property", "value": f"090-{n * 31 % 10000:04d}-{n % 10000:04d}"},
            "home": {"type": "GeoProperty", "value": {"type": "Point",
                                                        "coordinates": [135.4 + n % 97 / 1000, 34.8 + n % 89 / 1000]}}}


def rows() -> list[run.Row]:
    get = run.Row("get", "get", "toshi", "get.lua",
                  {"path": run.NGSI + "/entities/{id}", "id_format": ID_FORMAT, "n": str(RESIDENTS), "expect": "200",
                   "body_prefix": "{"}, f"GET /entities/{{id}}, random of {RESIDENTS:,} CareRecords")
    query = run.Row("query", "query", "toshi", "query.lua",
                    {"path": run.NGSI + "/entities?type=CareRecord&limit=100", "expect": "200", "body_prefix": "[{"},
                    "GET /entities?type=CareRecord&limit=100")
    return [get, query]


@dataclass
class Case:
    name: str
    server: run.Server
    options: dict
    notes: list[str]


def api(port: int, method: str, path: str, key: str, body: object = None, expect: tuple[int, ...] = (200, 201),
        headers: dict | None = None):
    status, _, raw = run.request(port, method, path, None if body is None else json.dumps(body).encode(),
                                 {"Authorization": f"Bearer {key}", **(headers or {})})
    if status not in expect:
        raise RuntimeError(f"{method} {path}: HTTP {status} {raw[:300]!r}")
    return json.loads(raw) if raw else None


def start_case(name: str, root: Path, pin: list[str], code: Path | None = None) -> Case:
    """The server of case `name` ("off" or "on", with BASE when it runs the checkout `code`)."""
    data_dir = root / name / "data"
    data_dir.mkdir(parents=True)
    config = root / name / "toshi.toml"
    config.write_text("[toshi]\nauth = true\n")
    admin = create_admin_key(data_dir, config)
    server = run.toshi_server(data_dir, pin)
    server.cmd = [*server.cmd, "--config", str(config)]
    if code is not None:
        server.root = code
    server.start()
    rate = run.load(server.port, care_record, RESIDENTS, {"Authorization": f"Bearer {admin}"})
    notes = [f"loaded {RESIDENTS:,} CareRecords at {rate:,.0f} entities/s"]
    services = [api(server.port, "POST", "/admin/auth/accounts", admin,
                    {"name": f"care-service-{s}", "roles": ["default:consumer"]}) for s in range(SERVICES)]
    if name.startswith("on"):
        api(server.port, "POST", "/consent/declarations", admin, DECLARATION)
        started, granted = time.perf_counter(), 0
        for s, made in enumerate(services):
            for k, categories in enumerate(CATEGORY_SETS):
                group = [resident(n) for n in range(RESIDENTS) if (n + s) % len(CATEGORY_SETS) == k]
                body = {"residents": group, "recipient": made["account"]["id"], "purpose": PURPOSE,
                        "categories": categories}
                granted += api(server.port, "POST", "/consent/grants", admin, body)["granted"]
        notes.append(f"declared CareRecord; {granted:,} consents ({SERVICES} per resident) through "
                     f"POST /consent/grants in {time.perf_counter() - started:.1f} s")
    key = services[0]["apiKey"]
    check_view(server.port, key, name)
    options = {"header": f"Authorization: Bearer {key}", "header2": f"Toshi-Purpose: {PURPOSE}"}
    return Case(name, server, options, notes)


def check_view(port: int, key: str, name: str) -> None:
    """Service 0 sees what the consents say, before anything is measured."""
    headers = {"Toshi-Purpose": PURPOSE}
    for n in range(8):
        seen = api(port, "GET", f"{run.NGSI}/entities/{ID_FORMAT % n}", key, headers=headers)
        wanted = {"id", "type", "ward", "careLevel", "visits"}
        if name.startswith("off"):
            wanted |= {"diagnosis", "phone", "home", "resident"}
        else:
            shown = CATEGORY_SETS[n % len(CATEGORY_SETS)]
            wanted |= {a for a, c in DECLARATION["attributes"].items() if c in shown}
        assert set(seen) == wanted, f"{name}: service 0 sees {sorted(seen)} of record {n}, expected {sorted(wanted)}"


def measure_scenario(row: run.Row, cases: list[Case], wrk_cfg: run.WrkConfig) -> dict[str, list[run.Result]]:
    """Every run of every server, taken in turn (off, on, off, on, ...)."""
    mine = {case.name: replace(row, name=f"{row.name}-{case.name}", options={**row.options, **case.options})
            for case in cases}
    return run.alternate(mine, {case.name: case.server for case in cases}, wrk_cfg, f"{int(time.time())}")


def table(results: dict[str, dict[str, list[run.Result]]]) -> str:
    lines = ["| scenario | case | median req/s | best req/s | every run, req/s (in turn order) | overhead vs off, "
             "medians | overhead vs off, best | p50 ms (median run) | p99 ms | errors | ≤ 15 % (medians) |",
             "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for scenario, by_case in results.items():
        for name, runs in by_case.items():
            off = by_case[name.replace("on", "off")]
            middle, best = _median_run(runs), max(runs, key=lambda r: r.rps)
            errors = sum(r.errors for r in runs)
            shown = "0" if not errors else f"**{errors:,} ERRORS** ({'; '.join(r.error_detail for r in runs)})"
            medians = bests = met = ""
            if name.startswith("on"):
                cost = 1 - middle.rps / _median_run(off).rps
                medians = f"{cost:+.1%}".replace("-", "−")
                bests = f"{1 - best.rps / max(r.rps for r in off):+.1%}".replace("-", "−")
                met = "yes" if cost <= TARGET and not errors else "**no**"
            every = ", ".join(f"{r.rps:,.0f}" for r in runs)
            what = CASE_WHAT[name.removesuffix(BASE)] + (" (baseline code)" if name.endswith(BASE) else "")
            lines.append(f"| {scenario} | {what} | {middle.rps:,.0f} | {best.rps:,.0f} | {every} | {medians} | "
                         f"{bests} | {middle.p50_ms:.2f} | {middle.p99_ms:.2f} | {shown} | {met} |")
    return "\n".join(lines)


def _median_run(runs: list[run.Result]) -> run.Result:
    return sorted(runs, key=lambda r: r.rps)[len(runs) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Consent layer overhead on GET and query (see BENCHMARKS.md).")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server and scenario")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case, in turns (default 3)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and wrk to separate CPUs")
    parser.add_argument("--baseline", type=Path, help="another checkout of Toshi to measure in the same turns")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so finally-blocks stop the servers
    run.ensure_wrk()
    server_pin, wrk_pin = run.cpu_plan(not args.no_pin)
    wrk_cfg = run.WrkConfig(duration=args.duration, warmup=args.warmup, connections=args.connections,
                            repeat=max(1, args.repeat), pin=wrk_pin)
    now = datetime.now(UTC)
    machine = run.machine_info()
    results: dict[str, dict[str, list[run.Result]]] = {}
    cases: list[Case] = []
    with tempfile.TemporaryDirectory(prefix="toshi-consent-bench-") as tmp:
        try:
            names = ["off", "on", *((f"off{BASE}", f"on{BASE}") if args.baseline else ())]
            for name in names:
                print(f"starting server {name} ...", file=sys.stderr)
                cases.append(start_case(name, Path(tmp), server_pin, args.baseline if name.endswith(BASE) else None))
            for row in rows():
                results[row.name] = measure_scenario(row, cases, wrk_cfg)
        finally:
            for case in cases:
                case.server.stop()
    machine["load_after"] = run.load_average()
    command = shlex.join(["python3", "bench/consent_bench.py", *(sys.argv[1:] if argv is None else argv)])
    pinning = (f"both servers pinned to CPU {server_pin[-1]}, wrk to CPU {wrk_pin[-1]}" if server_pin
               else "no CPU pinning")
    section = "\n".join([
        f"### Run of {now.strftime('%Y-%m-%d %H:%M UTC')}", "",
        f"Command: `{command}`  ",
        (f"Load: `wrk -t1 -c{wrk_cfg.connections}`, {wrk_cfg.duration} s per measurement after a "
         f"{wrk_cfg.warmup} s warm-up, {wrk_cfg.repeat} runs per case taken in turns; {pinning}.  "),
        (f"Machine: {machine['cpus']}, {machine['cpu_model']}, {machine['memory']} RAM, {machine['os']}, "
         f"Python {machine['python']}, SQLite {machine['sqlite']}; 1-min load average "
         f"{machine['load_before']} before the run, {machine['load_after']} after.  "),
        f"Stack: {machine['packages']}; {machine['wrk']}; commit {machine['commit']}"
        + (f"; baseline {args.baseline} at {_commit_of(args.baseline)}." if args.baseline else "."), "",
        table(results), "",
        "Setup:", "", *[f"- {case.name}: {'; '.join(case.notes)}" for case in cases], "",
    ])
    print(section)
    run.RESULTS_DIR.mkdir(exist_ok=True)
    out = run.RESULTS_DIR / f"{now.strftime('%Y%m%d-%H%M%S')}-consent.md"
    out.write_text(section)
    print(f"saved {out}", file=sys.stderr)
    return 1 if any(r.errors for by_case in results.values() for runs in by_case.values() for r in runs) else 0


def _commit_of(checkout: Path) -> str:
    return run._run_text(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"]).strip() or "(unknown)"


if __name__ == "__main__":
    sys.exit(main())
