"""Linked-entity subqueries in q (ETSI GS CIM 009 v1.9 clause 4.9, EXAMPLE 13 / 14): `rel{name}=="x"`
selects the entities whose Relationship `rel` points to an entity whose `name` is "x"; `rel{Type:name}`
considers only linked entities of that type; the query needs `join`, at least as deep as its subqueries
reach (clause 5.7.2.4). One behaviour per test."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, error_type, module_settings

from toshi.app import create_app

ENTITIES = "/ngsi-ld/v1/entities"
QUERY = "/ngsi-ld/v1/entityOperations/query"
SHOP, STALL, TOWER, CITY = ("urn:ngsi-ld:Shop:1", "urn:ngsi-ld:Shop:2", "urn:ngsi-ld:Building:tower",
                            "urn:ngsi-ld:City:pisa")


def prop(value) -> dict:
    return {"type": "Property", "value": value}


@pytest.fixture(scope="module", params=BACKENDS)
def town(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "lq")
    with TestClient(create_app(settings)) as client:
        for entity in (
                {"id": CITY, "type": "City", "name": prop("Pisa"), "population": prop(90000)},
                {"id": TOWER, "type": "Building", "name": prop("Pisa Tower"), "floors": prop(8),
                 "locatedIn": {"type": "Relationship", "object": CITY}},
                {"id": "urn:ngsi-ld:Building:hall", "type": "Building", "name": prop("Hall"), "floors": prop(2)},
                {"id": SHOP, "type": "Shop", "managedBy": {"type": "Relationship", "object": TOWER}},
                {"id": STALL, "type": "Shop", "managedBy": {"type": "Relationship",
                                                           "object": "urn:ngsi-ld:Building:hall"}},
                {"id": "urn:ngsi-ld:Market:1", "type": "Market",
                 "uses": {"type": "ListRelationship", "objectList": [{"object": "urn:ngsi-ld:Building:hall"},
                                                                     {"object": TOWER}]}},
                {"id": "urn:ngsi-ld:Shop:3", "type": "Shop",
                 "managedBy": {"type": "Relationship", "object": "urn:ngsi-ld:Building:gone"}}):
            assert client.post(ENTITIES, json=entity).status_code == 201
        yield client


def found(client, q: str, **more) -> list[str]:
    response = client.get(ENTITIES, params={"type": "Shop", "q": q, "join": "inline", "joinLevel": "2", **more})
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def test_a_subquery_follows_the_relationship(town):
    assert found(town, 'managedBy{name}=="Pisa Tower"') == [SHOP]


def test_a_matching_type_hint_keeps_the_match(town):
    assert found(town, 'managedBy{Building:name}=="Pisa Tower"') == [SHOP]


def test_another_type_hint_excludes_the_linked_entity(town):
    assert found(town, 'managedBy{Vehicle:name}=="Pisa Tower"') == []


def test_an_ordering_comparison_inside_the_subquery(town):
    assert found(town, "managedBy{floors}>4") == [SHOP]


def test_an_existence_check_inside_the_subquery(town):
    assert found(town, "managedBy{floors}") == [SHOP, STALL]


def test_a_relationship_to_an_entity_that_does_not_exist_links_to_nothing(town):
    assert found(town, "managedBy{name}") == [SHOP, STALL]


def test_subqueries_nest(town):
    assert found(town, 'managedBy{locatedIn{name}}=="Pisa"') == [SHOP]


def test_a_subquery_combines_with_other_terms(town):
    assert found(town, 'managedBy{floors}>1;managedBy{name}=="Hall"') == [STALL]


def test_a_subquery_with_join_flat(town):
    assert found(town, 'managedBy{name}=="Hall"', join="flat", joinLevel="1")[:1] == [STALL]


def test_a_subquery_without_join_is_bad_request(town):
    response = town.get(ENTITIES, params={"type": "Shop", "q": 'managedBy{name}=="Hall"'})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_a_subquery_deeper_than_join_level_is_bad_request(town):
    response = town.get(ENTITIES, params={"type": "Shop", "q": 'managedBy{locatedIn{name}}=="Pisa"',
                                          "join": "inline", "joinLevel": "1"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_a_subquery_with_join_none_is_bad_request(town):
    response = town.get(ENTITIES, params={"type": "Shop", "q": "managedBy{name}", "join": "@none"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_a_subquery_that_matches_nothing(town):
    assert found(town, 'managedBy{name}=="Nowhere"') == []


def test_a_subquery_in_a_post_query(town):
    body = {"type": "Query", "entities": [{"type": "Shop"}], "q": "managedBy{floors}==8", "join": "inline"}
    response = town.post(QUERY, json=body)
    assert response.status_code == 200 and [e["id"] for e in response.json()] == [SHOP]


def test_an_unclosed_subquery_is_bad_request(town):
    response = town.get(ENTITIES, params={"type": "Shop", "q": 'managedBy{name=="Hall"', "join": "inline"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_a_negated_subquery_is_bad_request(town):
    response = town.get(ENTITIES, params={"type": "Shop", "q": "!managedBy{name}", "join": "inline"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_the_temporal_api_refuses_a_subquery(town):
    response = town.get("/ngsi-ld/v1/temporal/entities", params={"type": "Shop", "q": "managedBy{name}"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_a_subquery_follows_a_list_relationship(town):
    response = town.get(ENTITIES, params={"type": "Market", "q": "uses{floors}==8", "join": "inline"})
    assert response.status_code == 200 and [e["id"] for e in response.json()] == ["urn:ngsi-ld:Market:1"]
