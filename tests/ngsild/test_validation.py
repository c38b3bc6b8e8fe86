"""Request validation and negotiation of the entity API (ETSI GS CIM 009 v1.8 clauses 5.7.1, 6.3)."""

from __future__ import annotations

import pytest

ENTITIES = "/ngsi-ld/v1/entities"
ROOM = f"{ENTITIES}/urn:ngsi-ld:Room:1"
QUERY = "/ngsi-ld/v1/entityOperations/query"


@pytest.fixture
def room(client):
    entity = {"id": "urn:ngsi-ld:Room:1", "type": "Room", "temperature": {"type": "Property", "value": 21},
              "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [135.0, 34.0]}}}
    assert client.post(ENTITIES, json=entity).status_code == 201
    return client


def problem(response, status: int, kind: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["type"] == f"https://uri.etsi.org/ngsi-ld/errors/{kind}"


@pytest.mark.parametrize("pick", ["temperature{value", "temperature}", ",temperature", "{temperature}", "!temperature",
                                  "", "temperature,,location"])
def test_malformed_projections_are_bad_request_data(room, pick):
    problem(room.get(ROOM, params={"pick": pick}), 400, "BadRequestData")


def test_a_projection_into_linked_entities_needs_join(room):
    problem(room.get(ROOM, params={"pick": "temperature{value}"}), 400, "BadRequestData")


def test_a_pick_matching_nothing_on_retrieve_is_not_found(room):
    problem(room.get(ROOM, params={"pick": "humidity"}), 404, "ResourceNotFound")


def test_an_omit_of_everything_on_retrieve_is_not_found(room):
    problem(room.get(ROOM, params={"omit": "id,type,temperature,location"}), 404, "ResourceNotFound")


def test_pick_keeps_the_members_named(room):
    assert room.get(ROOM, params={"pick": "id,temperature"}).json() == {
        "id": "urn:ngsi-ld:Room:1", "temperature": {"type": "Property", "value": 21}}


def test_attrs_unknown_to_the_system_on_retrieve_is_not_found(room):
    problem(room.get(ROOM, params={"attrs": "neverSeen"}), 404, "ResourceNotFound")


def test_geometry_property_without_geojson_is_bad_request(room):
    problem(room.get(ROOM, params={"geometryProperty": "location"}), 400, "BadRequestData")
    problem(room.get(ENTITIES, params={"type": "Room", "geometryProperty": "location"}), 400, "BadRequestData")


def test_geojson_embeds_the_context(room):
    feature = room.get(ROOM, headers={"Accept": "application/geo+json"}).json()
    assert feature["type"] == "Feature" and "@context" in feature
    collection = room.get(ENTITIES, params={"type": "Room"}, headers={"Accept": "application/geo+json"}).json()
    assert collection["type"] == "FeatureCollection" and "@context" in collection


def test_accept_prefers_the_higher_weight(room):
    response = room.get(ROOM, headers={"Accept": "application/json;q=0.5, application/ld+json;q=0.9"})
    assert response.headers["content-type"].startswith("application/ld+json")


def test_accept_takes_the_first_of_equal_weights(room):
    response = room.get(ROOM, headers={"Accept": "application/ld+json, application/json"})
    assert response.headers["content-type"].startswith("application/ld+json")


def test_an_unreadable_weight_does_not_decide(room):
    response = room.get(ROOM, headers={"Accept": "application/ld+json;q=high, application/json;q=0.1"})
    assert response.headers["content-type"].startswith("application/json")


def test_nothing_acceptable_is_406(room):
    problem(room.get(ROOM, headers={"Accept": "text/html"}), 406, "NotAcceptable")


def test_a_body_without_content_length_is_411(client):
    raw = client.build_request("POST", ENTITIES, content=b"{}", headers={"Content-Type": "application/json"})
    del raw.headers["content-length"]
    problem(client.send(raw), 411, "InvalidRequest")


@pytest.mark.parametrize("body", [{"type": "Query", "entities": []}, {"type": "Query", "attrs": []},
                                  {"type": "Query", "entities": [{"type": "Room"}], "joinLevel": 0},
                                  {"type": "Query", "entities": [{"type": "Room"}],
                                   "temporalQ": {"timerel": "after", "timeAt": "2020-01-01T00:00:00Z"}}])
def test_invalid_post_queries_are_bad_request_data(room, body):
    problem(room.post(QUERY, json=body), 400, "BadRequestData")


def test_a_post_query_honours_pick(room):
    found = room.post(QUERY, json={"type": "Query", "entities": [{"type": "Room"}], "pick": ["id", "temperature"]})
    assert found.json() == [{"id": "urn:ngsi-ld:Room:1", "temperature": {"type": "Property", "value": 21}}]


def test_a_post_query_honours_its_language_filter(client):
    entity = {"id": "urn:ngsi-ld:Room:2", "type": "Room",
              "label": {"type": "LanguageProperty", "languageMap": {"en": "Hall", "ja": "広間"}}}
    assert client.post(ENTITIES, json=entity).status_code == 201
    found = client.post(QUERY, json={"type": "Query", "entities": [{"type": "Room"}], "lang": "ja"})
    assert found.json() == [{"id": "urn:ngsi-ld:Room:2", "type": "Room",
                             "label": {"type": "Property", "value": "広間", "lang": "ja"}}]


def test_retrieve_with_a_type_the_entity_lacks_is_not_found(room):
    problem(room.get(ROOM, params={"type": "Vehicle"}), 404, "ResourceNotFound")


def test_retrieve_with_one_of_its_types_finds_it(room):
    assert room.get(ROOM, params={"type": "Vehicle,Room"}).json()["id"] == "urn:ngsi-ld:Room:1"


@pytest.mark.parametrize("method,path", [("GET", ENTITIES), ("POST", ENTITIES), ("GET", "/ngsi-ld/v1/types"),
                                         ("GET", "/ngsi-ld/v1/temporal/entities"), ("GET", "/ngsi-ld/v1/subscriptions"),
                                         ("DELETE", ENTITIES), ("GET", ROOM)])
def test_an_unknown_url_parameter_is_invalid_request(room, method, path):
    response = room.request(method, path, params={"invalidParams": "invalidValue", "type": "Room"},
                            json={"id": "urn:ngsi-ld:Room:2", "type": "Room"} if method == "POST" else None)
    problem(response, 400, "InvalidRequest")
    assert room.get(f"{ENTITIES}/urn:ngsi-ld:Room:2").status_code == 404  # nothing was created


def test_every_parameter_the_api_defines_passes_the_check(room):
    assert room.get(ENTITIES, params={"type": "Room", "local": "true", "lang": "en", "orderBy": "id"}).status_code == 200


@pytest.mark.parametrize("path", [ROOM, ENTITIES])
def test_prefer_body_json_moves_the_geojson_context_to_a_link_header(room, path):
    headers = {"Accept": "application/geo+json", "Prefer": "body=json"}
    response = room.get(path, params={} if path == ROOM else {"type": "Room"}, headers=headers)
    assert response.status_code == 200 and "@context" not in response.json()
    assert "json-ld#context" in response.headers["link"]


def test_prefer_body_ld_json_keeps_the_geojson_context_in_the_body(room):
    response = room.get(ROOM, headers={"Accept": "application/geo+json", "Prefer": "body=ld+json"})
    assert "@context" in response.json() and "link" not in response.headers
