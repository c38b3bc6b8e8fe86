"""options=idsOnly on Query Entities (ETSI GS CIM 009 v1.8 clause 5.7.2): the answer is the ids of the
matching entities alone, as a JSON array, filtered, ordered, paged and counted as the entities are."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, error_type, module_settings

from toshi.app import create_app

ENTITIES = "/ngsi-ld/v1/entities"
QUERY = "/ngsi-ld/v1/entityOperations/query"
IDS = [f"urn:ngsi-ld:Bench:{n}" for n in range(3)]


@pytest.fixture(scope="module", params=BACKENDS)
def town(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "ids")
    with TestClient(create_app(settings)) as client:
        for n, entity_id in enumerate(IDS):
            bench = {"id": entity_id, "type": "Bench", "seats": {"type": "Property", "value": 2 + n}}
            assert client.post(ENTITIES, json=bench).status_code == 201
        assert client.post(ENTITIES, json={"id": "urn:ngsi-ld:Tree:1", "type": "Tree"}).status_code == 201
        yield client


def ok(response) -> list:
    assert response.status_code == 200, response.text
    return response.json()


def test_ids_only_answers_an_array_of_ids(town):
    assert ok(town.get(ENTITIES, params={"type": "Bench", "options": "idsOnly"})) == IDS


def test_ids_only_keeps_the_query_filter(town):
    assert ok(town.get(ENTITIES, params={"type": "Bench", "q": "seats>2", "options": "idsOnly"})) == IDS[1:]


def test_ids_only_as_a_parameter(town):
    assert ok(town.get(ENTITIES, params={"type": "Bench", "idsOnly": "true"})) == IDS


def test_ids_only_false_answers_entities(town):
    body = ok(town.get(ENTITIES, params={"type": "Bench", "idsOnly": "false"}))
    assert [e["id"] for e in body] == IDS and "seats" in body[0]


def test_ids_only_with_an_unreadable_value_is_bad_request(town):
    response = town.get(ENTITIES, params={"type": "Bench", "idsOnly": "yes"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_ids_only_pages_and_counts(town):
    response = town.get(ENTITIES, params={"type": "Bench", "options": "idsOnly", "limit": 2, "count": "true"})
    assert ok(response) == IDS[:2]
    assert response.headers["NGSILD-Results-Count"] == "3"
    assert 'rel="next"' in response.headers["Link"]


def test_ids_only_follows_order_by(town):
    params = {"type": "Bench", "options": "idsOnly", "orderBy": "seats;desc"}
    assert ok(town.get(ENTITIES, params=params)) == IDS[::-1]


def test_ids_only_with_another_form_answers_ids(town):
    assert ok(town.get(ENTITIES, params={"type": "Bench", "options": "idsOnly,keyValues"})) == IDS


def test_ids_only_on_post_query(town):
    body = {"type": "Query", "entities": [{"type": "Bench"}], "q": "seats==2"}
    assert ok(town.post(QUERY, json=body, params={"options": "idsOnly"})) == IDS[:1]


def test_ids_only_with_geojson_is_bad_request(town):
    response = town.get(ENTITIES, params={"type": "Bench", "options": "idsOnly"},
                        headers={"Accept": "application/geo+json"})
    assert response.status_code == 400


def test_ids_only_is_not_an_option_of_retrieve(town):
    response = town.get(f"{ENTITIES}/{IDS[0]}", params={"options": "idsOnly"})
    assert response.status_code == 400 and error_type(response) == "InvalidRequest"
