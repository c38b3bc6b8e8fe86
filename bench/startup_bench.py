"""Start-up time: `import toshi.app`, `toshi --help`, and `toshi serve` until its first answer.

    python3 bench/startup_bench.py                          # this checkout, 7 runs of each
    python3 bench/startup_bench.py --baseline /tmp/old      # and another checkout's code, in turns
    python3 bench/startup_bench.py --runs 11 --json out.json

Each figure is the wall time and the CPU time (user + system) of a fresh interpreter (`python -c ...`
with the checkout first on PYTHONPATH, so it imports that checkout's toshi). Compiled modules are kept
in a bench-own cache (PYTHONPYCACHEPREFIX, filled by one run of each case that is not counted), as an
installed package has them; PYTHONDONTWRITEBYTECODE is dropped for the children. Linux only (the
server's CPU time is read from /proc).

  import   `import toshi.app`
  help     `toshi --help` (what the `toshi` script runs: `toshi.cli.main(["--help"])`)
  serve    `toshi serve` in a fresh data directory until `GET /ngsi-ld/v1/entities?type=Shelter` first
           answers 200 (polled every 10 ms): start-up, the database made, and a first NGSI-LD query,
           which needs the core @context (PyLD), so a library imported late still counts here

Runs take turns (baseline, current, baseline, ...) so a slow spell of a shared machine hits both; each
case reports the median and the best of its runs, and the load average before and after. On a loaded
machine the wall time mostly measures the wait for a core: read the CPU time then.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
MEASURES = ("import", "help", "serve")
HELP = "import sys; from toshi.cli import main; sys.argv[0] = 'toshi'; sys.exit(main(['--help']))"
SERVE = "import sys; from toshi.cli import main; sys.argv[0] = 'toshi'; sys.exit(main(sys.argv[1:]))"
FIRST_QUERY = "/ngsi-ld/v1/entities?type=Shelter"
SERVE_TIMEOUT = 120.0


PYCACHE = Path(tempfile.mkdtemp(prefix="startup-bench-pycache-"))  # also the children's working directory:
# `python -c` puts it first on sys.path, before PYTHONPATH, so it must hold no toshi
TICK = os.sysconf("SC_CLK_TCK")


def env_for(code: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code), "PYTHONPYCACHEPREFIX": str(PYCACHE / code.name)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed(code: Path, script: str) -> tuple[float, float]:
    """(wall, CPU) seconds of `python -c script` run with `code`."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", script], env=env_for(code), cwd=PYCACHE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{script!r} with {code} exited with {child.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def check_code(code: Path) -> None:
    found = subprocess.run([sys.executable, "-c", "import toshi; print(toshi.__file__)"], env=env_for(code),
                           cwd=PYCACHE, capture_output=True, text=True, check=True).stdout.strip()
    if not Path(found).is_relative_to(code):
        raise RuntimeError(f"the children import {found}, not the toshi of {code}")


def cpu_of(pid: int) -> float:
    """User + system seconds of a running process (Linux: /proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def first_answer(code: Path) -> tuple[float, float]:
    """(wall seconds from starting `toshi serve` to the first 200 of FIRST_QUERY, the server's CPU
    seconds until then)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as data:
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-c", SERVE, "serve", "--port", str(port), "--data-dir", data,
                                   "--log-level", "warning"], env=env_for(code), cwd=PYCACHE,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not answers(f"http://127.0.0.1:{port}{FIRST_QUERY}"):
                if server.poll() is not None:
                    raise RuntimeError(f"toshi serve of {code} exited with {server.returncode}")
                if time.perf_counter() - started > SERVE_TIMEOUT:
                    raise RuntimeError(f"toshi serve of {code} did not answer in {SERVE_TIMEOUT} s")
                time.sleep(0.01)
            return time.perf_counter() - started, cpu_of(server.pid)
        finally:
            server.terminate()
            server.wait(30)


def measure(code: Path, what: str) -> tuple[float, float]:
    if what == "import":
        return timed(code, "import toshi.app")
    if what == "help":
        return timed(code, HELP)
    return first_answer(code)


def uptime() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", type=Path, default=HERE, help="the checkout measured (default: this one)")
    parser.add_argument("--baseline", type=Path, help="a checkout to compare with (e.g. a git worktree)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    cases = {"current": args.code.resolve()}
    if args.baseline:
        cases = {"baseline": args.baseline.resolve(), **cases}
    times: dict[str, dict[str, list[tuple[float, float]]]] = {c: {w: [] for w in MEASURES} for c in cases}
    for code in cases.values():  # fills the bytecode cache; not counted
        check_code(code)
        for what in MEASURES:
            measure(code, what)
    before = uptime()
    print(f"before: {before}", file=sys.stderr)
    for run in range(args.runs):
        for what in MEASURES:
            for case, code in cases.items():
                times[case][what].append(measure(code, what))
        print(f"run {run + 1}/{args.runs}: {uptime()}", file=sys.stderr)
    after = uptime()
    print(f"after: {after}\n")
    print("| measure | case | wall median s | wall best s | CPU median s | CPU best s |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for what in MEASURES:
        for case in cases:
            walls, cpus = zip(*times[case][what], strict=True)
            print(f"| {what} | {case} | {statistics.median(walls):.3f} | {min(walls):.3f} | "
                  f"{statistics.median(cpus):.3f} | {min(cpus):.3f} |")
    if args.json:
        args.json.write_text(json.dumps({"before": before, "after": after, "runs": args.runs,
                                         "cases": {c: str(p) for c, p in cases.items()}, "times": times}, indent=1))


if __name__ == "__main__":
    main()
