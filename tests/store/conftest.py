"""Fixtures of the store tests: the command line, and PostgreSQL schemas made on demand."""

from __future__ import annotations

import pytest
from support import PgSchema, require_postgres

from toshi.cli import main


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Runs the `toshi` command line; returns (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)  # no stray ./toshi.toml
    monkeypatch.delenv("TOSHI_CONFIG", raising=False)
    monkeypatch.delenv("TOSHI_DATABASE_URL", raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return run


@pytest.fixture
def pg():
    """Makes fresh PostgreSQL schemas: `pg()` is the URL of a new one; all are dropped afterwards."""
    require_postgres()
    made: list[PgSchema] = []

    def make() -> str:
        made.append(PgSchema())
        return made[-1].url
    yield make
    for schema in made:
        schema.drop()


@pytest.fixture
def pg_url(pg) -> str:
    """The URL of one fresh PostgreSQL schema."""
    return pg()
