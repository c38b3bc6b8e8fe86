"""The cost of the access log (issue 21): bench/run.py's GET and update scenarios on two Toshi servers
at `--log-level info`, one with the access log (the default: a line per request, written to the
server's log file as journald or a pipe would get it), one with `access_log = false`. Both keep the
request metrics (the same middleware times every request for /metrics either way).

    python3 bench/ops_bench.py                      # 10 s per measurement, best of 2
    python3 bench/ops_bench.py --duration 5 --repeat 3
    mkdir /tmp/before && git archive <commit> toshi | tar -x -C /tmp/before
    python3 bench/ops_bench.py --before /tmp/before   # a third server: the access log of that commit

The servers take turns within a scenario (on, off, on, off, ...) so that a slow spell of a shared
machine does not land on one case only; each keeps its best run (bench/auth_bench.py's method).
Throughput on a loaded machine swings by more than the access log costs, so each server's CPU time
(/proc/PID/stat, all its threads: the log's writer too) over the requests it answered in the
scenario (its /metrics request count, warm-up included) is given as well: µs of CPU a request, which
the other processes on the machine move far less.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import auth_bench
import bench_data
import run

CASES = {"on": "access log on (info, text lines to the log file)", "off": "access log off (access_log = false)"}
BEFORE = "access log on, code of --before"


def start_case(name: str, root: Path, pin: list[str], tree: str | None = None) -> auth_bench.Case:
    """`tree`: run the toshi package found there (an older commit's) instead of this checkout's."""
    data_dir = root / name / "data"
    data_dir.mkdir(parents=True)
    config = root / name / "toshi.toml"
    config.write_text(f"[toshi]\naccess_log = {'false' if name == 'off' else 'true'}\n")
    server = run.toshi_server(data_dir, pin)
    server.cmd = [("info" if part == "warning" else part) for part in server.cmd] + ["--config", str(config)]
    if tree:
        at = server.cmd.index(sys.executable)
        server.cmd[at:at] = ["env", f"PYTHONPATH={tree}"]
    server.start()
    rate = run.load(server.port, bench_data.shelter, run.SHELTERS)
    return auth_bench.Case(name, server, "", [f"loaded {run.SHELTERS:,} Shelters at {rate:,.0f} entities/s"])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, all its threads (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def answered(port: int) -> int:
    """The requests a server has answered: the sum of its request histogram's counts (/metrics)."""
    body = run.request(port, "GET", "/metrics")[2].decode()
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                   if line.startswith("toshi_http_request_duration_seconds_count{")))


def access_lines(case: auth_bench.Case) -> int:
    text = case.server.log_path.read_text(errors="replace") if case.server.log_path.exists() else ""
    return sum(1 for line in text.splitlines() if " toshi.access: " in line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--before", metavar="TREE", help="also measure the toshi package in TREE (an older "
                                                         "commit's, from git archive), access log on")
    args = parser.parse_args(argv)
    run.ensure_wrk()
    server_pin, wrk_pin = run.cpu_plan(not args.no_pin)
    wrk_cfg = run.WrkConfig(duration=args.duration, warmup=args.warmup, connections=args.connections,
                            repeat=max(1, args.repeat), pin=wrk_pin)
    machine = run.machine_info()
    results: dict[str, dict[str, run.Result]] = {}
    cpu_us: dict[tuple[str, str], float] = {}  # (scenario, case) -> server CPU µs a request
    named = {**CASES, **({"before": BEFORE} if args.before else {})}
    with tempfile.TemporaryDirectory(prefix="toshi-ops-bench-") as tmp:
        cases = [start_case(name, Path(tmp), server_pin) for name in CASES]
        if args.before:
            cases.append(start_case("before", Path(tmp), server_pin, str(Path(args.before).resolve())))
        try:
            for row in auth_bench.scenario_rows():
                before = {case.name: (cpu_seconds(case.server.proc.pid), answered(case.server.port)) for case in cases}
                results[row.name] = auth_bench.measure_scenario(row, cases, wrk_cfg, None)
                for case in cases:
                    cpu, count = before[case.name]
                    cpu_us[row.name, case.name] = ((cpu_seconds(case.server.proc.pid) - cpu) * 1e6
                                                   / max(1, answered(case.server.port) - count))
            lines = {case.name: access_lines(case) for case in cases}
        finally:
            for case in cases:
                case.server.stop()
    machine["load_after"] = run.load_average()
    out = [f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {machine.get('commit', '?')}, "
           f"load average before {machine['load_before']}, after {machine['load_after']}; "
           f"{args.duration} s per run, best of {args.repeat}, {args.connections} connections",
           "", "| scenario | case | req/s | change vs off | CPU µs/request | change vs off | p50 ms | p99 ms | errors |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for scenario, by_case in results.items():
        base = by_case["off"]
        for name, what in named.items():
            r = by_case[name]
            change = "" if name == "off" else f"{r.rps / base.rps - 1:+.1%}".replace("-", "−")
            cpu, cpu_off = cpu_us[scenario, name], cpu_us[scenario, "off"]
            cpu_change = "" if name == "off" else f"{cpu / cpu_off - 1:+.1%}".replace("-", "−")
            out.append(f"| {scenario} | {what} | {r.rps:,.0f} | {change} | {cpu:,.0f} | {cpu_change} | "
                       f"{r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors or 0} |")
    out.append("")
    out.append("access-log lines written: " + ", ".join(f"{name} {count:,}" for name, count in lines.items()))
    for scenario, by_case in results.items():
        for name in named:
            notes = "; ".join(by_case[name].notes)
            if notes:
                out.append(f"- {scenario} {name}: {notes}")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
