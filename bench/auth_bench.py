"""The cost of security: bench/run.py's GET and update scenarios with authentication and a 100-rule
policy set on, beside the same runs with authentication off. Target: overhead ≤ 15 %.

    python3 bench/auth_bench.py                     # 10 s per measurement, best of 2 (~2.5 minutes)
    python3 bench/auth_bench.py --duration 5 --repeat 3
    python3 bench/auth_bench.py --profile           # then one more run per case under py-spy (not counted)

Three Toshi servers, each in its own fresh data directory, all pinned to the same CPU (wrk to the other
one, as bench/run.py does), with the same data (bench/run.py's 1,000 Shelters plus a `secretNote`
attribute, loaded through the API):

  off       authentication off, the baseline
  rules     authentication on, 100 policy rules; wrk calls with the API key of an account with NO roles,
            group `bench`, whose access comes from two of the rules: allow read+update of type Shelter
            in the default tenant, deny read of attribute `secretNote`. So the per-entity guard runs on
            every GET (the attribute is redacted) and every PATCH (the write check).
  operator  authentication on, the same 100 rules; wrk calls with the API key of an account with role
            `*:operator`, which the rules do not narrow: the role fast path (no per-entity guard).

The other 98 rules apply to other groups, types, ids or tenants. On the `rules` and `operator` servers
the first admin account is created offline (`toshi key create`, before the server starts), the data,
the two accounts and the rules through the API with its key.

Scenarios run in the order of bench/run.py (get, then update); within a scenario the three servers take
turns (off, rules, operator, off, ...), `--repeat` times, so a slow spell of a shared machine does not
land on one case only; each case keeps its best run. Every response is checked as in bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import bench_data
import run

TARGET = 0.15                     # overhead allowed vs authentication off
SECRET = "secretNote"
CASES = ("off", "rules", "operator")
CASE_WHAT = {
    "off": "authentication off",
    "rules": "auth + 100 rules, rule-based principal (group `bench`, no role)",
    "operator": "auth + 100 rules, role `*:operator`",
}


# -- data and policy --------------------------------------------------------------------------------

def shelter(n: int) -> dict:
    """bench/run.py's Shelter with one more attribute, the one the rules hide from the `bench` group."""
    secret = {"type": "Property", "value": f"door code {n * 7919 % 10000:04d}"}
    return {**bench_data.shelter(n), SECRET: secret}


def policy_rules() -> list[dict]:
    """100 rules: 2 that give the `bench` group its access, 98 that do not apply to either load principal."""
    rules = [
        {"id": "bench-allow", "effect": "allow", "principals": ["group:bench"], "actions": ["read", "update"],
         "tenant": "default", "types": [bench_data.SHELTER_TYPE]},
        {"id": "bench-hide-secret", "effect": "deny", "principals": ["group:bench"], "actions": ["read"],
         "tenant": "default", "attrs": [SECRET]},
    ]
    for n in range(98):
        kind = n % 5
        if kind == 0:    # open data of another type, in another tenant
            rule = {"effect": "allow", "principals": ["*"], "actions": ["read"], "tenant": f"city{n}",
                    "types": [f"T{n}"]}
        elif kind == 1:  # another group: read and update of its type, everywhere
            rule = {"effect": "allow", "principals": [f"group:g{n}"], "actions": ["read", "update"],
                    "tenant": "*", "types": [f"T{n}"]}
        elif kind == 2:  # another group: some ids hidden
            rule = {"effect": "deny", "principals": [f"group:g{n}"], "actions": ["read", "update", "delete"],
                    "tenant": "default", "idPattern": f"^urn:ngsi-ld:T{n}:private-.*"}
        elif kind == 3:  # a role's rights narrowed, in another tenant
            rule = {"effect": "deny", "principals": ["role:operator"], "actions": ["delete"],
                    "tenant": f"city{n}", "types": [f"T{n}"], "idPattern": f"^urn:ngsi-ld:T{n}:critical-.*"}
        else:            # one other account: some attributes of its type
            rule = {"effect": "allow", "principals": [f"id:acct_other{n}"], "actions": ["read"],
                    "tenant": "default", "types": [f"T{n}"], "attrs": ["temperature", "location"]}
        rules.append({"id": f"other-{n:02d}", **rule, "description": f"bench filler rule {n}"})
    return rules


# -- servers --------------------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    server: run.Server
    header: str = ""             # the wrk `header=` option: the load principal's credentials
    notes: list[str] | None = None


def create_admin_key(data_dir: Path, config: Path) -> str:
    """`toshi key create` on the stopped server's data directory: the first admin's API key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOSHI_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(run.REPO), env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-m", "toshi.cli", "key", "create", "--name", "bench-admin",
                           "--role", "*:admin", "--config", str(config), "--data-dir", str(data_dir)],
                          capture_output=True, text=True, env=env, cwd=data_dir.parent, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"toshi key create failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip().splitlines()[0]


def api(port: int, method: str, path: str, key: str, body: object = None,
        expect: tuple[int, ...] = (200, 201)):
    status, _, raw = run.request(port, method, path, None if body is None else json.dumps(body).encode(),
                                 {"Authorization": f"Bearer {key}"})
    if status not in expect:
        raise RuntimeError(f"{method} {path}: HTTP {status} {raw[:300]!r}")
    return json.loads(raw) if raw else None


def start_case(name: str, root: Path, pin: list[str]) -> Case:
    data_dir = root / name / "data"
    data_dir.mkdir(parents=True)
    config = root / name / "toshi.toml"
    config.write_text(f"[toshi]\nauth = {'true' if name != 'off' else 'false'}\n")
    admin = create_admin_key(data_dir, config) if name != "off" else ""
    server = run.toshi_server(data_dir, pin)
    server.cmd = [*server.cmd, "--config", str(config)]
    server.start()
    headers = {"Authorization": f"Bearer {admin}"} if admin else None
    rate = run.load(server.port, shelter, run.SHELTERS, headers)
    notes = [f"loaded {run.SHELTERS:,} Shelters (with `{SECRET}`) at {rate:,.0f} entities/s"]
    if name == "off":
        return Case(name, server, "", notes)
    for rule in policy_rules():
        api(server.port, "POST", "/admin/auth/policies", admin, rule)
    rules_key = api(server.port, "POST", "/admin/auth/accounts", admin,
                    {"name": "bench-rules", "roles": [], "groups": ["bench"]})["apiKey"]
    operator_key = api(server.port, "POST", "/admin/auth/accounts", admin,
                       {"name": "bench-operator", "roles": ["*:operator"]})["apiKey"]
    count = len(api(server.port, "GET", "/admin/auth/policies", admin))
    notes.append(f"{count} policy rules, accounts bench-admin, bench-rules, bench-operator")
    check_access(server.port, rules_key, operator_key)
    key = rules_key if name == "rules" else operator_key
    return Case(name, server, f"Authorization: Bearer {key}", notes)


def check_access(port: int, rules_key: str, operator_key: str) -> None:
    """The principals get what the rules say, before anything is measured."""
    path = run.NGSI + "/entities/" + bench_data.shelter_id(7)
    status, _, _ = run.request(port, "GET", path)
    assert status == 401, f"GET without credentials: HTTP {status}, expected 401"
    seen = api(port, "GET", path, rules_key)
    assert SECRET not in seen and "occupancy" in seen, f"rule-based principal sees {sorted(seen)}"
    seen = api(port, "GET", path, operator_key)
    assert SECRET in seen, f"operator sees {sorted(seen)}"
    api(port, "PATCH", path + "/attrs/occupancy", rules_key, {"value": 1}, expect=(204,))
    new = {"id": "urn:ngsi-ld:Shelter:bench-new", "type": "Shelter"}
    api(port, "POST", run.NGSI + "/entities", rules_key, new, expect=(403,))


# -- measuring ------------------------------------------------------------------------------------

def scenario_rows() -> list[run.Row]:
    return [r for r in run.all_rows(0) if r.name in ("get", "update")]


def row_for(row: run.Row, case: Case) -> run.Row:
    options = {**row.options, "header": case.header} if case.header else row.options
    return replace(row, name=f"{row.name}-{case.name}", options=options)


def measure_scenario(row: run.Row, cases: list[Case], wrk_cfg: run.WrkConfig,
                     profile_dir: Path | None) -> dict[str, run.Result]:
    """Warm each server up, then `repeat` rounds of one run per server in turn; the best run per server."""
    rows = {case.name: row_for(row, case) for case in cases}
    stamp = f"{int(time.time())}"
    runs = run.alternate(rows, {case.name: case.server for case in cases}, wrk_cfg, stamp)
    best = {}
    for name, results in runs.items():
        top = max(results, key=lambda r: r.rps)
        others = [r for r in results if r is not top]
        top.errors += sum(r.errors for r in others)
        top.error_detail = "; ".join(filter(None, [top.error_detail, *(r.error_detail for r in others)]))
        if len(results) > 1:
            top.notes.append("best of " + ", ".join(f"{r.rps:,.0f}" for r in results) + " req/s")
        best[name] = top
    if profile_dir is not None:
        for case in cases:
            print(f"profiling {rows[case.name].name} ...", file=sys.stderr)
            profiled = run.measure_once(rows[case.name], case.server, wrk_cfg, profile_dir,
                                        f"p{stamp}-{case.name}")
            best[case.name].notes.append(f"profiled run (py-spy, not counted): {profiled.rps:,.0f} req/s; "
                                         + "; ".join(profiled.notes))
    return best


# -- report ---------------------------------------------------------------------------------------

def overhead(result: run.Result, base: run.Result) -> float:
    return 1 - result.rps / base.rps if base.rps else float("nan")


def table(results: dict[str, dict[str, run.Result]]) -> str:
    lines = ["| scenario | case | req/s | overhead vs off | p50 ms | p99 ms | errors | ≤ 15 % |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for scenario, by_case in results.items():
        base = by_case["off"]
        for name in CASES:
            r = by_case[name]
            errors = "0" if not r.errors else f"**{r.errors:,} ERRORS** ({r.error_detail})"
            if name == "off":
                share, met = "", ""
            else:
                cost = overhead(r, base)
                share = f"{cost:+.1%}".replace("-", "−")
                met = "yes" if cost <= TARGET and not r.errors and not base.errors else "**no**"
            lines.append(f"| {scenario} | {CASE_WHAT[name]} | {r.rps:,.0f} | {share} | {r.p50_ms:.2f} | "
                         f"{r.p99_ms:.2f} | {errors} | {met} |")
    return "\n".join(lines)


def report(results: dict[str, dict[str, run.Result]], cases: list[Case], machine: dict[str, str],
           command: str, wrk_cfg: run.WrkConfig, server_pin: list[str], when: str) -> str:
    pinning = (f"all three servers pinned to CPU {server_pin[-1]}, wrk to CPU {wrk_cfg.pin[-1]}" if server_pin
               else "no CPU pinning")
    repeat = f", best of {wrk_cfg.repeat} runs taken in turns" if wrk_cfg.repeat > 1 else ""
    notes = [f"- {r.row.name}: {note}"
             for by_case in results.values() for r in by_case.values() for note in r.notes]
    setup = [f"- {case.name}: {'; '.join(case.notes or [])}" for case in cases]
    return "\n".join([
        f"### Run of {when}", "",
        f"Command: `{command}`  ",
        (f"Load: `wrk -t1 -c{wrk_cfg.connections}`, {wrk_cfg.duration} s per measurement after a "
         f"{wrk_cfg.warmup} s warm-up{repeat}; {pinning}.  "),
        (f"Machine: {machine['cpus']}, {machine['cpu_model']}, {machine['memory']} RAM, {machine['os']}, "
         f"Python {machine['python']}, SQLite {machine['sqlite']}; 1-min load average "
         f"{machine['load_before']} before the run, {machine['load_after']} after.  "),
        f"Stack: {machine['packages']}; {machine['wrk']}; commit {machine['commit']}.", "",
        table(results), "",
        "Setup:", "", *setup, "",
        "Notes:", "", *notes, "",
    ])


# -- command line ---------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Authentication + policy overhead on GET and update (see BENCHMARKS.md).")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="seconds of warm-up per server and scenario (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per case, the best is kept (default 2)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and wrk to separate CPUs")
    parser.add_argument("--profile", action="store_true",
                        help="after the measured runs, one more run of each case under py-spy")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so finally-blocks stop the servers
    run.ensure_wrk()
    if args.profile:
        run.ensure_py_spy()
    server_pin, wrk_pin = run.cpu_plan(not args.no_pin)
    wrk_cfg = run.WrkConfig(duration=args.duration, warmup=args.warmup, connections=args.connections,
                            repeat=max(1, args.repeat), pin=wrk_pin)
    now = datetime.now(UTC)
    stamp = now.strftime("%Y%m%d-%H%M%S")
    profile_dir = run.RESULTS_DIR / f"{stamp}-auth-profile" if args.profile else None
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
    machine = run.machine_info()
    results: dict[str, dict[str, run.Result]] = {}
    cases: list[Case] = []
    with tempfile.TemporaryDirectory(prefix="toshi-auth-bench-") as tmp:
        try:
            for name in CASES:
                print(f"starting server {name} ...", file=sys.stderr)
                cases.append(start_case(name, Path(tmp), server_pin))
            for row in scenario_rows():
                results[row.name] = measure_scenario(row, cases, wrk_cfg, profile_dir)
        finally:
            for case in cases:
                case.server.stop()
    machine["load_after"] = run.load_average()
    command = shlex.join(["python3", "bench/auth_bench.py", *(sys.argv[1:] if argv is None else argv)])
    section = report(results, cases, machine, command, wrk_cfg, server_pin,
                     now.strftime("%Y-%m-%d %H:%M UTC"))
    print(section)
    run.RESULTS_DIR.mkdir(exist_ok=True)
    out = run.RESULTS_DIR / f"{stamp}-auth.md"
    out.write_text(section)
    raw = {scenario: {name: {"rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "requests": r.requests,
                             "errors": r.errors, "error_detail": r.error_detail, "notes": r.notes,
                             "overhead": overhead(r, by_case["off"])}
                      for name, r in by_case.items()} for scenario, by_case in results.items()}
    saved = json.dumps({"machine": machine, "results": raw}, indent=2)
    (run.RESULTS_DIR / f"{stamp}-auth.json").write_text(saved)
    print(f"saved {out}", file=sys.stderr)
    errors = any(r.errors for by_case in results.values() for r in by_case.values())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
