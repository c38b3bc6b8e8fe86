"""Add Attributes to Temporal Evolution of an Entity (ETSI GS CIM 009 v1.9.1 5.6.12) with a payload naming
nothing to add (`{}`, or an @context alone): 400 BadRequestData, the history unchanged, as the entity
API answers an empty append (tests/ngsild/test_ld_empty_payloads.py)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, module_settings

from toshi.app import create_app

BASE = "/ngsi-ld/v1/temporal/entities"
SENSOR = "urn:ngsi-ld:Sensor:1"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
HISTORY = {"id": SENSOR, "type": "Sensor",
           "temperature": [{"type": "Property", "value": 20, "observedAt": "2026-05-01T10:00:00Z"}]}


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "tempempty")
    with TestClient(create_app(settings)) as test_client:
        assert test_client.post(BASE, json=HISTORY).status_code == 201
        yield test_client


@pytest.mark.parametrize("ld", [False, True])
def test_an_empty_append_is_bad_request_data_and_changes_nothing(client, ld):
    before = client.get(f"{BASE}/{SENSOR}", params={"options": "sysAttrs"}).json()
    body, headers = ({"@context": CORE}, {"Content-Type": "application/ld+json"}) if ld else ({}, {})
    response = client.post(f"{BASE}/{SENSOR}/attrs", json=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["type"].endswith("BadRequestData")
    assert client.get(f"{BASE}/{SENSOR}", params={"options": "sysAttrs"}).json() == before
