"""A load that grows the SQLite WAL does not leave the file that large: once a checkpoint has copied
it back, the next write cuts it to the store's limit."""

from __future__ import annotations

from toshi.core.entity import new_entity
from toshi.core.write import Writer
from toshi.store import sqlite as sqlite_store
from toshi.store.sqlite import SqliteStore

VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
NOW = "2026-12-08T00:00:00.000Z"
LIMIT = 64 * 1024


def note(n: int, text: str) -> dict:
    attrs = {VOCAB + "text": [{"type": "Property", "value": text, "createdAt": NOW, "modifiedAt": NOW}]}
    return new_entity({"id": f"urn:ngsi-ld:Note:{n:04d}", "type": [VOCAB + "Note"], "attrs": attrs}, NOW)


async def test_the_wal_is_cut_back_to_the_limit_after_a_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_store, "WAL_SIZE_LIMIT", LIMIT)
    store = SqliteStore(tmp_path / "town.db")
    await store.open()
    wal = tmp_path / "town.db-wal"
    try:
        await Writer(store).apply("town", [(f"urn:ngsi-ld:Note:{n:04d}", lambda _, n=n: note(n, "x" * 4000))
                                           for n in range(500)])
        grown = wal.stat().st_size
        assert grown > 10 * LIMIT
        store.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        await Writer(store).apply("town", [("urn:ngsi-ld:Note:9999", lambda _: note(9999, "last"))])
        assert wal.stat().st_size <= LIMIT
    finally:
        await store.close()
