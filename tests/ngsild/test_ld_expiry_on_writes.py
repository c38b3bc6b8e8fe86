"""Entity-level `expiresAt` (transient entities, NGSI-LD v1.9) given on any write, not only on create:
append, update attributes, merge-patch, replace and the batch upsert / update / merge set or move the
entity's expiry; a malformed one is 400 BadRequestData as on create; replace without one makes the
entity permanent (the payload replaces the entity whole), merge-patch with null does so too."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, error_type, module_settings

from toshi.app import create_app

ENTITIES = "/ngsi-ld/v1/entities"
OPS = "/ngsi-ld/v1/entityOperations"
FIRST = "2098-01-01T00:00:00Z"
LATER = "2099-06-01T00:00:00+09:00"
PAST = "2020-01-01T00:00:00Z"
WEIGHT = {"type": "Property", "value": 3}


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "expiry-writes")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def parcel(client, n: int, **extra) -> str:
    entity_id = f"urn:ngsi-ld:Parcel:{n}"
    client.delete(f"{ENTITIES}/{entity_id}")
    body = {"id": entity_id, "type": "Parcel", "weight": {"type": "Property", "value": 2}, **extra}
    assert client.post(ENTITIES, json=body).status_code == 201
    return entity_id


def expiry(client, entity_id: str):
    response = client.get(f"{ENTITIES}/{entity_id}", params={"options": "sysAttrs"})
    assert response.status_code == 200, response.text
    return response.json().get("expiresAt")


# Each write given an entity id and the expiresAt to send: the response.
WRITES = {
    "append": lambda c, i, e: c.post(f"{ENTITIES}/{i}/attrs", json={"expiresAt": e, "weight": WEIGHT}),
    "update attributes": lambda c, i, e: c.patch(f"{ENTITIES}/{i}/attrs", json={"expiresAt": e, "weight": WEIGHT}),
    "merge-patch": lambda c, i, e: c.patch(f"{ENTITIES}/{i}", json={"expiresAt": e}),
    "replace": lambda c, i, e: c.put(f"{ENTITIES}/{i}", json={"type": "Parcel", "expiresAt": e}),
    "batch upsert": lambda c, i, e: c.post(f"{OPS}/upsert", json=[{"id": i, "type": "Parcel", "expiresAt": e}]),
    "batch upsert (update)": lambda c, i, e: c.post(f"{OPS}/upsert", params={"options": "update"},
                                                    json=[{"id": i, "type": "Parcel", "expiresAt": e}]),
    "batch update": lambda c, i, e: c.post(f"{OPS}/update", json=[{"id": i, "expiresAt": e, "weight": WEIGHT}]),
    "batch merge": lambda c, i, e: c.post(f"{OPS}/merge", json=[{"id": i, "expiresAt": e}]),
}


@pytest.mark.parametrize("write", WRITES)
def test_a_write_makes_a_permanent_entity_transient(client, write):
    entity_id = parcel(client, 1)
    assert WRITES[write](client, entity_id, FIRST).status_code in (201, 204)
    assert expiry(client, entity_id) == FIRST


@pytest.mark.parametrize("write", WRITES)
def test_a_write_moves_the_expiry(client, write):
    entity_id = parcel(client, 2, expiresAt=FIRST)
    assert WRITES[write](client, entity_id, LATER).status_code in (201, 204)
    assert expiry(client, entity_id) == LATER


@pytest.mark.parametrize("write", ["append", "update attributes", "merge-patch", "replace"])
def test_a_malformed_expiry_is_bad_request_data_and_nothing_is_written(client, write):
    entity_id = parcel(client, 3, expiresAt=FIRST)
    response = WRITES[write](client, entity_id, "soon")
    assert response.status_code == 400 and error_type(response) == "BadRequestData"
    assert expiry(client, entity_id) == FIRST


@pytest.mark.parametrize("write", ["batch upsert", "batch update", "batch merge"])
def test_a_malformed_expiry_is_the_batch_items_error(client, write):
    entity_id = parcel(client, 4, expiresAt=FIRST)
    response = WRITES[write](client, entity_id, "soon")
    assert response.status_code == 207 and response.json()["success"] == []
    assert [e["error"]["type"].rsplit("/", 1)[-1] for e in response.json()["errors"]] == ["BadRequestData"]
    assert expiry(client, entity_id) == FIRST


def test_an_expiry_appended_in_the_past_makes_the_entity_gone_as_on_create(client):
    entity_id = parcel(client, 5)
    assert WRITES["append"](client, entity_id, PAST).status_code == 204
    assert client.get(f"{ENTITIES}/{entity_id}").status_code == 404


def test_replace_without_an_expiry_makes_the_entity_permanent(client):
    entity_id = parcel(client, 6, expiresAt=FIRST)
    assert client.put(f"{ENTITIES}/{entity_id}", json={"type": "Parcel"}).status_code == 204
    assert expiry(client, entity_id) is None


def test_a_batch_upsert_replacing_without_an_expiry_makes_the_entity_permanent(client):
    entity_id = parcel(client, 9, expiresAt=FIRST)
    assert client.post(f"{OPS}/upsert", json=[{"id": entity_id, "type": "Parcel"}]).status_code == 204
    assert expiry(client, entity_id) is None


def test_merge_patch_with_null_makes_the_entity_permanent(client):
    entity_id = parcel(client, 7, expiresAt=FIRST)
    assert client.patch(f"{ENTITIES}/{entity_id}", json={"expiresAt": None}).status_code == 204
    assert expiry(client, entity_id) is None


def test_an_append_without_an_expiry_keeps_it(client):
    entity_id = parcel(client, 8, expiresAt=FIRST)
    assert client.post(f"{ENTITIES}/{entity_id}/attrs", json={"size": WEIGHT}).status_code == 204
    assert expiry(client, entity_id) == FIRST
