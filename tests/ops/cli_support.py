"""Running the real `toshi` command line in a child process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def toshi(*args: str, env: dict | None = None, timeout: float = 60, prefix: tuple[str, ...] = (),
          **kwargs) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TOSHI_")}
    environment.update(env or {})
    return subprocess.run([*prefix, sys.executable, "-m", "toshi.cli", *args], capture_output=True, text=True,
                          env=environment, timeout=timeout, **kwargs)


def bound_by_file_modes() -> tuple[str, ...]:
    """A prefix that runs a command bound by files' modes: nothing for a user; for root, without the
    capability that lets it write anywhere (CAP_DAC_OVERRIDE), so a read-only folder stops it too."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        import pytest

        pytest.skip("running as root, and setpriv (util-linux) is not there to drop CAP_DAC_OVERRIDE")
    return ("setpriv", "--bounding-set", "-dac_override")


def one_line_error(done: subprocess.CompletedProcess) -> str:
    """The failure's message: exactly one `toshi: ...` line on stderr, no traceback."""
    assert done.returncode != 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("toshi: "), done.stderr
    return lines[0]
