"""Every outlet that lets data leave goes through the one read path (toshi/core/access.py): an
attribute hidden by a role rule, and one hidden by a further layer stacked onto the read path (as the
personal-data consent layer will be), stay hidden in each of them."""

from __future__ import annotations

import dataclasses
import json
import threading

import httpx
import pytest
from starlette.testclient import TestClient
from support import FixedAnswer, Receiver, ServerProcess

from toshi.app import create_app
from toshi.auth.apikeys import api_keys_of
from toshi.core.access import CONSENT, Reader

LD = "/ngsi-ld/v1"
DEFAULT = "https://uri.etsi.org/ngsi-ld/default-context/"
TENANT = "city"


class HideEverywhere:
    """A read-path layer hiding one attribute from every reader (stands in for consent)."""

    order = CONSENT

    def __init__(self, name: str):
        self.iri = DEFAULT + name
        self.reads_everything = False

    def guard_for(self, reader: Reader):
        return self

    def readable(self, entity: dict) -> dict | None:
        if self.iri not in entity["attrs"]:
            return entity
        return {**entity, "attrs": {k: v for k, v in entity["attrs"].items() if k != self.iri}}

    def check_write(self, before, after) -> None:
        pass

    def permitted_attrs(self, action: str, entity: dict):
        return None if action != "read" else _Without(self.iri)

    def type_visible(self, type_iri: str) -> bool:
        return True

    def attribute_visible(self, attr_iri: str) -> bool:
        return attr_iri != self.iri


class _Without(frozenset):
    def __contains__(self, name) -> bool:
        return name not in self.hidden

    def __new__(cls, hidden):
        made = super().__new__(cls)
        made.hidden = {hidden}
        return made

    def __bool__(self) -> bool:
        return True


def patient(n: int = 1) -> dict:
    return {"id": f"urn:ngsi-ld:Patient:{n}", "type": "Patient",
            "capacity": {"type": "Property", "value": 3},
            "contact": {"type": "Property", "value": "090-0000-0000"},
            "diagnosis": {"type": "Property", "value": "diabetes"},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [135.49, 34.87]}}}


class Town:
    def __init__(self, client: TestClient):
        self.client = client
        keys = api_keys_of(client.app.state.toshi.store)
        self.admin = self._key(keys, "root", ["*:admin"])
        self.reader = self._key(keys, "reader", [f"{TENANT}:consumer"])
        rule = {"effect": "deny", "principals": ["role:consumer"], "actions": ["read"], "tenant": TENANT,
                "attrs": ["contact"]}
        assert client.post("/admin/auth/policies", json=rule, headers=self.admin).status_code == 201
        client.app.state.toshi.read_path.use([HideEverywhere("diagnosis")])
        r = client.post(f"{LD}/entities", json=patient(), headers={**self.admin, "NGSILD-Tenant": TENANT})
        assert r.status_code == 201, r.text

    @staticmethod
    def _key(keys, name: str, roles: list[str]) -> dict:
        account = keys.create_account(name, roles, ())
        return {"Authorization": f"Bearer {keys.create_key(account['id'])[1]}"}

    def ld(self) -> dict:
        return {**self.reader, "NGSILD-Tenant": TENANT}

    def v2(self) -> dict:
        return {**self.reader, "Fiware-Service": TENANT}


@pytest.fixture
def town(settings):
    secure = dataclasses.replace(settings, auth=True, outbound_allow="127.0.0.1")
    with TestClient(create_app(secure)) as client:
        yield Town(client)


def assert_hidden(text: str) -> None:
    assert "capacity" in text, text       # the outlet answered with the entity
    assert "contact" not in text, text    # the role rule's attribute
    assert "diagnosis" not in text, text  # the stacked layer's attribute


def test_retrieve(town):
    assert_hidden(town.client.get(f"{LD}/entities/urn:ngsi-ld:Patient:1", headers=town.ld()).text)


def test_query(town):
    assert_hidden(town.client.get(f"{LD}/entities?type=Patient", headers=town.ld()).text)


def test_query_over_a_hidden_attribute_matches_nothing(town):
    r = town.client.get(f"{LD}/entities?type=Patient&q=diagnosis==%22diabetes%22", headers=town.ld())
    assert r.status_code == 200 and r.json() == []


def test_linked_subquery_over_a_hidden_attribute_matches_nothing(town):
    clinic = {"id": "urn:ngsi-ld:Clinic:1", "type": "Clinic",
              "treats": {"type": "Relationship", "object": "urn:ngsi-ld:Patient:1"}}
    created = town.client.post(f"{LD}/entities", json=clinic, headers={**town.admin, "NGSILD-Tenant": TENANT})
    assert created.status_code == 201, created.text
    params = {"type": "Clinic", "join": "inline"}
    seen = town.client.get(f"{LD}/entities", params={**params, "q": "treats{capacity}==3"}, headers=town.ld())
    hidden = town.client.get(f"{LD}/entities", params={**params, "q": 'treats{diagnosis}=="diabetes"'},
                             headers=town.ld())
    assert [e["id"] for e in seen.json()] == ["urn:ngsi-ld:Clinic:1"] and hidden.json() == [], hidden.text


def test_entity_map_over_a_hidden_attribute_names_nothing(town):
    window = {"type": "Patient", "timerel": "after", "timeAt": "2000-01-01T00:00:00Z", "timeproperty": "modifiedAt"}
    for path in (f"{LD}/entityMaps", f"{LD}/temporal/entityMaps"):
        mapped = town.client.get(path, params=window, headers=town.ld()).json()["entityMap"]
        hidden = town.client.get(path, params={**window, "q": 'diagnosis=="diabetes"'}, headers=town.ld())
        assert list(mapped) == ["urn:ngsi-ld:Patient:1"] and hidden.json()["entityMap"] == {}, hidden.text

def test_batch_query(town):
    body = {"type": "Query", "entities": [{"type": "Patient"}]}
    assert_hidden(town.client.post(f"{LD}/entityOperations/query", json=body, headers=town.ld()).text)


def test_geojson(town):
    r = town.client.get(f"{LD}/entities?type=Patient", headers={**town.ld(), "Accept": "application/geo+json"})
    assert r.json()["type"] == "FeatureCollection"
    assert_hidden(r.text)


def test_discovery(town):
    r = town.client.get(f"{LD}/attributes", headers=town.ld())
    assert "capacity" in r.text and "contact" not in r.text and "diagnosis" not in r.text
    r = town.client.get(f"{LD}/types?details=true", headers=town.ld())
    assert "capacity" in r.text and "contact" not in r.text and "diagnosis" not in r.text


def test_temporal_retrieve(town):
    assert_hidden(town.client.get(f"{LD}/temporal/entities/urn:ngsi-ld:Patient:1?timeproperty=modifiedAt", headers=town.ld()).text)


def test_temporal_query(town):
    r = town.client.get(f"{LD}/temporal/entities?type=Patient&timerel=after&timeAt=2000-01-01T00:00:00Z&timeproperty=modifiedAt",
                        headers=town.ld())
    assert_hidden(r.text)


def test_v2_retrieve_list_and_op_query(town):
    c = town.client
    assert_hidden(c.get("/v2/entities/urn:ngsi-ld:Patient:1", headers=town.v2()).text)
    assert_hidden(c.get("/v2/entities?type=Patient", headers=town.v2()).text)
    assert_hidden(c.post("/v2/op/query", json={"entities": [{"idPattern": ".*"}]}, headers=town.v2()).text)


def _notified(town, path: str, subscription: dict, headers: dict) -> str:
    receiver = Receiver()
    try:
        body = json.loads(json.dumps(subscription).replace("RECEIVER", receiver.url))
        r = town.client.post(path, json=body, headers=headers)
        assert r.status_code == 201, r.text
        town.client.patch(f"{LD}/entities/urn:ngsi-ld:Patient:1/attrs",
                          json={"capacity": {"type": "Property", "value": 4}},
                          headers={**town.admin, "NGSILD-Tenant": TENANT})
        got = receiver.wait_for(1)
        assert got, "no notification arrived"
        return json.dumps(got[-1]["body"])
    finally:
        receiver.close()


def test_ngsi_ld_notification(town):
    sub = {"type": "Subscription", "entities": [{"type": "Patient"}],
           "notification": {"endpoint": {"uri": "RECEIVER"}}}
    assert_hidden(_notified(town, f"{LD}/subscriptions", sub, town.ld()))


def test_ngsi_v2_notification(town):
    sub = {"subject": {"entities": [{"idPattern": ".*", "type": "Patient"}]},
           "notification": {"http": {"url": "RECEIVER"}}}
    assert_hidden(_notified(town, "/v2/subscriptions", sub, town.v2()))


def test_v2_answer_forwarded_from_a_context_provider(town):
    provided = [{"id": "urn:ngsi-ld:Patient:1", "type": "Patient",
                 "diagnosis": {"type": "Text", "value": "asthma"},
                 "contact": {"type": "Text", "value": "06-1111-1111"},
                 "ward": {"type": "Text", "value": "east"}}]
    provider = FixedAnswer(json.dumps(provided).encode())
    try:
        reg = {"dataProvided": {"entities": [{"id": "urn:ngsi-ld:Patient:1", "type": "Patient"}],
                                "attrs": ["diagnosis", "contact", "ward"]},
               "provider": {"http": {"url": provider.url + "/v2"}}}
        r = town.client.post("/v2/registrations", json=reg, headers={**town.admin, "Fiware-Service": TENANT})
        assert r.status_code == 201, r.text
        text = town.client.get("/v2/entities/urn:ngsi-ld:Patient:1", headers=town.v2()).text
        assert "ward" in text  # the provider's answer was merged
        assert_hidden(text)
    finally:
        provider.close()


def test_live_stream(tmp_path, capsys):
    """The live stream of a real server, for a reader whose role rule hides an attribute."""
    data = tmp_path / "data"
    admin, reader = _cli_key(data, capsys, "root", "*:admin"), _cli_key(data, capsys, "reader", f"{TENANT}:consumer")
    server = ServerProcess(data, "--auth").start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            rule = {"effect": "deny", "principals": ["role:consumer"], "actions": ["read"], "tenant": TENANT,
                    "attrs": ["contact"]}
            assert http.post("/admin/auth/policies", json=rule, headers=admin).status_code == 201
            events, ready = [], threading.Event()

            def listen():
                with httpx.stream("GET", server.url + f"{LD}/live/entities", params={"type": "Patient"},
                                  headers={**reader, "NGSILD-Tenant": TENANT}, timeout=20) as response:
                    for line in response.iter_lines():
                        if line.startswith(": connected"):
                            ready.set()
                        if line.startswith("data: "):
                            events.append(line[6:])
                            return

            thread = threading.Thread(target=listen, daemon=True)
            thread.start()
            assert ready.wait(10)
            r = http.post(f"{LD}/entities", json=patient(), headers={**admin, "NGSILD-Tenant": TENANT})
            assert r.status_code == 201, r.text
            thread.join(10)
            assert events, "no live event"
            assert "capacity" in events[0] and "contact" not in events[0]
    finally:
        server.stop()


def _cli_key(data_dir, capsys, name: str, role: str) -> dict:
    """An API key made with `toshi key create` (the server not yet running)."""
    from toshi.cli import main

    capsys.readouterr()
    assert main(["key", "create", "--name", name, "--role", role, "--data-dir", str(data_dir)]) == 0
    secret = capsys.readouterr().out.split()[0]
    return {"Authorization": f"Bearer {secret}"}


def test_a_layer_marked_always_applies_with_authentication_off(client):
    layer = HideEverywhere("diagnosis")
    layer.always = True
    client.app.state.toshi.read_path.use([layer])
    assert client.post(f"{LD}/entities", json=patient()).status_code == 201
    text = client.get(f"{LD}/entities/urn:ngsi-ld:Patient:1").text
    assert "capacity" in text and "contact" in text and "diagnosis" not in text
    text = client.post(f"{LD}/entityOperations/query", json={"type": "Query", "entities": [{"type": "Patient"}]}).text
    assert "capacity" in text and "diagnosis" not in text
