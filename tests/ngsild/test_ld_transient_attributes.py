"""Transient attributes (ETSI GS CIM 009 v1.9.1 clause 4.22): an attribute instance carrying `expiresAt`
(a DateTime, a system member like createdAt) is gone at that instant: retrieve and query leave it out at
once, and it is removed through the write path soon after; the entity and its other attributes stay."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, error_type, module_settings

from toshi.app import create_app
from toshi.core.times import in_seconds

ENTITIES = "/ngsi-ld/v1/entities"
LATER = "2099-01-01T00:00:00Z"


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "transient-attrs")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def beacon(client, n: int, expires_at: str) -> str:
    """A Beacon whose `signal` expires at `expires_at` and whose `battery` does not."""
    entity_id = f"urn:ngsi-ld:Beacon:{n}"
    client.delete(f"{ENTITIES}/{entity_id}")
    body = {"id": entity_id, "type": "Beacon", "battery": {"type": "Property", "value": 80},
            "signal": {"type": "Property", "value": -60, "expiresAt": expires_at}}
    assert client.post(ENTITIES, json=body).status_code == 201
    return entity_id


def test_expires_at_of_an_attribute_is_shown_only_with_sys_attrs(client):
    entity_id = beacon(client, 1, LATER)
    assert client.get(f"{ENTITIES}/{entity_id}").json()["signal"] == {"type": "Property", "value": -60}
    shown = client.get(f"{ENTITIES}/{entity_id}", params={"options": "sysAttrs"}).json()
    assert shown["signal"]["expiresAt"] == LATER


def test_an_expired_attribute_is_not_retrieved(client):
    entity_id = beacon(client, 2, in_seconds(-1))
    found = client.get(f"{ENTITIES}/{entity_id}")
    assert found.status_code == 200
    assert "signal" not in found.json() and found.json()["battery"]["value"] == 80


def test_an_expired_attribute_is_not_in_a_query(client):
    entity_id = beacon(client, 3, in_seconds(-1))
    found = client.get(ENTITIES, params={"id": entity_id, "local": "true"}).json()
    assert [sorted(e) for e in found] == [["battery", "id", "type"]]


def test_the_sweeper_removes_an_expired_attribute_through_the_writer(client):
    entity_id = beacon(client, 4, in_seconds(-1))
    assert client.portal.call(client.app.state.ngsild.transients.sweep_once) >= 1
    stored = client.portal.call(client.app.state.toshi.store.get_entity, "", entity_id)
    assert list(stored["attrs"]) == ["https://uri.etsi.org/ngsi-ld/default-context/battery"]


def test_the_sweeper_leaves_an_attribute_that_has_not_expired(client):
    entity_id = beacon(client, 5, LATER)
    client.portal.call(client.app.state.ngsild.transients.sweep_once)
    shown = client.get(f"{ENTITIES}/{entity_id}", params={"options": "sysAttrs"}).json()
    assert shown["signal"]["expiresAt"] == LATER


def test_an_attribute_expiry_that_is_no_date_time_is_bad_request_data(client):
    body = {"id": "urn:ngsi-ld:Beacon:6", "type": "Beacon", "signal": {"type": "Property", "value": 1, "expiresAt": "soon"}}
    response = client.post(ENTITIES, json=body)
    assert response.status_code == 400 and error_type(response) == "BadRequestData"
    assert client.get(f"{ENTITIES}/urn:ngsi-ld:Beacon:6").status_code == 404


def test_a_partial_update_moves_an_attribute_expiry(client):
    entity_id = beacon(client, 7, in_seconds(3600))
    assert client.patch(f"{ENTITIES}/{entity_id}/attrs/signal", json={"expiresAt": LATER}).status_code == 204
    shown = client.get(f"{ENTITIES}/{entity_id}", params={"options": "sysAttrs"}).json()
    assert shown["signal"]["expiresAt"] == LATER and shown["signal"]["value"] == -60


def test_a_partial_update_of_observed_at_alone_keeps_the_value(client):
    """A partial attribute update merges the fragment's members into the instance (5.6.4): a fragment of
    instance members alone changes those, not the value."""
    entity_id = beacon(client, 8, LATER)
    stamp = "2026-01-01T09:00:00Z"
    assert client.patch(f"{ENTITIES}/{entity_id}/attrs/battery", json={"observedAt": stamp}).status_code == 204
    assert client.get(f"{ENTITIES}/{entity_id}").json()["battery"] == {"type": "Property", "value": 80, "observedAt": stamp}
