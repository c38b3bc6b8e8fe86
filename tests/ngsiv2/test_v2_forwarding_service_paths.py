"""Which registrations a request is forwarded by, by service path, as Orion's registration query
filters them (servicePathFilterNeeded / fillQueryServicePath): without a Fiware-ServicePath header (or
with `/#`) every registration of the tenant counts; with `/A` only those made under exactly `/A`; with
`/A/#` those made under `/A` and below. The provider is a recording receiver (its empty answers are
unusable, so the local 404 stands): what is checked is whether it was asked. One app for the module."""

from __future__ import annotations

import uuid

import pytest
from starlette.testclient import TestClient
from support import Receiver

from toshi.app import create_app
from toshi.config import Settings


@pytest.fixture(scope="module")
def provider():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("fwdsp") / "data")))) as client:
        yield client


@pytest.fixture
def tenant():
    return f"t{uuid.uuid4().hex[:12]}"


def register(client, provider, tenant: str, path: str | None) -> None:
    headers = {"Fiware-Service": tenant} | ({"Fiware-ServicePath": path} if path is not None else {})
    response = client.post("/v2/registrations", headers=headers, json={
        "dataProvided": {"entities": [{"id": "Room1", "type": "Room"}], "attrs": ["humidity"]},
        "provider": {"http": {"url": provider.url + "/v2"}}})
    assert response.status_code == 201, response.text


def asked(client, provider, tenant: str, path: str | None) -> bool:
    headers = {"Fiware-Service": tenant} | ({"Fiware-ServicePath": path} if path is not None else {})
    client.get("/v2/entities/Room1", headers=headers)
    return any({k.lower(): v for k, v in r["headers"].items()}.get("fiware-service") == tenant
               for r in provider.requests)


def test_a_request_under_another_path_is_not_forwarded(v2, provider, tenant):
    register(v2, provider, tenant, "/A")
    assert not asked(v2, provider, tenant, "/B")


def test_a_request_under_the_same_path_is_forwarded(v2, provider, tenant):
    register(v2, provider, tenant, "/A")
    assert asked(v2, provider, tenant, "/A")


def test_a_request_without_a_path_is_forwarded_by_any_registration(v2, provider, tenant):
    register(v2, provider, tenant, "/A")
    assert asked(v2, provider, tenant, None)


def test_a_request_for_a_path_and_below_is_forwarded_by_one_below(v2, provider, tenant):
    register(v2, provider, tenant, "/A/B")
    assert asked(v2, provider, tenant, "/A/#")


def test_a_request_under_a_path_is_not_forwarded_by_a_root_registration(v2, provider, tenant):
    register(v2, provider, tenant, None)
    assert not asked(v2, provider, tenant, "/A")
