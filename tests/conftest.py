"""Shared fixtures: the app in-process (TestClient) and a real server process over a socket."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, PgSchema, ServerProcess, require_postgres

from toshi.app import create_app
from toshi.config import Settings
from toshi.store.sqlite import SqliteStore


# -- the backends: every test that takes `settings`, `client` or `store` runs on each (support.BACKENDS)
@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str):
    """"" for SQLite; for PostgreSQL the URL of a fresh schema, dropped after the test."""
    if backend == "sqlite":
        yield ""
        return
    require_postgres()
    schema = PgSchema()
    yield schema.url
    schema.drop()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=str(tmp_path / "data"), database_url=database_url)


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
def store(tmp_path: Path, database_url: str):
    if database_url:
        from toshi.store.postgres import PostgresStore

        opened = PostgresStore(database_url)
        asyncio.run(opened.open())
    else:
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
