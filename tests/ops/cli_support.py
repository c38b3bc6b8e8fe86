"""Running the real `toshi` command line in a child process."""

from __future__ import annotations

import os
import subprocess
import sys


def toshi(*args: str, env: dict | None = None, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TOSHI_")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "toshi.cli", *args], capture_output=True, text=True,
                          env=environment, timeout=timeout, **kwargs)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    """The failure's message: exactly one `toshi: ...` line on stderr, no traceback."""
    assert done.returncode != 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("toshi: "), done.stderr
    return lines[0]
