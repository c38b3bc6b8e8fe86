"""Each store's query plan (type index, value index, geometry boxes, q pushdown, residual Python filters)
must return exactly the entities EntityQuery.matches() accepts, in creation order, with the right
counts: on SQLite and on PostgreSQL (the `store` fixture runs on both)."""

from __future__ import annotations

import random

import pytest

from toshi.core.entity import new_entity
from toshi.query.geo import parse_geoq
from toshi.query.planner import EntityQuery
from toshi.query.qparse import parse_q
from toshi.query.scope import parse_scope_q
from toshi.query.typeexpr import parse_type_expr

VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
LOCATION = "https://uri.etsi.org/ngsi-ld/location"
NOW = "2026-11-24T00:00:00.000Z"


def expand(term: str) -> str:
    return LOCATION if term == "location" else term if ":" in term else VOCAB + term


def prop(value) -> list[dict]:
    return [{"type": "Property", "value": value, "createdAt": NOW, "modifiedAt": NOW}]


def random_entity(rng: random.Random, n: int) -> dict:
    types = [VOCAB + rng.choice(["Shelter", "Bus", "Beacon"])]
    if rng.random() < 0.2:
        types.append(VOCAB + "Sensor")
    attrs = {}
    if rng.random() < 0.8:
        level = rng.choice([rng.randint(0, 100), rng.uniform(0, 100), str(rng.randint(0, 100)), True])
        attrs[VOCAB + "level"] = prop(level)
        if rng.random() < 0.2:  # a second instance from another dataset
            attrs[VOCAB + "level"].append({**prop(rng.randint(0, 100))[0], "datasetId": "urn:ngsi-ld:Dataset:b"})
    if rng.random() < 0.7:
        attrs[VOCAB + "status"] = prop(rng.choice(["ok", "alert", "off"]))
    if rng.random() < 0.5:
        attrs[VOCAB + "address"] = prop({"city": rng.choice(["Toyono", "Osaka", "Minoh"])})
    if rng.random() < 0.9:
        point = {"type": "Point", "coordinates": [135.3 + rng.random() * 0.4, 34.7 + rng.random() * 0.3]}
        attrs[LOCATION] = [{"type": "GeoProperty", "value": point, "createdAt": NOW, "modifiedAt": NOW}]
    parsed = {"id": f"urn:ngsi-ld:Thing:{n:04d}", "type": types, "attrs": attrs}
    if rng.random() < 0.3:
        parsed["scope"] = [rng.choice(["/Osaka/Toyono", "/Osaka/Minoh", "/Kyoto"])]
    return new_entity(parsed, NOW)


@pytest.fixture
async def loaded(store):
    rng = random.Random(7)
    entities = [random_entity(rng, n) for n in range(400)]
    async with store.transaction("town") as tx:
        for entity in entities:
            tx.put(entity)
    yield store, entities


QUERIES = [
    {"types": "Shelter"},
    {"types": "Shelter,Bus"},
    {"types": "Shelter;Sensor"},
    {"types": "(Bus|Beacon);Sensor"},
    {"q": "level>50"},
    {"q": 'status=="alert"|level<10', "types": "Bus"},
    {"q": 'address[city]=="Toyono";level>=20'},
    {"q": 'status~="^al"'},
    {"q": "!status"},
    {"q": 'level=="42"|level==42'},
    {"q": 'level>"5"'},
    {"q": "level==20..40;status==\"ok\",\"off\""},
    {"q": "level<30.5", "types": "Shelter,Beacon"},
    {"q": "level>=10;level<=90;status!=\"ok\""},
    {"attrs": ["address", "status"]},
    {"id_pattern": "Thing:00[0-4][0-9]$"},
    {"ids": ["urn:ngsi-ld:Thing:0003", "urn:ngsi-ld:Thing:0100", "urn:ngsi-ld:Thing:9999"]},
    {"geo": ("near;maxDistance==8000", "Point", "[135.5,34.85]")},
    {"geo": ("within", "Polygon", "[[[135.3,34.7],[135.45,34.7],[135.45,34.8],[135.3,34.8],[135.3,34.7]]]"),
     "q": "level<70"},
    {"geo": ("disjoint", "Polygon", "[[[135.3,34.7],[135.45,34.7],[135.45,34.8],[135.3,34.8],[135.3,34.7]]]")},
    {"scope": "/Osaka/#"},
    {"scope": "/Kyoto", "types": "Bus"},
]


def build(spec: dict, limit: int, offset: int) -> EntityQuery:
    query = EntityQuery(limit=limit, offset=offset, count=True, ids=spec.get("ids"),
                        id_pattern=spec.get("id_pattern"))
    if "types" in spec:
        query.types = parse_type_expr(spec["types"], expand)
    if "q" in spec:
        query.q = parse_q(spec["q"], expand)
    if "attrs" in spec:
        query.attrs = {expand(a) for a in spec["attrs"]}
    if "geo" in spec:
        query.geo = parse_geoq(*spec["geo"], None, expand)
    if "scope" in spec:
        query.scope = parse_scope_q(spec["scope"])
    return query


@pytest.mark.parametrize("selective_rows", [0, 5000], ids=["scan-driven", "index-driven"])
@pytest.mark.parametrize("spec", QUERIES, ids=lambda s: ",".join(f"{k}" for k in s))
@pytest.mark.parametrize("limit,offset", [(1000, 0), (7, 3)])
async def test_store_agrees_with_reference_semantics(loaded, spec, limit, offset, selective_rows, monkeypatch):
    monkeypatch.setattr("toshi.store.sqlite_plan.SELECTIVE_ROWS", selective_rows)
    store, entities = loaded
    query = build(spec, limit, offset)
    expected = [e["id"] for e in entities if query.matches(e)]
    page, total = await store.query_entities("town", query)
    assert total == len(expected)
    assert [e["id"] for e in page] == expected[offset:offset + limit]
    assert expected, "each query should select something in this data set"


async def test_other_tenant_sees_nothing(loaded):
    store, _ = loaded
    page, total = await store.query_entities("other", build({"types": "Shelter"}, 100, 0))
    assert page == [] and total == 0


async def test_updates_and_deletes_keep_indexes_true(loaded):
    store, entities = loaded
    moved = dict(entities[0])
    moved["type"] = [VOCAB + "Moved"]
    moved["attrs"] = {LOCATION: [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.7, 35.6]},
                                  "createdAt": NOW, "modifiedAt": NOW}]}
    async with store.transaction("town") as tx:
        tx.put(moved, entities[0])
        tx.delete(entities[1]["id"])
    by_type, _ = await store.query_entities("town", build({"types": "Moved"}, 10, 0))
    assert [e["id"] for e in by_type] == [moved["id"]]
    near_tokyo, _ = await store.query_entities(
        "town", build({"geo": ("near;maxDistance==1000", "Point", "[139.7,35.6]")}, 10, 0))
    assert [e["id"] for e in near_tokyo] == [moved["id"]]
    gone, _ = await store.query_entities("town", build({"ids": [entities[1]["id"]]}, 10, 0))
    assert gone == []
    remaining = [e for e in entities[2:] if build({"q": "level>=0"}, 1000, 0).matches(e)]
    by_value, total = await store.query_entities("town", build({"q": "level>=0"}, 1000, 0))
    assert [e["id"] for e in by_value] == [e["id"] for e in remaining] and total == len(remaining)


@pytest.mark.parametrize("selective_rows", [0, 5000], ids=["scan-driven", "index-driven"])
@pytest.mark.parametrize("spec", QUERIES, ids=lambda s: ",".join(f"{k}" for k in s))
async def test_keyset_pages_walk_every_match_once_in_order(loaded, spec, selective_rows, monkeypatch):
    monkeypatch.setattr("toshi.store.sqlite_plan.SELECTIVE_ROWS", selective_rows)
    store, entities = loaded
    expected = [e["id"] for e in entities if build(spec, 1, 0).matches(e)]
    walked, after = [], None
    while True:
        query = build(spec, 13, 0)
        query.count, query.after = False, after
        page, _ = await store.query_entities("town", query)
        walked.extend(e["id"] for e in page)
        if len(page) < 13:
            break
        after = query.next_after
    assert walked == expected


async def test_a_keyset_page_continues_after_its_last_entity_once_that_entity_is_deleted(loaded):
    store, entities = loaded
    query = build({"types": "Shelter"}, 5, 0)
    first, _ = await store.query_entities("town", query)
    async with store.transaction("town") as tx:
        tx.delete(first[-1]["id"], first[-1])
    expected = [e["id"] for e in entities if query.matches(e)]
    following = build({"types": "Shelter"}, 5, 0)
    following.after = query.next_after
    page, _ = await store.query_entities("town", following)
    assert [e["id"] for e in page] == expected[5:10]
