"""Transient entities: `expiresAt` (NGSI-LD v1.9): hidden once expired everywhere, deleted through the
write path, shown only with the system attributes."""

from __future__ import annotations

import pytest

from toshi.core.times import in_seconds

ENTITIES = "/ngsi-ld/v1/entities"
BEACON = f"{ENTITIES}/urn:ngsi-ld:Beacon:1"


def beacon(expires_at: str) -> dict:
    return {"id": "urn:ngsi-ld:Beacon:1", "type": "Beacon", "expiresAt": expires_at,
            "battery": {"type": "Property", "value": 80}}


def test_expires_at_is_shown_only_with_sys_attrs(client):
    written = "2099-01-01T00:00:00Z"
    assert client.post(ENTITIES, json=beacon(written)).status_code == 201
    assert "expiresAt" not in client.get(BEACON).json()
    assert client.get(BEACON, params={"options": "sysAttrs"}).json()["expiresAt"] == written


def test_an_expired_entity_is_not_found(client):
    client.post(ENTITIES, json=beacon(in_seconds(-1)))
    assert client.get(BEACON).status_code == 404


def test_an_expired_entity_is_not_in_queries(client):
    client.post(ENTITIES, json=beacon(in_seconds(-1)))
    client.post(ENTITIES, json={**beacon("2099-01-01T00:00:00Z"), "id": "urn:ngsi-ld:Beacon:2"})
    found = client.get(ENTITIES, params={"type": "Beacon"}).json()
    assert [e["id"] for e in found] == ["urn:ngsi-ld:Beacon:2"]


def test_an_expired_entity_is_not_in_the_temporal_api(client):
    client.post(ENTITIES, json=beacon(in_seconds(-1)))
    assert client.get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Beacon:1").status_code == 404


def test_a_merge_patch_extends_the_expiry(client):
    client.post(ENTITIES, json=beacon(in_seconds(3600)))
    extended = "2099-06-01T00:00:00+09:00"
    assert client.patch(BEACON, json={"expiresAt": extended}).status_code == 204
    assert client.get(BEACON, params={"options": "sysAttrs"}).json()["expiresAt"] == extended


def test_an_invalid_expires_at_is_bad_request_data(client):
    response = client.post(ENTITIES, json=beacon("soon"))
    assert response.status_code == 400 and response.json()["type"].endswith("BadRequestData")


def test_the_sweeper_deletes_expired_entities_through_the_writer(client):
    client.post(ENTITIES, json=beacon(in_seconds(-1)))
    transients = client.app.state.ngsild.transients
    assert client.portal.call(transients.sweep_once) == 1
    store = client.app.state.toshi.store
    assert client.portal.call(store.get_entity, "", "urn:ngsi-ld:Beacon:1") is None
    assert client.get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Beacon:1").status_code == 404


def test_a_sweep_whose_write_fails_leaves_the_entity_due_for_the_next_sweep(client, monkeypatch):
    client.post(ENTITIES, json=beacon(in_seconds(-1)))
    transients = client.app.state.ngsild.transients
    writer = transients.services.writer

    async def failing(*_args, **_kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(writer, "apply", failing)
        with pytest.raises(OSError):
            client.portal.call(transients.sweep_once)
    assert client.portal.call(transients.sweep_once) == 1
    store = client.app.state.toshi.store
    assert client.portal.call(store.get_entity, "", "urn:ngsi-ld:Beacon:1") is None
