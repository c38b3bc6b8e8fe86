"""The request gate asks the features' declarations which right a request needs (toshi/core/feature.py
`Feature.actions`), most specific rule first."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.auth.gate import action_of
from toshi.core.feature import Action
from toshi.features import FEATURES

RULES = [action for feature in FEATURES for action in feature.actions]
IOT = {"Fiware-Service": "city", "Fiware-ServicePath": "/"}


@pytest.mark.parametrize(("method", "path", "action"), [
    ("GET", "/ngsi-ld/v1/entities", "read"),
    ("POST", "/ngsi-ld/v1/entities", "create"),
    ("POST", "/ngsi-ld/v1/entities/urn:x/attrs", "update"),
    ("DELETE", "/ngsi-ld/v1/entities/urn:x", "delete"),
    ("POST", "/ngsi-ld/v1/entityOperations/query", "read"),
    ("POST", "/ngsi-ld/v1/entityOperations/delete", "delete"),
    ("POST", "/ngsi-ld/v1/subscriptions", "subscribe"),
    ("GET", "/ngsi-ld/v1/subscriptions", "read"),
    ("POST", "/v2/entities", "create"),
    ("POST", "/v2/op/query", "read"),
    ("PATCH", "/v2/subscriptions/abc", "subscribe"),
    ("GET", "/ngsi-ld/v1/jsonldContexts/x", None),
    ("POST", "/ngsi-ld/v1/jsonldContexts", "admin"),
    ("GET", "/version", None),
    ("GET", "/.well-known/jwks.json", None),
    ("POST", "/iot/d", None),
    ("POST", "/iot/json/cmdexe", None),
    ("POST", "/iot/devices", "admin"),
    ("GET", "/iot/services", "admin"),
    ("GET", "/admin/notifications/status", "admin"),
])
def test_action_of_each_request(method, path, action):
    assert action_of(RULES, method, path) == action


def test_the_most_specific_rule_wins():
    rules = [Action("/a/", "admin"), Action("/a/b", None, exact=True)]
    assert action_of(rules, "POST", "/a/b") is None
    assert action_of(rules, "POST", "/a/bc") == "admin"
    assert action_of(rules, "POST", "/elsewhere") == "update"


def test_device_provisioning_needs_credentials(settings):
    """A prefix check once made /iot/devices public as if it were the southbound /iot/d."""
    with TestClient(create_app(dataclasses.replace(settings, auth=True))) as client:
        device = {"devices": [{"device_id": "x", "entity_type": "T", "protocol": "PDI-IoTA-UltraLight"}]}
        assert client.post("/iot/devices", json=device, headers=IOT).status_code == 401
        assert client.get("/iot/devices", headers=IOT).status_code == 401
        assert client.get("/iot/about").status_code == 200
        assert client.post("/iot/d?k=nokey&i=x", content="t|1").status_code != 401  # devices: their apikey


def test_a_device_writes_through_the_public_southbound_with_authentication_on(settings):
    """Devices identify with their apikey: the gate lets them through, the role rules do not refuse them."""
    from toshi.auth.apikeys import api_keys_of

    with TestClient(create_app(dataclasses.replace(settings, auth=True))) as client:
        keys = api_keys_of(client.app.state.toshi.store)
        admin = {"Authorization": f"Bearer {keys.create_key(keys.create_account('root', ['*:admin'], ())['id'])[1]}"}
        group = {"services": [{"apikey": "gauges", "resource": "/iot/d", "entity_type": "RiverGauge",
                               "attributes": [{"object_id": "l", "name": "level", "type": "Number"}]}]}
        assert client.post("/iot/services", json=group, headers={**IOT, **admin}).status_code == 201
        assert client.post("/iot/d?k=gauges&i=g1", content="l|3.5").status_code == 200
        r = client.get("/v2/entities?type=RiverGauge&options=keyValues", headers={**admin, "Fiware-Service": "city"})
        assert [e["level"] for e in r.json()] == [3.5]
