"""A write whose payload names nothing to write (`{}`, or an @context alone) is 400 BadRequestData and
changes nothing: append and update attributes, merge-patch, partial attribute update and replace
attribute (Orion-LD's "Payload is an empty JSON object"; an empty PUT used to store `{}` as the value)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, module_settings

from toshi.app import create_app

ENTITIES = "/ngsi-ld/v1/entities"
ROOM = f"{ENTITIES}/urn:ngsi-ld:Room:1"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
STATE = {"id": "urn:ngsi-ld:Room:1", "type": "Room", "temperature": {"type": "Property", "value": 21}}


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "empty")
    with TestClient(create_app(settings)) as test_client:
        assert test_client.post(ENTITIES, json=STATE).status_code == 201
        yield test_client


@pytest.mark.parametrize("method, path", [("POST", f"{ROOM}/attrs"), ("PATCH", f"{ROOM}/attrs"), ("PATCH", ROOM),
                                          ("PATCH", f"{ROOM}/attrs/temperature"),
                                          ("PUT", f"{ROOM}/attrs/temperature")])
@pytest.mark.parametrize("ld", [False, True])
def test_an_empty_payload_is_bad_request_data(client, method, path, ld):
    body, headers = ({"@context": CORE}, {"Content-Type": "application/ld+json"}) if ld else ({}, {})
    response = client.request(method, path, json=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["type"].endswith("BadRequestData")
    assert client.get(ROOM).json() == STATE
