"""`toshi demo` as a command: started, stopped by SIGTERM (as a service manager stops it), started
again — it stops its server and saves its clock, and the second run resumes the same town."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import httpx

from toshi.town import demo


def start(data_dir, port: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "toshi.cli", "demo", "--residents", "40", "--speed", "600",
                             "--data-dir", str(data_dir), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def wait_ready(process: subprocess.Popen) -> str:
    """The demo's announcement, up to the line saying how to stop it."""
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Ctrl-C stops"):
            return "".join(lines)
    raise AssertionError(f"the demo ended before it was ready: {''.join(lines)}")


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(60)


def answers(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/version", timeout=1)
        return True
    except httpx.TransportError:
        return False


def test_sigterm_stops_the_server_and_a_second_run_resumes(tmp_path):
    data_dir, port = tmp_path / "demo", demo.free_port()
    first = start(data_dir, port)
    announced = wait_ready(first)
    assert "40 residents" in announced
    time.sleep(2)  # a few simulated minutes
    assert stop(first) == 0
    assert not answers(port)
    state = json.loads((data_dir / demo.STATE_FILE).read_text())
    assert state["loaded"] is True and state["clock"] > "2026-07-03T06:00"
    second = start(data_dir, port)
    try:
        announced = wait_ready(second)
        assert f"simulated day from {state['clock'][11:16]}" in announced
    finally:
        assert stop(second) == 0
