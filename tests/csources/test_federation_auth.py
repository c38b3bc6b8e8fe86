"""Two towns with authentication on: the broker forwards with the credentials its registration names
(never the client's, never anonymously), and the source town's rules decide what the broker's
identity may see (CIM 009 v1.8 5.2.9 contextSourceInfo; docs/federation.md)."""

from __future__ import annotations

import dataclasses

import pytest
from federation_towns import join, town
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.auth import policy_engine_of
from toshi.auth.apikeys import api_keys_of

LD = "/ngsi-ld/v1"
REGS = LD + "/csourceRegistrations"
SHELTER = {"id": "urn:ngsi-ld:Shelter:b1", "type": "Shelter", "capacity": {"type": "Property", "value": 80},
           "contact": {"type": "Property", "value": "06-0000-0000"}}


def key(app: TestClient, name: str, role: str) -> str:
    keys = api_keys_of(app.app.state.toshi.store)
    return keys.create_key(keys.create_account(name, [role], ())["id"])[1]


@pytest.fixture(scope="module")
def town_b(tmp_path_factory, joined):
    """Town B (in this process, reached over the broker's HTTP client), authentication on: an admin key,
    a key for the prefecture (a consumer), and a rule that keeps `contact` from consumers."""
    app, url = town(joined, tmp_path_factory.mktemp("town-b-auth"), "town-b.test", auth=True)
    with app:
        admin, prefecture = key(app, "b-admin", "*:admin"), key(app, "prefecture", "default:consumer")
        policy_engine_of(app.app.state.toshi.store).put(
            {"effect": "deny", "principals": ["role:consumer"], "actions": ["read"], "attrs": ["contact"]})
        app.post(LD + "/entities", json=SHELTER, headers={"Authorization": f"Bearer {admin}"}).raise_for_status()
        yield url, prefecture


@pytest.fixture
def broker(settings, joined):
    secure = dataclasses.replace(settings, auth=True, outbound_allow="127.0.0.1")
    with TestClient(create_app(secure)) as client:
        join(client, joined)
        client.admin = {"Authorization": f"Bearer {key(client, 'root', '*:admin')}"}
        client.reader = {"Authorization": f"Bearer {key(client, 'reader', 'default:consumer')}"}
        yield client


def registration(url: str, token: str | None = None) -> dict:
    body = {"type": "ContextSourceRegistration", "endpoint": url,
            "information": [{"entities": [{"type": "Shelter"}]}]}
    if token:
        body["contextSourceInfo"] = [{"key": "Authorization", "value": f"Bearer {token}"}]
    return body


def test_only_an_administrator_registers_a_context_source(broker, town_b):
    url, _ = town_b
    refused = broker.post(REGS, json=registration(url), headers=broker.reader)
    assert refused.status_code == 403
    assert broker.get(REGS, headers=broker.admin).json() == []


def test_the_source_town_answers_what_its_rules_open_to_the_broker(broker, town_b):
    url, prefecture = town_b
    assert broker.post(REGS, json=registration(url, prefecture), headers=broker.admin).status_code == 201
    got = broker.get(LD + "/entities?type=Shelter&options=keyValues", headers=broker.reader)
    assert got.status_code == 200
    assert got.json() == [{"id": "urn:ngsi-ld:Shelter:b1", "type": "Shelter", "capacity": 80}]


def test_without_credentials_the_source_town_refuses_and_the_broker_says_so(broker, town_b):
    url, _ = town_b
    reg = broker.post(REGS, json=registration(url), headers=broker.admin)
    reg_id = reg.headers["Location"].rsplit("/", 1)[1]
    got = broker.get(LD + "/entities/urn:ngsi-ld:Shelter:b1", headers=broker.reader)
    assert got.status_code == 502
    assert got.json()["detail"] == f"context source(s) failed: {reg_id}: answered 401"


def test_a_source_whose_name_does_not_resolve_is_a_bad_gateway(broker):
    reg = broker.post(REGS, json=registration("http://town-c.invalid"), headers=broker.admin)
    reg_id = reg.headers["Location"].rsplit("/", 1)[1]
    got = broker.get(LD + "/entities/urn:ngsi-ld:Shelter:c1", headers=broker.reader)
    assert got.status_code == 502
    assert got.json()["detail"] == f"context source(s) failed: {reg_id}: cannot be reached: gaierror"
