"""Two towns with authentication on: the broker forwards with the credentials its registration names
(never the client's, never anonymously), and the source town's rules decide what the broker's
identity may see (CIM 009 v1.8 5.2.9 contextSourceInfo; docs/federation.md)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import httpx
import pytest
from starlette.testclient import TestClient
from support import ServerProcess

from toshi.app import create_app
from toshi.auth.apikeys import api_keys_of

LD = "/ngsi-ld/v1"
REGS = LD + "/csourceRegistrations"
SHELTER = {"id": "urn:ngsi-ld:Shelter:b1", "type": "Shelter", "capacity": {"type": "Property", "value": 80},
           "contact": {"type": "Property", "value": "06-0000-0000"}}


def toshi_cli(data_dir, *argv: str) -> str:
    done = subprocess.run([sys.executable, "-m", "toshi.cli", *argv, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""


@pytest.fixture(scope="module")
def town_b(tmp_path_factory):
    """Town B, authentication on: an admin key, a key for the prefecture (a consumer), and a rule that
    keeps `contact` from consumers."""
    data = tmp_path_factory.mktemp("town-b-auth")
    admin = toshi_cli(data, "key", "create", "--name", "b-admin", "--role", "*:admin")
    prefecture = toshi_cli(data, "key", "create", "--name", "prefecture", "--role", "default:consumer")
    toshi_cli(data, "policy", "add", "deny", "--principal", "role:consumer", "--action", "read", "--attr", "contact")
    proc = ServerProcess(data, "--auth").start()
    httpx.post(proc.url + LD + "/entities", json=SHELTER,
               headers={"Authorization": f"Bearer {admin}"}).raise_for_status()
    yield proc, prefecture
    proc.stop()


@pytest.fixture
def broker(settings):
    secure = dataclasses.replace(settings, auth=True, outbound_allow="127.0.0.1")
    with TestClient(create_app(secure)) as client:
        keys = api_keys_of(client.app.state.toshi.store)

        def key(name: str, role: str) -> dict:
            account = keys.create_account(name, [role], ())
            return {"Authorization": f"Bearer {keys.create_key(account['id'])[1]}"}
        client.admin, client.reader = key("root", "*:admin"), key("reader", "default:consumer")
        yield client


def registration(url: str, token: str | None = None) -> dict:
    body = {"type": "ContextSourceRegistration", "endpoint": url,
            "information": [{"entities": [{"type": "Shelter"}]}]}
    if token:
        body["contextSourceInfo"] = [{"key": "Authorization", "value": f"Bearer {token}"}]
    return body


def test_only_an_administrator_registers_a_context_source(broker, town_b):
    proc, _ = town_b
    refused = broker.post(REGS, json=registration(proc.url), headers=broker.reader)
    assert refused.status_code == 403
    assert broker.get(REGS, headers=broker.admin).json() == []


def test_the_source_town_answers_what_its_rules_open_to_the_broker(broker, town_b):
    proc, prefecture = town_b
    assert broker.post(REGS, json=registration(proc.url, prefecture), headers=broker.admin).status_code == 201
    got = broker.get(LD + "/entities?type=Shelter&options=keyValues", headers=broker.reader)
    assert got.status_code == 200
    assert got.json() == [{"id": "urn:ngsi-ld:Shelter:b1", "type": "Shelter", "capacity": 80}]


def test_without_credentials_the_source_town_refuses_and_the_broker_says_so(broker, town_b):
    proc, _ = town_b
    reg = broker.post(REGS, json=registration(proc.url), headers=broker.admin)
    reg_id = reg.headers["Location"].rsplit("/", 1)[1]
    got = broker.get(LD + "/entities/urn:ngsi-ld:Shelter:b1", headers=broker.reader)
    assert got.status_code == 502
    assert got.json()["detail"] == f"context source(s) failed: {reg_id}: answered 401"
