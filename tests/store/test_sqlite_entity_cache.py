"""The SQLite store's cache of decoded entities is bounded: past its size the oldest entries go, and
every entity still reads back as written (from the file when no longer cached)."""

from __future__ import annotations

from toshi.core.entity import new_entity
from toshi.core.write import Writer
from toshi.query.planner import EntityQuery
from toshi.store.sqlite import SqliteStore

VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
NOW = "2026-12-03T00:00:00.000Z"


def sensor(n: int) -> dict:
    attrs = {VOCAB + "level": [{"type": "Property", "value": n, "createdAt": NOW, "modifiedAt": NOW}]}
    return new_entity({"id": f"urn:ngsi-ld:Sensor:{n:03d}", "type": [VOCAB + "Sensor"], "attrs": attrs}, NOW)


async def test_a_scan_longer_than_the_cache_keeps_it_bounded_and_reads_every_entity(tmp_path):
    store = SqliteStore(tmp_path / "town.db", cache_size=8)
    await store.open()
    try:
        await Writer(store).apply("town", [(f"urn:ngsi-ld:Sensor:{n:03d}", lambda _, n=n: sensor(n)) for n in range(30)])
        store._cache.clear()
        found, _ = await store.query_entities("town", EntityQuery(limit=100))
        assert [e["attrs"][VOCAB + "level"][0]["value"] for e in found] == list(range(30))
        assert len(store._cache) == 8
        assert list(store._cache) == [("town", f"urn:ngsi-ld:Sensor:{n:03d}") for n in range(22, 30)]  # the newest
    finally:
        await store.close()
