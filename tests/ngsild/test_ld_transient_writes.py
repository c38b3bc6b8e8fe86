"""Transient entities (NGSI-LD v1.9 `expiresAt`): an entity past its expiry no longer exists for writes
either, whether or not it has been deleted yet: updating, merging, replacing or deleting it is 404
ResourceNotFound, creating it again (single or batch) makes a new entity."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, module_settings

from toshi.app import create_app

ENTITIES = "/ngsi-ld/v1/entities"
PAST = "2020-01-01T00:00:00Z"


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "transient")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def expired(client, n: int) -> str:
    entity_id = f"urn:ngsi-ld:Parcel:{n}"
    body = {"id": entity_id, "type": "Parcel", "expiresAt": PAST, "weight": {"type": "Property", "value": 2}}
    assert client.post(ENTITIES, json=body).status_code == 201
    return entity_id


def not_found(response) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["type"].endswith("ResourceNotFound")


@pytest.mark.parametrize("method, suffix, body", [
    ("PATCH", "", {"weight": {"type": "Property", "value": 3}}),
    ("PUT", "", {"type": "Parcel"}),
    ("POST", "/attrs", {"size": {"type": "Property", "value": 1}}),
    ("PATCH", "/attrs", {"weight": {"type": "Property", "value": 3}}),
    ("PATCH", "/attrs/weight", {"value": 3}),
    ("DELETE", "/attrs/weight", None),
    ("DELETE", "", None),
])
def test_writing_an_expired_entity_is_not_found(client, method, suffix, body):
    entity_id = expired(client, 1)
    not_found(client.request(method, f"{ENTITIES}/{entity_id}{suffix}", json=body))
    client.delete(f"{ENTITIES}/{entity_id}")


def test_creating_an_expired_entity_again_makes_a_new_one(client):
    entity_id = expired(client, 2)
    assert client.post(ENTITIES, json={"id": entity_id, "type": "Parcel"}).status_code == 201
    assert client.get(f"{ENTITIES}/{entity_id}").json() == {"id": entity_id, "type": "Parcel"}


def test_a_batch_update_of_an_expired_entity_is_its_error(client):
    entity_id = expired(client, 3)
    response = client.post("/ngsi-ld/v1/entityOperations/update",
                           json=[{"id": entity_id, "weight": {"type": "Property", "value": 3}}])
    assert response.status_code == 207
    assert response.json()["errors"][0]["error"]["type"].endswith("ResourceNotFound")


def test_a_batch_upsert_of_an_expired_entity_creates_it(client):
    entity_id = expired(client, 4)
    response = client.post("/ngsi-ld/v1/entityOperations/upsert", json=[{"id": entity_id, "type": "Parcel"}])
    assert response.status_code == 201 and response.json() == [entity_id]
    assert client.get(f"{ENTITIES}/{entity_id}").json() == {"id": entity_id, "type": "Parcel"}
