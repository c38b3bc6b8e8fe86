"""`toshi backup` / `toshi restore` with PostgreSQL: a whole town backed up from one store and restored
onto the other (SQLite -> PostgreSQL, PostgreSQL -> SQLite, PostgreSQL -> PostgreSQL) and compared
table by table and query by query; a backup taken while a server writes to PostgreSQL; damaged files
and non-empty targets refused without changing anything."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from decimal import Decimal
from pathlib import Path

import orjson
import psycopg
import pytest
from starlette.testclient import TestClient
from support import Receiver, ServerProcess, wait_until
from test_backup import (
    CORRUPTIONS,
    LD,
    TABLES,
    Town,
    admin_key,
    backup_lines,
    backups_while_counters_are_written,
    build_town,
    check_counters,
    link,
    observe,
    ok,
    rewrite,
    shelter,
)

from toshi.app import create_app
from toshi.audit.log import audit_log_of
from toshi.config import Settings
from toshi.core.signing import SigningKey, key_file
from toshi.operations.backup import pg_columns, pg_primary_tables, primary_tables
from toshi.store.backends import store_for


@pytest.fixture
def town_settings(tmp_path, pg):
    """Settings of a town kept by `backend` in a data directory of its own (and a schema of its own)."""
    def make(backend: str, name: str) -> Settings:
        return Settings(data_dir=str(tmp_path / name), database_url=pg() if backend == "postgresql" else "")
    return make


def where(settings: Settings) -> list[str]:
    """The command-line options that point `toshi` at that town."""
    return ["--data-dir", settings.data_dir, *(["--database-url", settings.database_url] if settings.database_url else [])]


def dump(settings: Settings) -> dict[str, tuple[list[str], list]]:
    """Every primary table holding rows as (columns, rows sorted): the columns of the SQLite layout
    (PostgreSQL's own `rowid` and `entities.version` left out), PostgreSQL's NUMERIC as SQLite's numbers.
    (A restore onto PostgreSQL makes every table of Toshi's features, those the backup lacks empty.)"""
    return {name: table for name, table in _dump(settings).items() if table[1]}


def _dump(settings: Settings) -> dict[str, tuple[list[str], list]]:
    if not settings.database_url:
        db = sqlite3.connect(f"file:{Path(settings.data_dir) / 'toshi.db'}?mode=ro", uri=True)
        try:
            tables = {}
            for name in primary_tables(db, TABLES):
                columns = [row[1] for row in db.execute(f"PRAGMA table_info({name})")]
                tables[name] = (columns, sorted(db.execute(f"SELECT * FROM {name}").fetchall(), key=repr))
            return tables
        finally:
            db.close()
    with psycopg.connect(settings.database_url) as conn:
        tables = {}
        for name in pg_primary_tables(conn, TABLES):
            columns = [c.name for c in pg_columns(conn, name) if not c.pg_only]
            rows = conn.execute(f"SELECT {', '.join(columns)} FROM {name}").fetchall()
            tables[name] = (columns, sorted((tuple(map(plain, row)) for row in rows), key=repr))
        return tables


def plain(value):
    if isinstance(value, Decimal):
        return int(value) if value.as_tuple().exponent >= 0 else float(value)
    return value


def inspect(settings: Settings) -> dict:
    """What the store says of its change log, and whether the audit chain verifies with the town's key."""
    async def look() -> dict:
        store = store_for(settings)
        await store.open()
        try:
            key = SigningKey.load(key_file(settings.data_dir))
            report = audit_log_of(store).verify(key)
            return {"last_seq": await store.changes.last_seq(), "notifier": await store.changes.cursor("notifier"),
                    "audit_ok": report.ok, "audit_checked": report.checked, "pending": store.outbox.pending()}
        finally:
            await store.close()
    return asyncio.run(look())


HISTORY = f"{LD}/temporal/entities/urn:ngsi-ld:Shelter:1?timeproperty=modifiedAt"
ROUND_TRIPS = [("sqlite", "postgresql"), ("postgresql", "sqlite"), ("postgresql", "postgresql")]


@pytest.mark.parametrize(("source", "target"), ROUND_TRIPS, ids=[f"{s}-to-{t}" for s, t in ROUND_TRIPS])
def test_round_trip_between_stores_restores_everything(source, target, town_settings, tmp_path, cli):
    original, copy = town_settings(source, "original"), town_settings(target, "copy")
    secure = dataclasses.replace(original, auth=True, outbound_allow="127.0.0.1", notify_backoff=0.05,
                                 notify_max_attempts=1)
    receiver, failing = Receiver(), Receiver(fail_first=10_000)
    try:
        with TestClient(create_app(secure)) as client:
            secret = admin_key(client)
            town = Town(client, secret)
            context_url = build_town(town, receiver, failing)
            assert wait_until(lambda: town.get("/admin/notifications/dead-letters").json())
            assert len(receiver.wait_for(5)) >= 5
        patient = dataclasses.replace(secure, notify_max_attempts=3, notify_backoff=3600)
        with TestClient(create_app(patient)) as client:  # leaves a notification waiting in the outbox
            town = Town(client, secret)
            outbox = client.app.state.toshi.store.outbox
            town.patch(f"{LD}/entities/urn:ngsi-ld:Park:1/attrs/area", {"value": 8.5}, link(context_url))
            assert wait_until(lambda: outbox.pending() == 1)
            town.patch(f"{LD}/entities/urn:ngsi-ld:Park:1/attrs/area", {"value": 8}, link(context_url))
            # both tried once and due again in an hour: no later run attempts (and counts) anything
            assert wait_until(lambda: outbox.pending() == 2 and not outbox.due(time.time(), 10, set()))
        with TestClient(create_app(patient)) as client:  # statistics are stored, so see them as stored
            before = observe(Town(client, secret), context_url)
            before["history"] = Town(client, secret).get(HISTORY).json()
        seen = inspect(original)
        assert seen["audit_ok"] and seen["audit_checked"] > 0 and seen["pending"] == 2 and seen["notifier"]

        backup_file = tmp_path / "town.toshi.gz"
        code, _, err = cli("backup", str(backup_file), *where(original))
        assert code == 0, err
        assert backup_file.stat().st_mode & 0o777 == 0o600
        code, out, err = cli("restore", str(backup_file), *where(copy))
        assert code == 0, err
        assert "every table holds the rows the backup announced" in out and f"entities: {7} " in out

        restored, expected = dump(copy), dump(original)
        assert restored.keys() == expected.keys()
        for table, (columns, rows) in expected.items():
            assert restored[table] == (columns, rows), table
        assert {"auth_accounts", "auth_keys", "auth_policies", "auth_subscription_owners", "audit_log",
                "audit_checkpoints", "iot_groups", "iot_devices", "v2_registrations", "contexts", "cursors",
                "outbox", "dead_letters", "attr_history", "temporal_series", "temporal_entities", "changes",
                "subscriptions", "tenants", "entities"} <= {t for t, (_, rows) in restored.items() if rows}
        assert key_file(copy.data_dir).read_bytes() == key_file(original.data_dir).read_bytes()
        assert key_file(copy.data_dir).stat().st_mode & 0o777 == 0o600
        assert inspect(copy) == seen  # change-log position, cursors, outbox, and the audit chain verifies

        receiver.requests.clear()
        moved = dataclasses.replace(secure, data_dir=copy.data_dir, database_url=copy.database_url)
        with TestClient(create_app(moved)) as client:
            town = Town(client, secret)  # the API key still authenticates
            assert {**observe(town, context_url), "history": town.get(HISTORY).json()} == before
            town.patch(f"{LD}/entities/urn:ngsi-ld:Shelter:1/attrs/capacity", {"value": 999})
            town.patch("/v2/entities/Room1/attrs", {"temperature": {"type": "Number", "value": 30}})
            assert wait_until(lambda: len(receiver.requests) >= 2)
            history = town.get(HISTORY).json()
        bodies = [orjson.dumps(r["body"]).decode() for r in receiver.requests]
        assert len(bodies) == 2 and all("999" in b or '"value":30' in b for b in bodies), bodies  # none re-sent
        instance_ids = [i["instanceId"] for i in history["capacity"]]
        assert len(instance_ids) == 5 and len(set(instance_ids)) == 5  # the new history row has a fresh id
        assert instance_ids[:4] == [i["instanceId"] for i in before["history"]["capacity"]]
        after = inspect(copy)
        assert after["last_seq"] == seen["last_seq"] + 2 and after["audit_ok"]  # numbers are never reused
    finally:
        receiver.close()
        failing.close()


def test_backup_of_postgresql_has_the_sqlite_layout(town_settings, tmp_path, cli):
    settings = town_settings("postgresql", "town")
    with TestClient(create_app(settings)) as client:
        ok(client.post(f"{LD}/entityOperations/create", json=[shelter(n, n, 135.0) for n in (1, 2)]))
        ok(client.patch(f"{LD}/entities/urn:ngsi-ld:Shelter:1/attrs/capacity", json={"value": 2.5}), 204)
    code, _, err = cli("backup", str(tmp_path / "b.gz"), *where(settings))
    assert code == 0, err
    lines = backup_lines(tmp_path / "b.gz")
    header, end = lines[0], lines[-1]
    assert header["format"] == "toshi-backup" and header["version"] == 1 and header["schemaVersion"] == "1"
    assert not {"entity_types", "attr_values", "geo_boxes"} & set(header["tables"])
    assert header["sequences"]["changes"] == 3 and header["files"] == ["keys/toshi-signing.pem"]
    sections = {line["table"]: line for line in lines if isinstance(line, dict) and "table" in line}
    assert list(sections) == header["tables"]
    assert sections["entities"]["columns"] == ["rowid", "tenant", "id", "doc"]  # no `version`
    assert "rowid" not in sections["subscriptions"]["columns"] and "rowid" not in sections["audit_log"]["columns"]
    assert sections["attr_history"]["sqlite"][0].startswith("CREATE TABLE IF NOT EXISTS attr_history")
    nums = [row[6] for row in lines if isinstance(row, list) and len(row) == 9]  # attr_history.num
    assert 1 in nums and 2.5 in nums and all(not isinstance(n, str) for n in nums)  # integers and floats as such
    assert end == {"end": True, "rows": sum(s["rows"] for s in sections.values())}


def test_tables_the_store_does_not_know_cross_over(town_settings, tmp_path, cli):
    """A feature table with bytes (WITHOUT ROWID, an index) and one kept in insertion order: SQLite ->
    PostgreSQL -> SQLite."""
    sqlite_town, pg_town, back = town_settings("sqlite", "a"), town_settings("postgresql", "b"), tmp_path / "c"
    with TestClient(create_app(sqlite_town)):
        pass
    db = sqlite3.connect(Path(sqlite_town.data_dir) / "toshi.db")
    db.execute("CREATE TABLE gadget_blobs (name TEXT PRIMARY KEY, data BLOB) WITHOUT ROWID")
    db.execute("CREATE INDEX gadget_blobs_by_data ON gadget_blobs (data)")
    db.execute("INSERT INTO gadget_blobs VALUES ('raw', ?)", (bytes(range(256)),))
    db.execute("CREATE TABLE gadget_log (at TEXT NOT NULL, n INTEGER, ratio REAL)")
    db.executemany("INSERT INTO gadget_log VALUES (?, ?, ?)", [(f"t{9 - n}", n, n / 3) for n in range(10)])
    db.commit()
    db.close()
    assert cli("backup", str(tmp_path / "1.gz"), *where(sqlite_town))[0] == 0
    code, _, err = cli("restore", str(tmp_path / "1.gz"), *where(pg_town))
    assert code == 0, err
    with psycopg.connect(pg_town.database_url) as conn:
        assert conn.execute("SELECT data FROM gadget_blobs").fetchone()[0] == bytes(range(256))
        assert conn.execute("SELECT array_agg(n ORDER BY rowid) FROM gadget_log").fetchone()[0] == list(range(10))
    assert cli("backup", str(tmp_path / "2.gz"), *where(pg_town))[0] == 0
    assert cli("restore", str(tmp_path / "2.gz"), "--data-dir", str(back))[0] == 0
    copy = sqlite3.connect(back / "toshi.db")
    assert copy.execute("SELECT data FROM gadget_blobs").fetchone()[0] == bytes(range(256))
    assert copy.execute("SELECT at, n, ratio FROM gadget_log ORDER BY rowid").fetchall() == \
        [(f"t{9 - n}", n, n / 3) for n in range(10)]
    copy.close()


# -- while serving -------------------------------------------------------------------------------

def test_backup_while_a_server_writes_to_postgresql_is_consistent(pg, tmp_path, cli, monkeypatch):
    url = pg()
    monkeypatch.setenv("TOSHI_DATABASE_URL", url)  # the server process reads it
    server = ServerProcess(tmp_path / "server-data").start()
    monkeypatch.delenv("TOSHI_DATABASE_URL")
    try:
        backups = backups_while_counters_are_written(server, tmp_path, cli, bulk=2000, backups=2,
                                                     options=("--database-url", url))
    finally:
        server.stop()
    totals = [check_counters(cli, path, tmp_path / path.stem) for path in backups]  # restored onto SQLite
    assert 0 < totals[0] < totals[1]


# -- refusals --------------------------------------------------------------------------------------

@pytest.fixture
def two_pg_towns(town_settings, tmp_path, cli):
    """A backup of a PostgreSQL town with Shelter 1, and another PostgreSQL town holding Shelter 2."""
    towns = [town_settings("postgresql", "one"), town_settings("postgresql", "other")]
    for settings, n in zip(towns, (1, 2), strict=True):
        with TestClient(create_app(settings)) as client:
            ok(client.post(f"{LD}/entities", json=shelter(n, 10 * n, 135.0 + n)))
    assert cli("backup", str(tmp_path / "b.gz"), *where(towns[0]))[0] == 0
    return tmp_path / "b.gz", towns[0], towns[1]


def test_non_empty_postgresql_needs_force(two_pg_towns, cli):
    backup_file, one, other = two_pg_towns
    untouched = dump(other)
    code, _, err = cli("restore", str(backup_file), *where(other))
    assert code == 2 and "--force" in err and "entities" in err
    assert dump(other) == untouched
    code, out, err = cli("restore", str(backup_file), *where(other), "--force")
    assert code == 0, err
    assert dump(other) == dump(one)
    assert key_file(other.data_dir).read_bytes() == key_file(one.data_dir).read_bytes()
    with TestClient(create_app(other)) as client:
        ids = [e["id"] for e in ok(client.get(f"{LD}/entities?type=Shelter"), 200).json()]
        assert ids == ["urn:ngsi-ld:Shelter:1"]
        ok(client.post(f"{LD}/entities", json=shelter(3, 30, 135.3)))  # the sequences moved on


def test_restore_refuses_a_postgresql_town_being_served(two_pg_towns, cli):
    backup_file, _, other = two_pg_towns
    untouched = dump(other)["entities"]
    with TestClient(create_app(other)) as client:
        store = client.app.state.toshi.store
        assert wait_until(lambda: store.leader("notifier"))
        code, _, err = cli("restore", str(backup_file), *where(other), "--force")
        assert code == 2 and "server is using" in err, err
        ok(client.get(f"{LD}/entities/urn:ngsi-ld:Shelter:2"), 200)
    assert dump(other)["entities"] == untouched


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_damaged_backup_changes_nothing_in_postgresql(two_pg_towns, pg, tmp_path, cli, corruption):
    backup_file, _, other = two_pg_towns
    damaged = tmp_path / "damaged.gz"
    change = CORRUPTIONS[corruption]
    if change is None:
        damaged.write_bytes(backup_file.read_bytes()[: backup_file.stat().st_size // 2])
    elif change == "garbage":
        damaged.write_bytes(b"not a backup at all\n")
    else:
        rewrite(backup_file, damaged, change)
    untouched, key = dump(other), key_file(other.data_dir).read_bytes()
    fresh = Settings(data_dir=str(tmp_path / "fresh"), database_url=pg())
    for target, extra in ((other, ["--force"]), (fresh, [])):
        code, _, err = cli("restore", str(damaged), *where(target), *extra)
        assert code == 2 and err.startswith("toshi: "), err
    assert dump(other) == untouched and key_file(other.data_dir).read_bytes() == key
    assert _dump(fresh) == {}  # not even the tables were made
    assert not key_file(fresh.data_dir).exists()
