"""Running the real `toshi` command line in a child process."""

from __future__ import annotations

import contextlib
import io
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


def in_process(*argv: str) -> subprocess.CompletedProcess:
    """`toshi ARGV` run by the real command line, `toshi.cli.main` (what the `toshi` script runs), in
    this process; answers like subprocess.run."""
    from toshi.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse refused the arguments
            code = exc.code if isinstance(exc.code, int) else 2
    return subprocess.CompletedProcess(["toshi", *argv], code, out.getvalue(), err.getvalue())


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


def aed_csv(rows: int) -> bytes:
    """A CSV of the standard AED dataset (jp-standard-08) with `rows` valid rows."""
    from toshi.catalogue import standards as std

    sample = {std.TEXT: "値", std.INTEGER: "120", std.NUMBER: "12.5", std.DATE: "2024-04-01", std.TIME: "09:00",
              std.FLAG: "1", std.YESNO: "有", std.CODE: "273619", std.LIST: "余野;川尻", std.LATITUDE: "34.82",
              std.LONGITUDE: "135.47"}
    lines = [",".join(c.header for c in std.AED.columns)]
    for n in range(rows):
        lines.append(",".join(f"{n:05d}" if c.header == std.ID_HEADER else sample[c.kind] for c in std.AED.columns))
    return ("\r\n".join(lines) + "\r\n").encode()
