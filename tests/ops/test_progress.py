"""Long commands show their progress: a live bar (rich) on a terminal, plain lines when the output is a
log or a pipe — backup and restore (and migrate, tests/store/test_migrate.py), import, loading the demo
town (extract: tests/research/test_research_progress.py)."""

from __future__ import annotations

import asyncio
import io
import os
import pty
import select
import subprocess
import sys

from cli_support import aed_csv

from toshi.core.progress import Progress
from toshi.town import demo


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_when_a_step_finishes(monkeypatch):
    out = io.StringIO()
    with Progress(out, live=False) as progress:
        for done in (0, 500, 1000):
            progress("entities", done, 1000)
        progress("consents", 3, 3)
    assert out.getvalue().splitlines() == [Progress.line("entities", 1000, 1000), Progress.line("consents", 3, 3)]


def test_plain_lines_every_few_seconds_while_a_long_step_goes_on(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("toshi.core.progress.time.monotonic", clock)
    out = io.StringIO()
    progress = Progress(out, live=False, plain_every=5.0, finished_lines=False)
    progress("rows", 0, 100)
    clock.now = 1.0
    progress("rows", 10, 100)  # too soon for a line
    clock.now = 6.0
    progress("rows", 60, 100)
    clock.now = 7.0
    progress("rows", 100, 100)  # finished; this command lists its tables itself
    assert out.getvalue().splitlines() == [Progress.line("rows", 60, 100)]


def test_a_step_of_unknown_length_counts_what_is_done():
    assert Progress.line("reading records", 2000, None) == f"  {'reading records':<26}      2000 done"


def test_on_a_terminal_the_bar_is_rich_and_live():
    out = io.StringIO()
    with Progress(out, live=True) as progress:
        for done in range(5):
            progress("entities", done, 4)
    shown = out.getvalue()
    assert "\x1b[" in shown and "━" in shown and "4/4" in shown and "100%" in shown


def test_a_backup_on_a_terminal_shows_the_bar(tmp_path, here):
    town = str(tmp_path / "town")
    assert here("key", "create", "--name", "admin", "--role", "*:admin", "--data-dir", town).returncode == 0
    main, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOSHI_")}
    process = subprocess.Popen([sys.executable, "-m", "toshi.cli", "backup", str(tmp_path / "t.gz"), "--data-dir",
                                town], stdin=terminal, stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    shown = b""
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    assert process.wait(60) == 0
    text = shown.decode("utf-8", "replace")
    assert "━" in text and "100%" in text and "backup of" in text


def test_an_import_in_a_log_prints_plain_progress_lines(tmp_path, here):
    source = tmp_path / "aed.csv"
    source.write_bytes(aed_csv(1500))
    done = here("import", str(source), "--dataset", "aed", "--data-dir", str(tmp_path / "town"))
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert Progress.line("checking rows", 1500, 1500) in lines
    assert Progress.line("writing entities", 1500, 1500) in lines


def test_loading_the_demo_town_prints_plain_progress_lines(tmp_path, capsys):
    data_dir = tmp_path / "demo"
    state = demo.bootstrap(data_dir, seed=3, residents=10)
    port = demo.free_port()
    server = demo.start_server(data_dir, port, state, mqtt=False)

    async def load():
        town = demo.DemoTown(f"http://127.0.0.1:{port}", data_dir, state, speed=60, mqtt=False)
        try:
            await town.setup()
            return town.figures
        finally:
            await town.close()

    try:
        figures = asyncio.run(load())
    finally:
        demo.stop_server(server)
    lines = capsys.readouterr().err.splitlines()
    assert Progress.line("entities", figures["entities"], figures["entities"]) in lines
    assert Progress.line("consents", figures["consents"], figures["consents"]) in lines


def test_a_restore_in_a_log_reports_each_table_as_it_goes(tmp_path, here, monkeypatch):
    town, backup = str(tmp_path / "town"), str(tmp_path / "town.toshi.gz")
    assert here("key", "create", "--name", "admin", "--role", "*:admin", "--data-dir", town).returncode == 0
    assert here("backup", backup, "--data-dir", town).returncode == 0

    class EveryReport(Progress):  # a plain line for every report, not one every 5 s: a small town is quick
        def __init__(self, out=None, **options):
            super().__init__(out, **{**options, "plain_every": 0.0})

    monkeypatch.setattr("toshi.core.progress.Progress", EveryReport)
    done = here("restore", backup, "--data-dir", str(tmp_path / "next"))
    assert done.returncode == 0, done.stderr
    assert Progress.line("auth_accounts", 0, 1) in done.stderr.splitlines()  # the table starting, of 1 row
