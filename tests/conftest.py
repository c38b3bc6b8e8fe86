"""Shared fixtures: the app in-process (TestClient) and a real server process over a socket."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient
from support import free_port

from toshi.app import create_app
from toshi.config import Settings
from toshi.store.sqlite import SqliteStore


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=str(tmp_path / "data"))


@pytest.fixture
def client(settings: Settings):
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def fast_client(settings: Settings):
    """The app with quick notification retries (for delivery tests)."""
    fast = dataclasses.replace(settings, notify_backoff=0.05, notify_max_attempts=3, notify_timeout=2.0)
    with TestClient(create_app(fast)) as test_client:
        yield test_client


@pytest.fixture
def receiver():
    """A real HTTP notification receiver on 127.0.0.1."""
    from support import Receiver

    r = Receiver()
    yield r
    r.close()


class ServerProcess:
    """`toshi serve` in a child process: start, stop gracefully, or kill -9."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> ServerProcess:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "TOSHI_LOG_LEVEL": "warning"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "toshi.cli", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()}")
            try:
                httpx.get(self.url + "/version", timeout=0.5)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not start within 20 s")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server(tmp_path: Path):
    proc = ServerProcess(tmp_path / "server-data").start()
    yield proc
    proc.stop()


# -- a bare store (the auth and audit tests) -------------------------------------------------------
def open_store(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    asyncio.run(store.open())
    return store


@pytest.fixture
def store(tmp_path: Path):
    opened = open_store(tmp_path / "toshi.db")
    yield opened
    asyncio.run(opened.close())


@pytest.fixture
def load_store():
    """What the main CLI passes to add_commands: args -> an open store under args.data_dir."""
    return lambda args: open_store(Path(args.data_dir) / "toshi.db")


@pytest.fixture
def opener():
    """Opens (another) store on a path; the test closes it."""
    return open_store


@pytest.fixture
def toshi(tmp_path, monkeypatch, capsys):
    """Runs the `toshi` command line with --data-dir added; returns (exit code, stdout, stderr)."""
    from toshi.cli import build_parser

    monkeypatch.chdir(tmp_path)  # no stray ./toshi.toml
    monkeypatch.delenv("TOSHI_CONFIG", raising=False)
    parser = build_parser()

    def run(*argv: str) -> tuple[int, str, str]:
        args = parser.parse_args([*argv, "--data-dir", str(tmp_path / "data")])
        code = args.run(args)
        out, err = capsys.readouterr()
        return code, out, err
    return run
