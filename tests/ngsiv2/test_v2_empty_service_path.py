"""An empty `Fiware-ServicePath` header is no header (Orion's servicePathSplit: an empty header gives
the one empty service path, the default): writes go to the root `/`, queries and subscriptions to
`/#`. And the text of too many query paths is Orion's. One app for the module; a tenant per test."""

from __future__ import annotations

import uuid

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

SUB = {"subject": {"entities": [{"idPattern": ".*"}]}, "notification": {"http": {"url": "http://127.0.0.1:9/n"}}}


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("emptysp") / "data")))) as client:
        yield client


@pytest.fixture
def service():
    return f"t{uuid.uuid4().hex[:12]}"


def test_a_create_with_an_empty_path_goes_to_the_root(v2, service):
    response = v2.post("/v2/entities", json={"id": "E1", "type": "T"},
                       headers={"Fiware-Service": service, "Fiware-ServicePath": ""})
    assert response.status_code == 201, response.text
    found = v2.get("/v2/entities", headers={"Fiware-Service": service, "Fiware-ServicePath": "/"})
    assert [e["id"] for e in found.json()] == ["E1"]


def test_a_query_with_an_empty_path_sees_every_path(v2, service):
    v2.post("/v2/entities", json={"id": "E1", "type": "T"},
            headers={"Fiware-Service": service, "Fiware-ServicePath": "/A"})
    response = v2.get("/v2/entities", headers={"Fiware-Service": service, "Fiware-ServicePath": ""})
    assert response.status_code == 200, response.text
    assert [e["id"] for e in response.json()] == ["E1"]


def test_a_retrieve_with_an_empty_path_finds_the_entity_wherever_it_is(v2, service):
    v2.post("/v2/entities", json={"id": "E1", "type": "T"},
            headers={"Fiware-Service": service, "Fiware-ServicePath": "/A"})
    response = v2.get("/v2/entities/E1", headers={"Fiware-Service": service, "Fiware-ServicePath": ""})
    assert response.status_code == 200, response.text


def test_a_blank_path_is_the_default_too(v2, service):
    response = v2.post("/v2/entities", json={"id": "E1", "type": "T"},
                       headers={"Fiware-Service": service, "Fiware-ServicePath": "  "})
    assert response.status_code == 201, response.text


def test_a_subscription_made_with_an_empty_path_is_listed_under_every_path(v2, service):
    made = v2.post("/v2/subscriptions", json=SUB, headers={"Fiware-Service": service, "Fiware-ServicePath": ""})
    assert made.status_code == 201, made.text
    listed = v2.get("/v2/subscriptions", headers={"Fiware-Service": service, "Fiware-ServicePath": "/#"})
    assert len(listed.json()) == 1


def test_eleven_query_paths_are_refused_in_orions_words(v2, service):
    paths = ",".join(f"/P{i}" for i in range(11))
    response = v2.get("/v2/entities", headers={"Fiware-Service": service, "Fiware-ServicePath": paths})
    assert response.status_code == 400
    assert response.json() == {"error": "BadRequest",
                               "description": "too many service paths - a maximum of ten service paths is allowed"}
