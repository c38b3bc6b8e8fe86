"""A real SQLite store on a temporary directory for the auth tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from toshi.store.sqlite import SqliteStore


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
