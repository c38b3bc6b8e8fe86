"""Schema versions: a database behind is refused at start-up until `toshi db upgrade` applies the
missing migrations; one made by a newer Toshi is refused."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from toshi.store import migrations
from toshi.store.migrations import Migration, SchemaMismatch
from toshi.store.sqlite import SqliteStore


def add_notes_table(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE town_notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    db.execute("INSERT INTO town_notes (text) VALUES ('migrated')")


def test_upgrade_path(tmp_path, monkeypatch, toshi):
    data = tmp_path / "data"
    store = SqliteStore(data / "toshi.db")
    asyncio.run(store.open())
    asyncio.run(store.close())
    code, out, _ = toshi("db", "status")
    assert code == 0 and "schema version 1" in out and "0 migration(s)" in out

    monkeypatch.setattr(migrations, "MIGRATIONS", [Migration(2, "town notes", add_notes_table)])
    with pytest.raises(SchemaMismatch, match="toshi db upgrade"):
        asyncio.run(SqliteStore(data / "toshi.db").open())
    with pytest.raises(SchemaMismatch, match="schema version 1"):
        migrations.check_file(data / "toshi.db")
    code, out, _ = toshi("db", "status")
    assert "1 migration(s) to apply" in out and "2: town notes" in out
    code, out, _ = toshi("db", "upgrade")
    assert code == 0 and "applied 2: town notes" in out and "schema version 2" in out
    assert toshi("db", "upgrade")[1].strip().endswith("(already up to date)")
    store = SqliteStore(data / "toshi.db")
    asyncio.run(store.open())  # the lock of the refused opening was released
    assert store.db.execute("SELECT text FROM town_notes").fetchall() == [("migrated",)]
    asyncio.run(store.close())


def test_a_failing_migration_changes_nothing(tmp_path, monkeypatch, toshi):
    store = SqliteStore(tmp_path / "data" / "toshi.db")
    asyncio.run(store.open())
    asyncio.run(store.close())

    def broken(db):
        db.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(migrations, "MIGRATIONS", [Migration(2, "broken", broken)])
    with pytest.raises(RuntimeError):
        toshi("db", "upgrade")
    db = sqlite3.connect(tmp_path / "data" / "toshi.db")
    assert migrations.version_of(db) == 1
    assert db.execute("SELECT 1 FROM sqlite_master WHERE name='half_done'").fetchone() is None
    db.close()


def test_a_newer_database_is_refused(tmp_path):
    store = SqliteStore(tmp_path / "toshi.db")
    asyncio.run(store.open())
    store.db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    asyncio.run(store.close())
    with pytest.raises(SchemaMismatch, match="newer than this Toshi"):
        asyncio.run(SqliteStore(tmp_path / "toshi.db").open())


def test_upgrade_path_on_postgresql(monkeypatch, toshi):
    """The same migrations run on PostgreSQL (written in the SQL both accept, or branching on
    `db.dialect`); a worker refuses the database until they ran; a failing one changes nothing."""
    from support import PgSchema, require_postgres

    from toshi.store.postgres import PostgresStore

    require_postgres()
    schema = PgSchema()
    try:
        asyncio.run(PostgresStore(schema.url).open())  # a fresh town at version 1 (closed with the loop)
        code, out, _ = toshi("db", "status", "--database-url", schema.url)
        assert code == 0 and "schema version 1" in out

        def broken(db):
            add_notes_table(db)
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(migrations, "MIGRATIONS", [Migration(2, "broken", broken)])
        with pytest.raises(RuntimeError):
            toshi("db", "upgrade", "--database-url", schema.url)
        monkeypatch.setattr(migrations, "MIGRATIONS", [Migration(2, "town notes", add_notes_table)])
        with pytest.raises(SchemaMismatch, match="toshi db upgrade"):
            asyncio.run(PostgresStore(schema.url).open())
        code, out, _ = toshi("db", "upgrade", "--database-url", schema.url)
        assert code == 0 and "applied 2: town notes" in out and "schema version 2" in out
        store = PostgresStore(schema.url)
        asyncio.run(store.open())
        assert store.db.execute("SELECT text FROM town_notes").fetchall() == [("migrated",)]
        asyncio.run(store.close())
    finally:
        schema.drop()
