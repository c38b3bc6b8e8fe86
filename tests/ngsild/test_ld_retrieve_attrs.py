"""Retrieve Entity with `attrs` (ETSI GS CIM 009 v1.9.1 clause 5.7.1.4): "If the optional Attribute list
is present and the NGSI-LD endpoint does know about a matching Entity for the Entity ID, but this Entity
does not have any of the Attributes in the Attribute list, then an error of type ResourceNotFound shall
be raised" — whatever other entities of the tenant hold."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, module_settings

from toshi.app import create_app

ENTITIES = "/ngsi-ld/v1/entities"
ROOM = f"{ENTITIES}/urn:ngsi-ld:Room:1"


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "retrieveattrs")
    with TestClient(create_app(settings)) as test_client:
        room = {"id": "urn:ngsi-ld:Room:1", "type": "Room", "temperature": {"type": "Property", "value": 21},
                "noise": {"type": "Property", "value": 40}}
        other = {"id": "urn:ngsi-ld:Room:2", "type": "Room", "humidity": {"type": "Property", "value": 50}}
        for entity in (room, other):
            assert test_client.post(ENTITIES, json=entity).status_code == 201
        assert test_client.delete(f"{ROOM}/attrs/noise").status_code == 204
        yield test_client


def not_found(response) -> bool:
    return response.status_code == 404 and response.json()["type"].endswith("ResourceNotFound")


def test_an_attribute_only_another_entity_has_is_not_found(client):
    assert not_found(client.get(ROOM, params={"attrs": "humidity"}))


def test_an_attribute_no_entity_has_is_not_found(client):
    assert not_found(client.get(ROOM, params={"attrs": "neverSeen"}))


def test_an_attribute_the_entity_had_and_lost_is_not_found(client):
    assert not_found(client.get(ROOM, params={"attrs": "noise"}))


def test_one_attribute_the_entity_has_is_enough(client):
    response = client.get(ROOM, params={"attrs": "humidity,temperature"})
    assert response.status_code == 200
    assert response.json() == {"id": "urn:ngsi-ld:Room:1", "type": "Room",
                               "temperature": {"type": "Property", "value": 21}}
