"""Linked entity retrieval, join=inline|flat and joinLevel (ETSI GS CIM 009 v1.8 clause 4.5.23, with the
projections of clause 4.21): one behaviour per test."""

from __future__ import annotations

import pytest
from support import error_type

ENTITIES = "/ngsi-ld/v1/entities"
QUERY = "/ngsi-ld/v1/entityOperations/query"
BUILDING, CITY, COUNTRY = "urn:ngsi-ld:Building:1", "urn:ngsi-ld:City:Paris", "urn:ngsi-ld:Country:France"


def rel(target) -> dict:
    return {"type": "Relationship", "object": target}


def prop(value) -> dict:
    return {"type": "Property", "value": value}


@pytest.fixture
def town(client):
    for entity in ({"id": BUILDING, "type": "Building", "name": prop("Tower"), "locatedAt": rel(CITY)},
                   {"id": CITY, "type": "City", "name": prop("Paris"), "description": prop("Capital"),
                    "isInCountry": rel(COUNTRY)},
                   {"id": COUNTRY, "type": "Country", "name": prop("France"), "description": prop("European")}):
        assert client.post(ENTITIES, json=entity).status_code == 201
    return client


def get(client, entity_id=BUILDING, status=200, **params):
    response = client.get(f"{ENTITIES}/{entity_id}", params=params)
    assert response.status_code == status, response.text
    return response.json()


CITY_BODY = {"id": CITY, "type": "City", "name": prop("Paris"), "description": prop("Capital"),
             "isInCountry": rel(COUNTRY)}
COUNTRY_BODY = {"id": COUNTRY, "type": "Country", "name": prop("France"), "description": prop("European")}


def test_inline_puts_the_linked_entity_inside_the_relationship(town):
    assert get(town, join="inline")["locatedAt"] == {**rel(CITY), "entity": CITY_BODY}


def test_join_level_follows_relationships_of_linked_entities(town):
    located = get(town, join="inline", joinLevel=2)["locatedAt"]
    assert located["entity"]["isInCountry"] == {**rel(COUNTRY), "entity": COUNTRY_BODY}


def test_flat_returns_the_linked_entities_beside_the_entity_nearest_first(town):
    assert get(town, join="flat", joinLevel=2) == [
        {"id": BUILDING, "type": "Building", "name": prop("Tower"), "locatedAt": rel(CITY)}, CITY_BODY, COUNTRY_BODY]


def test_flat_without_linked_entities_found_is_the_entity_alone(client):
    entity = {"id": BUILDING, "type": "Building", "locatedAt": rel("urn:ngsi-ld:City:Nowhere")}
    assert client.post(ENTITIES, json=entity).status_code == 201
    assert get(client, join="flat") == entity
    assert get(client, join="inline") == entity


def test_key_values_inline_replaces_the_object_by_the_entity(town):
    body = get(town, join="inline", options="keyValues")
    assert body["locatedAt"] == {"id": CITY, "type": "City", "name": "Paris", "description": "Capital",
                                 "isInCountry": COUNTRY}


def test_key_values_flat_keeps_the_ids(town):
    body = get(town, join="flat", options="keyValues")
    assert body[0]["locatedAt"] == CITY and body[1]["id"] == CITY and len(body) == 2


def test_pick_reaches_into_linked_entities_and_follows_only_what_it_picks(town):
    body = get(town, join="inline", joinLevel=2, pick="id,locatedAt{id,name}")
    assert body == {"id": BUILDING, "locatedAt": {**rel(CITY), "entity": {"id": CITY, "name": prop("Paris")}}}
    assert get(town, join="flat", joinLevel=2, pick="id,locatedAt{id,name}") == [
        {"id": BUILDING, "locatedAt": rel(CITY)}, {"id": CITY, "name": prop("Paris")}]


def test_pick_on_the_second_level(town):
    body = get(town, join="flat", joinLevel=2, pick="id,locatedAt{id,isInCountry{id,description}}")
    assert body == [{"id": BUILDING, "locatedAt": rel(CITY)}, {"id": CITY, "isInCountry": rel(COUNTRY)},
                    {"id": COUNTRY, "description": prop("European")}]


def test_omit_inside_a_linked_entity_keeps_the_relationship(town):
    body = get(town, join="inline", joinLevel=2, omit="type,locatedAt{name,isInCountry{description}}")
    assert set(body) == {"id", "name", "locatedAt"}
    city = body["locatedAt"]["entity"]
    assert set(city) == {"id", "type", "description", "isInCountry"}
    assert city["isInCountry"]["entity"] == {"id": COUNTRY, "type": "Country", "name": prop("France")}


def test_a_projection_deeper_than_join_level_is_bad_request_data(town):
    response = town.get(f"{ENTITIES}/{BUILDING}", params={"join": "inline", "pick": "id,locatedAt{isInCountry{id}}"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_a_projection_into_linked_entities_without_join_is_bad_request_data(town):
    response = town.get(f"{ENTITIES}/{BUILDING}", params={"pick": "id,locatedAt{id}"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


@pytest.mark.parametrize("params", [{"join": "deep"}, {"join": "inline", "joinLevel": "0"},
                                    {"join": "flat", "joinLevel": "one"}])
def test_invalid_join_parameters_are_bad_request_data(town, params):
    response = town.get(f"{ENTITIES}/{BUILDING}", params=params)
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_join_none_is_no_join(town):
    assert get(town, join="@none") == get(town)


def test_a_query_flat_lists_each_linked_entity_once_after_the_results(town):
    second = {"id": "urn:ngsi-ld:Building:2", "type": "Building", "locatedAt": rel(CITY)}
    assert town.post(ENTITIES, json=second).status_code == 201
    response = town.get(ENTITIES, params={"type": "Building", "join": "flat"})
    assert response.status_code == 200
    assert [e["id"] for e in response.json()] == [BUILDING, "urn:ngsi-ld:Building:2", CITY]


def test_a_linked_entity_already_in_the_results_is_not_repeated(town):
    response = town.get(ENTITIES, params={"type": "Building,City", "join": "flat", "joinLevel": 2})
    assert [e["id"] for e in response.json()] == [BUILDING, CITY, COUNTRY]


def test_a_query_inline_links_every_result(town):
    response = town.get(ENTITIES, params={"type": "Building", "join": "inline"})
    assert response.json()[0]["locatedAt"]["entity"]["id"] == CITY


def test_a_list_relationship_carries_an_entity_list(client):
    entity = {"id": BUILDING, "type": "Building",
              "near": {"type": "ListRelationship", "objectList": [COUNTRY, "urn:ngsi-ld:City:Nowhere"]}}
    for body in (entity, COUNTRY_BODY):
        assert client.post(ENTITIES, json=body).status_code == 201
    assert get(client, join="inline")["near"]["entityList"] == [COUNTRY_BODY]


def test_a_cycle_is_followed_only_as_deep_as_join_level(client):
    for one, other in (("urn:ngsi-ld:T:a", "urn:ngsi-ld:T:b"), ("urn:ngsi-ld:T:b", "urn:ngsi-ld:T:a")):
        assert client.post(ENTITIES, json={"id": one, "type": "T", "next": rel(other)}).status_code == 201
    assert [e["id"] for e in get(client, "urn:ngsi-ld:T:a", join="flat", joinLevel=5)] == [
        "urn:ngsi-ld:T:a", "urn:ngsi-ld:T:b"]
    inline = get(client, "urn:ngsi-ld:T:a", join="inline", joinLevel=2)
    assert inline["next"]["entity"]["next"]["entity"] == {"id": "urn:ngsi-ld:T:a", "type": "T",
                                                          "next": rel("urn:ngsi-ld:T:b")}


def test_sys_attrs_reach_the_linked_entities(town):
    assert "createdAt" in get(town, join="inline", options="sysAttrs")["locatedAt"]["entity"]


def test_attrs_select_only_the_entity_asked_for(town):
    body = get(town, join="inline", attrs="locatedAt")
    assert set(body) == {"id", "type", "locatedAt"} and body["locatedAt"]["entity"] == CITY_BODY


def test_json_ld_flat_gives_every_entity_its_context(town):
    response = town.get(f"{ENTITIES}/{BUILDING}", params={"join": "flat"}, headers={"Accept": "application/ld+json"})
    assert all("@context" in e for e in response.json())


def test_post_query_takes_join_from_the_query(town):
    response = town.post(QUERY, json={"type": "Query", "entities": [{"type": "Building"}], "join": "inline",
                                      "joinLevel": 2, "pick": ["id", "locatedAt{isInCountry{name}}"]})
    assert response.status_code == 200, response.text
    assert response.json() == [{"id": BUILDING, "locatedAt": {**rel(CITY), "entity": {
        "isInCountry": {**rel(COUNTRY), "entity": {"name": prop("France")}}}}}]
