"""GET /v2/subscriptions and GET /v2/registrations narrowed by Fiware-ServicePath (the spec's "Service
path in subscriptions and registrations": the header "is taken into account ... in order to narrow
down the results to subscriptions/registrations that use *exactly* that service path as query"; Orion
lists all without the header or with `/#`). One app for the module; a tenant per test."""

from __future__ import annotations

import uuid

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

SUB = {"subject": {"entities": [{"idPattern": ".*"}]}, "notification": {"http": {"url": "http://127.0.0.1:9/n"}}}
REG = {"dataProvided": {"entities": [{"id": "E1", "type": "T"}], "attrs": ["a"]},
       "provider": {"http": {"url": "http://127.0.0.1:9/v2"}}}


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("listsp") / "data")))) as client:
        yield client


@pytest.fixture
def service():
    return f"t{uuid.uuid4().hex[:12]}"


def make(client, service: str, kind: str, path: str | None) -> str:
    headers = {"Fiware-Service": service} | ({"Fiware-ServicePath": path} if path is not None else {})
    response = client.post(f"/v2/{kind}", json=SUB if kind == "subscriptions" else REG, headers=headers)
    assert response.status_code == 201, response.text
    return response.headers["Location"].rsplit("/", 1)[1]


def listed(client, service: str, kind: str, path: str | None, query: str = "") -> list[str]:
    headers = {"Fiware-Service": service} | ({"Fiware-ServicePath": path} if path is not None else {})
    response = client.get(f"/v2/{kind}{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


@pytest.mark.parametrize("kind", ["subscriptions", "registrations"])
def test_a_path_lists_only_those_made_with_exactly_that_path(v2, service, kind):
    a = make(v2, service, kind, "/A")
    make(v2, service, kind, "/A/B")
    make(v2, service, kind, None)
    assert listed(v2, service, kind, "/A") == [a]


@pytest.mark.parametrize("kind", ["subscriptions", "registrations"])
def test_without_the_header_every_one_is_listed(v2, service, kind):
    made = [make(v2, service, kind, "/A"), make(v2, service, kind, None)]
    assert listed(v2, service, kind, None) == made


@pytest.mark.parametrize("kind", ["subscriptions", "registrations"])
def test_the_everything_path_lists_every_one(v2, service, kind):
    made = [make(v2, service, kind, "/A"), make(v2, service, kind, "/B")]
    assert listed(v2, service, kind, "/#") == made


def test_a_subscription_made_without_a_path_is_listed_under_none_but_everything(v2, service):
    make(v2, service, "subscriptions", None)  # its path is /#
    assert listed(v2, service, "subscriptions", "/") == []


def test_a_registration_made_without_a_path_is_at_the_root(v2, service):
    made = make(v2, service, "registrations", None)
    assert listed(v2, service, "registrations", "/") == [made]


@pytest.mark.parametrize("kind", ["subscriptions", "registrations"])
def test_the_count_is_of_the_narrowed_list(v2, service, kind):
    make(v2, service, kind, "/A")
    make(v2, service, kind, "/B")
    response = v2.get(f"/v2/{kind}?options=count", headers={"Fiware-Service": service, "Fiware-ServicePath": "/B"})
    assert response.headers["Fiware-Total-Count"] == "1"


def test_pages_are_of_the_narrowed_list(v2, service):
    made = [make(v2, service, "subscriptions", "/A") for _ in range(3)]
    make(v2, service, "subscriptions", "/B")
    assert listed(v2, service, "subscriptions", "/A", "?limit=1&offset=1") == made[1:2]


@pytest.mark.parametrize("kind", ["subscriptions", "registrations"])
def test_retrieving_one_ignores_the_path(v2, service, kind):
    made = make(v2, service, kind, "/A")
    response = v2.get(f"/v2/{kind}/{made}", headers={"Fiware-Service": service, "Fiware-ServicePath": "/B"})
    assert response.status_code == 200
