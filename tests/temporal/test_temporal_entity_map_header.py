"""The NGSILD-EntityMap header and entityMap=true on the temporal API's query (GET and POST) and retrieve,
as Query Entities and Retrieve Entity have them (v1.9 clauses 5.7.1.4, 5.7.2.4): the map an EntityMap of a
temporal query (5.14.5, /temporal/entityMaps) is made for is paged through with it."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, error_type, module_settings

from toshi.app import create_app

LD = "/ngsi-ld/v1"
TEMPORAL = f"{LD}/temporal/entities"
TEMPORAL_QUERY = f"{LD}/temporal/entityOperations/query"
HEADER = "NGSILD-EntityMap"
WINDOW = {"timerel": "after", "timeAt": "2000-01-01T00:00:00Z"}
CARS = [f"urn:ngsi-ld:Vehicle:tm{n}" for n in range(3)]


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "temporal-map-header")
    with TestClient(create_app(settings)) as test_client:
        for n, car in enumerate(CARS):
            body = {"id": car, "type": "Vehicle",
                    "speed": {"type": "Property", "value": 30 * (n + 1), "observedAt": f"2020-08-01T1{n}:00:00Z"}}
            assert test_client.post(f"{LD}/entities", json=body).status_code == 201
        yield test_client


def ids(response) -> list[str]:
    assert response.status_code in (200, 201), response.text
    return [e["id"] for e in response.json()]


def temporal_map(client, **params) -> str:
    """The location of a new map of a temporal query of the Vehicles (GET /temporal/entityMaps)."""
    made = client.get(f"{LD}/temporal/entityMaps", params={"type": "Vehicle", **WINDOW, **params})
    assert made.status_code == 201, made.text
    return made.headers[HEADER]


def test_a_temporal_query_with_a_live_map_reads_only_its_entities(client):
    location = temporal_map(client, q="speed>40")
    response = client.get(TEMPORAL, params={"type": "Vehicle", **WINDOW}, headers={HEADER: location})
    assert ids(response) == CARS[1:]


def test_a_temporal_query_with_a_live_map_answers_200_with_its_location(client):
    location = temporal_map(client)
    response = client.get(TEMPORAL, params={"type": "Vehicle", **WINDOW}, headers={HEADER: location})
    assert response.status_code == 200 and response.headers[HEADER] == location


def test_the_querys_filters_still_apply_to_the_mapped_entities(client):
    location = temporal_map(client)
    response = client.get(TEMPORAL, params={"type": "Vehicle", "q": "speed<40", **WINDOW}, headers={HEADER: location})
    assert ids(response) == CARS[:1]


def test_a_post_temporal_query_reads_only_the_maps_entities(client):
    location = temporal_map(client, q="speed>70")
    query = {"type": "Query", "entities": [{"type": "Vehicle"}], "temporalQ": WINDOW}
    assert ids(client.post(TEMPORAL_QUERY, json=query, headers={HEADER: location})) == CARS[2:]


def test_entity_map_true_on_a_temporal_query_makes_a_map_of_it(client):
    response = client.get(TEMPORAL, params={"type": "Vehicle", "q": "speed>40", "entityMap": "true", **WINDOW})
    assert response.status_code == 201
    made = client.get(response.headers[HEADER])
    assert made.status_code == 200 and list(made.json()["entityMap"]) == CARS[1:]


def test_a_header_naming_an_unknown_map_makes_a_new_one(client):
    unknown = f"{LD}/entityMaps/urn:ngsi-ld:EntityMap:unknown"
    response = client.get(TEMPORAL, params={"type": "Vehicle", **WINDOW}, headers={HEADER: unknown})
    assert response.status_code == 201 and response.headers[HEADER] != unknown


def test_a_new_map_of_a_temporal_query_needs_a_temporal_query(client):
    response = client.get(TEMPORAL, params={"type": "Vehicle", "entityMap": "true"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_a_temporal_retrieve_with_a_live_map_answers_its_location(client):
    location = temporal_map(client)
    response = client.get(f"{TEMPORAL}/{CARS[0]}", headers={HEADER: location})
    assert response.status_code == 200 and response.headers[HEADER] == location


def test_entity_map_true_on_a_temporal_retrieve_makes_a_map_holding_the_entity(client):
    response = client.get(f"{TEMPORAL}/{CARS[0]}", params={"entityMap": "true"})
    assert response.status_code == 200
    assert list(client.get(response.headers[HEADER]).json()["entityMap"]) == [CARS[0]]
