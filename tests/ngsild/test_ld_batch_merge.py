"""Batch Entity Merge, POST /entityOperations/merge (ETSI GS CIM 009 v1.8, Batch Entity Merge): every
entity of the array is merge-patched as Merge Entity does it (members merged, null deletes); an entity
that does not exist, or an item that is not an entity fragment, is an error of its own in a 207 while
the others are merged; 204 when every entity was merged."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, module_settings

from toshi.app import create_app

ENTITIES = "/ngsi-ld/v1/entities"
MERGE = "/ngsi-ld/v1/entityOperations/merge"


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "merge")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def lamp(client, n: int) -> str:
    entity_id = f"urn:ngsi-ld:Lamp:{n}"
    client.delete(f"{ENTITIES}/{entity_id}")
    body = {"id": entity_id, "type": "Lamp", "lux": {"type": "Property", "value": 10, "unitCode": "LUX"},
            "colour": {"type": "Property", "value": "white"}}
    assert client.post(ENTITIES, json=body).status_code == 201
    return entity_id


def attrs(client, entity_id: str) -> dict:
    found = client.get(f"{ENTITIES}/{entity_id}")
    assert found.status_code == 200, found.text
    return {k: v for k, v in found.json().items() if k not in ("id", "type")}


def test_every_entity_merged_is_204(client):
    first, second = lamp(client, 1), lamp(client, 2)
    response = client.post(MERGE, json=[{"id": first, "type": "Lamp", "lux": {"type": "Property", "value": 20}},
                                        {"id": second, "on": {"type": "Property", "value": True}}])
    assert response.status_code == 204, response.text
    assert attrs(client, first)["lux"] == {"type": "Property", "value": 20, "unitCode": "LUX"}
    assert attrs(client, second)["on"] == {"type": "Property", "value": True}
    assert attrs(client, second)["colour"] == {"type": "Property", "value": "white"}


def test_null_deletes_an_attribute(client):
    entity_id = lamp(client, 3)
    assert client.post(MERGE, json=[{"id": entity_id, "colour": "urn:ngsi-ld:null"}]).status_code == 204
    assert "colour" not in attrs(client, entity_id)


def test_a_missing_entity_is_its_own_error_and_the_rest_is_merged(client):
    entity_id = lamp(client, 4)
    response = client.post(MERGE, json=[{"id": entity_id, "lux": {"type": "Property", "value": 5}},
                                        {"id": "urn:ngsi-ld:Lamp:none", "lux": {"type": "Property", "value": 5}}])
    assert response.status_code == 207
    body = response.json()
    assert body["success"] == [entity_id]
    assert [e["entityId"] for e in body["errors"]] == ["urn:ngsi-ld:Lamp:none"]
    assert body["errors"][0]["error"]["type"].endswith("ResourceNotFound")
    assert attrs(client, entity_id)["lux"]["value"] == 5


def test_an_item_without_a_uri_id_is_bad_request_data(client):
    entity_id = lamp(client, 5)
    response = client.post(MERGE, json=[{"id": "not a uri", "lux": {"type": "Property", "value": 1}},
                                        {"id": entity_id, "lux": {"type": "Property", "value": 1}}])
    assert response.status_code == 207
    assert response.json()["errors"][0]["error"]["type"].endswith("BadRequestData")


def test_a_payload_that_is_not_an_array_changes_nothing(client):
    entity_id = lamp(client, 6)
    response = client.post(MERGE, json={"id": entity_id, "lux": {"type": "Property", "value": 99}})
    assert response.status_code == 400 and response.json()["type"].endswith("BadRequestData")
    assert attrs(client, entity_id)["lux"]["value"] == 10
