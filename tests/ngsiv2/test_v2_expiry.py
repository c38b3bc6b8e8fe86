"""Transient entities (Orion's dateExpires): set, render on request, hidden once expired, swept."""

from __future__ import annotations

import asyncio

from toshi.ngsiv2.expiry import sweep_expired, sweep_once

PAST = "2000-01-01T00:00:00.000Z"
FUTURE = "2999-01-01T00:00:00.000Z"


def make(client, entity_id: str, expires: str, headers=None):
    body = {"id": entity_id, "type": "Car", "speed": {"value": 1},
            "dateExpires": {"type": "DateTime", "value": expires}}
    response = client.post("/v2/entities", json=body, headers=headers)
    assert response.status_code == 201, response.text


def test_date_expires_is_rendered_only_when_asked(client):
    make(client, "Car1", FUTURE)
    assert "dateExpires" not in client.get("/v2/entities/Car1").json()
    body = client.get("/v2/entities/Car1", params={"attrs": "*,dateExpires"}).json()
    assert body["dateExpires"] == {"type": "DateTime", "value": FUTURE, "metadata": {}}
    assert body["speed"]["value"] == 1
    listed = client.get("/v2/entities", params={"attrs": "dateExpires", "options": "keyValues"}).json()
    assert listed == [{"id": "Car1", "type": "Car", "dateExpires": FUTURE}]


def test_update_and_delete_date_expires(client):
    make(client, "Car1", FUTURE)
    later = "2998-05-05T00:00:00.000Z"
    response = client.patch("/v2/entities/Car1/attrs", json={"dateExpires": {"type": "DateTime", "value": later}})
    assert response.status_code == 204, response.text
    assert client.get("/v2/entities/Car1/attrs/dateExpires").json()["value"] == later
    assert client.delete("/v2/entities/Car1/attrs/dateExpires").status_code == 204
    assert client.get("/v2/entities/Car1", params={"attrs": "dateExpires"}).json() == {"id": "Car1", "type": "Car"}
    # added to an entity that had none (keyValues)
    response = client.post("/v2/entities/Car1/attrs", params={"options": "keyValues"}, json={"dateExpires": PAST})
    assert response.status_code == 204, response.text
    assert client.get("/v2/entities/Car1").status_code == 404


def test_invalid_date_expires_is_400(client):
    for bad in ({"type": "DateTime", "value": "tomorrow"}, {"type": "Text", "value": FUTURE},
                {"type": "DateTime", "value": 12}):
        response = client.post("/v2/entities", json={"id": "Car9", "type": "Car", "dateExpires": bad})
        assert response.status_code == 400, bad
        assert response.json() == {"error": "BadRequest", "description": "date has invalid format"}


def test_expired_entities_are_hidden_from_both_apis(client):
    make(client, "urn:ngsi-ld:Car:old", PAST)
    make(client, "urn:ngsi-ld:Car:new", FUTURE)
    ids = [e["id"] for e in client.get("/v2/entities").json()]
    assert ids == ["urn:ngsi-ld:Car:new"]
    assert client.get("/v2/entities", params={"options": "count"}).headers["Fiware-Total-Count"] == "1"
    assert client.get("/v2/entities/urn:ngsi-ld:Car:old").status_code == 404
    assert client.get("/v2/entities/urn:ngsi-ld:Car:old/attrs/speed").status_code == 404
    assert client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Car:old").status_code == 404
    ld = client.get("/ngsi-ld/v1/entities", params={"type": "Car"}).json()
    assert [e["id"] for e in ld] == ["urn:ngsi-ld:Car:new"]


def test_sweeper_deletes_expired_entities_through_the_writer(client):
    tenant = {"Fiware-Service": "town"}
    make(client, "Old1", PAST)
    make(client, "Old2", PAST, headers=tenant)
    make(client, "New1", FUTURE)
    services = client.app.state.toshi
    assert client.portal.call(sweep_once, services) == 2
    assert client.portal.call(sweep_once, services) == 0
    store_get = services.store.get_entity
    assert client.portal.call(store_get, "", "Old1") is None
    assert client.portal.call(store_get, "town", "Old2") is None
    assert client.portal.call(store_get, "", "New1") is not None


def test_sweep_expired_runs_periodically_and_stops_when_cancelled(client):
    make(client, "Old1", PAST)
    services = client.app.state.toshi

    async def run():
        task = asyncio.create_task(sweep_expired(services, 0.01))
        for _ in range(200):
            if await services.store.get_entity("", "Old1") is None:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        return await services.store.get_entity("", "Old1")

    assert client.portal.call(run) is None
