"""The write path's bulk rows: a transaction gathers its rows per table and sends them with one
executemany per table (toshi/store/sqlite.py, toshi/store/postgres.py `flush`). Whatever the order of
the writes in one transaction, the state, every index, the change log and the history must be
exactly what writing them one by one gives; a rolled-back transaction leaves nothing. On SQLite and
PostgreSQL (the `store` fixture runs on both)."""

from __future__ import annotations

import pytest

from toshi.core.entity import new_entity
from toshi.core.write import Writer
from toshi.query.geo import parse_geoq
from toshi.query.planner import EntityQuery
from toshi.query.qparse import parse_q
from toshi.query.typeexpr import parse_type_expr
from toshi.temporal.history import history_for

VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
LOCATION = "https://uri.etsi.org/ngsi-ld/location"
NOW = "2026-12-03T00:00:00.000Z"
LATER = "2026-12-03T00:01:00.000Z"


def expand(term: str) -> str:
    return LOCATION if term == "location" else VOCAB + term


def sensor(n: int, level, at: str = NOW, kind: str = "Sensor") -> dict:
    times = {"createdAt": at, "modifiedAt": at}
    attrs = {VOCAB + "level": [{"type": "Property", "value": level, **times}],
             LOCATION: [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": [135.0 + n / 1000, 34.5]},
                         **times}]}
    return new_entity({"id": f"urn:ngsi-ld:Sensor:{n:03d}", "type": [VOCAB + kind], "attrs": attrs}, at)


def put(entity: dict):
    return lambda before: entity if before is None else {**entity, "createdAt": before["createdAt"]}


def delete(before):
    return None


async def ids(store, **query) -> list[str]:
    found, _ = await store.query_entities("town", EntityQuery(limit=1000, **query))
    return [e["id"] for e in found]


def q(text: str):
    return parse_q(text, expand)


@pytest.fixture
def writer(store):
    w = Writer(store)
    w.listeners.append(history_for(store).record)
    return w


async def test_a_batch_of_new_entities_is_in_every_index_and_the_change_log(store, writer):
    first = await store.changes.last_seq()
    outcomes = await writer.apply("town", [(f"urn:ngsi-ld:Sensor:{n:03d}", put(sensor(n, n))) for n in range(100)])
    assert [o.error for o in outcomes] == [None] * 100
    assert await ids(store, types=parse_type_expr("Sensor", expand)) == [f"urn:ngsi-ld:Sensor:{n:03d}" for n in range(100)]
    assert await ids(store, q=q("level>=97")) == ["urn:ngsi-ld:Sensor:097", "urn:ngsi-ld:Sensor:098",
                                                  "urn:ngsi-ld:Sensor:099"]
    near = parse_geoq("within", "Polygon", "[[[135.0005,34.4],[135.0025,34.4],[135.0025,34.6],[135.0005,34.6],"
                      "[135.0005,34.4]]]", "location", expand)
    assert await ids(store, geo=near) == ["urn:ngsi-ld:Sensor:001", "urn:ngsi-ld:Sensor:002"]
    records = await store.changes.read(first, 1000)
    assert [(r.entity_id, r.before, r.after["id"]) for r in records] == \
        [(f"urn:ngsi-ld:Sensor:{n:03d}", None, f"urn:ngsi-ld:Sensor:{n:03d}") for n in range(100)]
    assert [r.seq for r in records] == sorted({r.seq for r in records})
    assert [o.change.seq for o in outcomes] == [r.seq for r in records]


async def test_each_attribute_of_a_batch_has_its_history_row(store, writer):
    await writer.apply("town", [(f"urn:ngsi-ld:Sensor:{n:03d}", put(sensor(n, n))) for n in range(20)])
    history = history_for(store)
    series = history.series("town", "urn:ngsi-ld:Sensor:007")
    assert sorted(s.attr for s in series) == [VOCAB + "level", LOCATION]
    level = next(s for s in series if s.attr == VOCAB + "level")
    assert [row.instance["value"] for row in history.all_instances(level.id)] == [7]


async def test_one_entity_written_twice_in_a_transaction_keeps_only_its_last_index_rows(store, writer):
    entity_id = "urn:ngsi-ld:Sensor:001"
    await writer.apply("town", [(entity_id, put(sensor(1, 10))), (entity_id, put(sensor(1, 20, LATER))),
                                ("urn:ngsi-ld:Sensor:002", put(sensor(2, 30)))])
    assert (await store.get_entity("town", entity_id))["attrs"][VOCAB + "level"][0]["value"] == 20
    assert await ids(store, q=q("level==10")) == []
    assert await ids(store, q=q("level==20")) == [entity_id]
    level = next(s for s in history_for(store).series("town", entity_id) if s.attr == VOCAB + "level")
    assert [row.instance["value"] for row in history_for(store).all_instances(level.id)] == [10, 20]


async def test_created_deleted_and_created_again_in_one_transaction_leaves_the_last_state(store, writer):
    entity_id = "urn:ngsi-ld:Sensor:005"
    await writer.apply("town", [(entity_id, put(sensor(5, 1))), (entity_id, delete),
                                (entity_id, put(sensor(5, 2, LATER, kind="Gauge")))])
    assert (await store.get_entity("town", entity_id))["type"] == [VOCAB + "Gauge"]
    assert await ids(store, types=parse_type_expr("Sensor", expand)) == []
    assert await ids(store, types=parse_type_expr("Gauge", expand)) == [entity_id]
    assert await ids(store, q=q("level==1")) == []
    assert await ids(store, q=q("level==2")) == [entity_id]


async def test_a_batch_updating_existing_entities_replaces_their_index_rows(store, writer):
    await writer.apply("town", [(f"urn:ngsi-ld:Sensor:{n:03d}", put(sensor(n, n))) for n in range(10)])
    await writer.apply("town", [(f"urn:ngsi-ld:Sensor:{n:03d}", put(sensor(n, 100 + n, LATER))) for n in range(10)])
    assert await ids(store, q=q("level<100")) == []
    assert len(await ids(store, q=q("level>=100"))) == 10


async def test_a_rolled_back_batch_leaves_nothing_and_the_next_one_is_whole(store, writer):
    last = await store.changes.last_seq()

    def refuse(tx, changes):
        raise RuntimeError("listener failed")
    writer.listeners.append(refuse)
    with pytest.raises(RuntimeError):
        await writer.apply("town", [(f"urn:ngsi-ld:Sensor:{n:03d}", put(sensor(n, n))) for n in range(50)])
    writer.listeners.remove(refuse)
    assert await ids(store) == []
    assert await store.changes.last_seq() == last
    await writer.apply("town", [(f"urn:ngsi-ld:Sensor:{n:03d}", put(sensor(n, n))) for n in range(3)])
    assert await ids(store, q=q("level>=0")) == [f"urn:ngsi-ld:Sensor:{n:03d}" for n in range(3)]
    assert [r.entity_id for r in await store.changes.read(last, 100)] == \
        [f"urn:ngsi-ld:Sensor:{n:03d}" for n in range(3)]


async def test_an_entity_created_again_after_its_deletion_keeps_one_history_per_attribute(store, writer):
    batch = [(f"urn:ngsi-ld:Sensor:{n:03d}", put(sensor(n, n))) for n in range(10)]
    await writer.apply("town", batch)
    await writer.apply("town", [("urn:ngsi-ld:Sensor:003", delete)])
    await writer.apply("town", [(f"urn:ngsi-ld:Sensor:{n:03d}", put(sensor(n, 50 + n, LATER))) for n in range(3, 13)])
    history = history_for(store)
    series = [s for s in history.series("town", "urn:ngsi-ld:Sensor:003") if s.attr == VOCAB + "level"]
    assert len(series) == 1
    rows = history.all_instances(series[0].id)
    assert [(row.instance.get("value"), "deletedAt" in row.instance) for row in rows] == \
        [(3, False), ("urn:ngsi-ld:null", True), (53, False)]
    fresh = [s for s in history.series("town", "urn:ngsi-ld:Sensor:012") if s.attr == VOCAB + "level"]
    assert [row.instance["value"] for row in history.all_instances(fresh[0].id)] == [62]


async def test_an_update_that_moves_the_location_moves_it_in_the_geometry_index_and_others_keep_theirs(store, writer):
    await writer.apply("town", [(f"urn:ngsi-ld:Sensor:{n:03d}", put(sensor(n, n))) for n in range(3)])
    moved = sensor(1, 1, LATER)
    moved["attrs"][LOCATION] = [{**moved["attrs"][LOCATION][0], "value": {"type": "Point", "coordinates": [136.0, 35.0]}}]

    def level_only(before):
        return {**before, "attrs": {**before["attrs"], VOCAB + "level": [{**before["attrs"][VOCAB + "level"][0],
                                                                          "value": 99}]}}
    await writer.apply("town", [("urn:ngsi-ld:Sensor:001", lambda before: {**moved, "createdAt": before["createdAt"]}),
                                ("urn:ngsi-ld:Sensor:002", level_only)])
    near_old = parse_geoq("within", "Polygon", "[[[134.9,34.4],[135.1,34.4],[135.1,34.6],[134.9,34.6],[134.9,34.4]]]",
                          "location", expand)
    near_new = parse_geoq("within", "Polygon", "[[[135.9,34.9],[136.1,34.9],[136.1,35.1],[135.9,35.1],[135.9,34.9]]]",
                          "location", expand)
    assert await ids(store, geo=near_old) == ["urn:ngsi-ld:Sensor:000", "urn:ngsi-ld:Sensor:002"]
    assert await ids(store, geo=near_new) == ["urn:ngsi-ld:Sensor:001"]
    assert await ids(store, q=q("level==99")) == ["urn:ngsi-ld:Sensor:002"]
