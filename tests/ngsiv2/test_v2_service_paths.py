"""Fiware-ServicePath with trailing slashes, as the manual's "Service path" limitations say: "Trailing
slashes are discarded" (`/Toyono/Shelters/` is `/Toyono/Shelters`; the root `/` stays), in writes,
queries and subscriptions. One app for the module; each test has a tenant of its own."""

from __future__ import annotations

import uuid

import pytest
from starlette.testclient import TestClient
from support import Receiver

from toshi.app import create_app
from toshi.config import Settings


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("paths") / "data")))) as client:
        yield client


@pytest.fixture
def service():
    return f"t{uuid.uuid4().hex[:12]}"


def create(client, service: str, path: str, entity_id: str = "E1") -> None:
    response = client.post("/v2/entities", json={"id": entity_id, "type": "T", "a": {"value": 1}},
                           headers={"Fiware-Service": service, "Fiware-ServicePath": path})
    assert response.status_code == 201, response.text


def ids(client, service: str, path: str) -> list[str]:
    response = client.get("/v2/entities", headers={"Fiware-Service": service, "Fiware-ServicePath": path})
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def test_an_entity_created_with_a_trailing_slash_is_in_the_path_without_it(v2, service):
    create(v2, service, "/Toyono/Shelters/")
    assert ids(v2, service, "/Toyono/Shelters") == ["E1"]
    assert v2.get("/v2/entities/E1?attrs=servicePath", headers={"Fiware-Service": service}).json()[
        "servicePath"]["value"] == "/Toyono/Shelters"


def test_a_query_path_with_trailing_slashes_selects_the_path_without_them(v2, service):
    create(v2, service, "/Toyono")
    create(v2, service, "/Ikeda", "E2")
    assert ids(v2, service, "/Toyono//") == ["E1"]
    assert sorted(ids(v2, service, "/Ikeda/, /Toyono/")) == ["E1", "E2"]


def test_slashes_alone_are_the_root(v2, service):
    create(v2, service, "//")
    create(v2, service, "/Toyono", "E2")
    assert ids(v2, service, "/") == ["E1"]


def test_a_relative_path_with_a_trailing_slash_is_still_refused(v2, service):
    response = v2.post("/v2/entities", json={"id": "E1", "type": "T"},
                       headers={"Fiware-Service": service, "Fiware-ServicePath": "Toyono/"})
    assert (response.status_code, response.json()) == (400, {
        "error": "BadRequest", "description": "Only /absolute/ Service Paths allowed [a service path must begin with /]"})


def test_a_subscription_made_with_a_trailing_slash_watches_the_path_without_it(v2, service):
    receiver = Receiver()
    try:
        headers = {"Fiware-Service": service, "Fiware-ServicePath": "/Toyono/"}
        response = v2.post("/v2/subscriptions", headers=headers, json={
            "subject": {"entities": [{"idPattern": ".*"}]}, "notification": {"http": {"url": receiver.url}}})
        assert response.status_code == 201, response.text
        create(v2, service, "/Ikeda", "E2")
        create(v2, service, "/Toyono", "E1")
        requests = receiver.wait_for(1)
        assert [r["body"]["data"][0]["id"] for r in requests] == ["E1"]
        assert requests[0]["headers"]["Fiware-ServicePath"] == "/Toyono"
    finally:
        receiver.close()
