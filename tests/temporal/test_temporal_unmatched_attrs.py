"""Retrieve Temporal Evolution of an Entity (ETSI GS CIM 009 v1.8 clause 5.7.3, 6.19.3.1) with `attrs`
naming only attributes the entity never had: the entity is not matched, 404 ResourceNotFound, as the
entity API's retrieve (5.7.1) answers for an unmatched `attrs`; `attrs` is the list of attributes that
shall be matched for the entity to be retrieved. An attribute the entity had (deleted since, or with no
instance in the time window) still matches."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, error_type, module_settings

from toshi.app import create_app

TEMPORAL = "/ngsi-ld/v1/temporal/entities"
ENTITIES = "/ngsi-ld/v1/entities"


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "temporal-unmatched")
    with TestClient(create_app(settings)) as test_client:
        for n, attr in ((1, "speed"), (2, "fuel")):
            body = {"id": f"urn:ngsi-ld:Car:{n}", "type": "Car",
                    attr: [{"type": "Property", "value": n, "observedAt": "2026-01-01T00:00:00Z"}]}
            assert test_client.post(TEMPORAL, json=body).status_code == 201
        yield test_client


def retrieve(client, n: int, **params):
    return client.get(f"{TEMPORAL}/urn:ngsi-ld:Car:{n}", params=params)


def not_found(response) -> None:
    assert response.status_code == 404, response.text
    assert error_type(response) == "ResourceNotFound"


def test_attrs_naming_an_attribute_no_entity_has_is_not_found(client):
    not_found(retrieve(client, 1, attrs="neverSeen"))


def test_attrs_naming_only_another_entitys_attribute_is_not_found(client):
    not_found(retrieve(client, 1, attrs="fuel"))


def test_attrs_naming_one_attribute_it_has_returns_that_one(client):
    body = retrieve(client, 1, attrs="speed,neverSeen").json()
    assert sorted(body) == ["id", "speed", "type"]


def test_an_attribute_with_no_instance_in_the_time_window_still_matches(client):
    response = retrieve(client, 1, attrs="speed", timerel="after", timeAt="2027-01-01T00:00:00Z")
    assert response.status_code == 200
    assert response.json() == {"id": "urn:ngsi-ld:Car:1", "type": "Car"}


def test_an_attribute_deleted_since_still_matches(client):
    entity = {"id": "urn:ngsi-ld:Car:3", "type": "Car", "speed": {"type": "Property", "value": 3}}
    assert client.post(ENTITIES, json=entity).status_code == 201
    assert client.delete(f"{ENTITIES}/urn:ngsi-ld:Car:3/attrs/speed").status_code == 204
    response = retrieve(client, 3, attrs="speed")
    assert response.status_code == 200 and response.json()["id"] == "urn:ngsi-ld:Car:3"


def test_pick_naming_only_another_entitys_attribute_is_not_found(client):
    not_found(retrieve(client, 1, pick="fuel"))
