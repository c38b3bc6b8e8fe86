"""The `ordering` member of a temporal Query (ETSI GS CIM 009 v1.9.1 5.2.23, OrderingParams 5.2.43):
POST /temporal/entityOperations/query orders by it as by `orderBy` (id only, 5.7.4.3)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, module_settings

from toshi.app import create_app

BASE = "/ngsi-ld/v1/temporal/entities"
QUERY = "/ngsi-ld/v1/temporal/entityOperations/query"
VEHICLES = [f"urn:ngsi-ld:Vehicle:{n}" for n in (1, 2, 3)]


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "temporder")
    with TestClient(create_app(settings)) as test_client:
        for vehicle in VEHICLES:
            speed = [{"type": "Property", "value": 10, "observedAt": "2026-05-01T10:00:00Z"}]
            assert test_client.post(BASE, json={"id": vehicle, "type": "Vehicle", "speed": speed}).status_code == 201
        yield test_client


def query(client, ordering):
    return client.post(QUERY, json={"type": "Query", "entities": [{"type": "Vehicle"}], "ordering": ordering})


def test_the_ordering_member_orders_by_id(client):
    response = query(client, {"orderBy": ["id;desc"]})
    assert response.status_code == 200, response.text
    assert [e["id"] for e in response.json()] == VEHICLES[::-1]


@pytest.mark.parametrize("ordering", ["id;desc", {"orderBy": "id"}, {"orderBy": []}, {"orderBy": ["speed"]}])
def test_a_malformed_ordering_or_one_not_by_id_is_bad_request_data(client, ordering):
    response = query(client, ordering)
    assert response.status_code == 400 and response.json()["type"].endswith("/BadRequestData")
