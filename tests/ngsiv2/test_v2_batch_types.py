"""POST /v2/op/update (all action types), /v2/types, /version."""

from __future__ import annotations


def op(client, action: str, entities: list, params=None):
    return client.post("/v2/op/update", json={"actionType": action, "entities": entities}, params=params)


def kv(client, entity_id: str) -> dict:
    return client.get(f"/v2/entities/{entity_id}?options=keyValues").json()


def test_append_creates_and_updates(client):
    assert op(client, "append", [{"id": "A", "type": "T", "x": {"value": 1}},
                                 {"id": "B", "type": "T", "x": {"value": 2}}]).status_code == 204
    assert op(client, "append", [{"id": "A", "type": "T", "y": 5}], {"options": "keyValues"}).status_code == 204
    assert kv(client, "A") == {"id": "A", "type": "T", "x": 1, "y": 5}
    assert kv(client, "B")["x"] == 2


def test_append_strict(client):
    op(client, "append", [{"id": "A", "type": "T", "x": {"value": 1}}])
    response = op(client, "appendStrict", [{"id": "A", "type": "T", "x": {"value": 9}, "z": {"value": 3}}])
    assert response.status_code == 422
    assert kv(client, "A") == {"id": "A", "type": "T", "x": 1, "z": 3}


def test_update_replace_delete(client):
    op(client, "append", [{"id": "A", "type": "T", "x": {"value": 1}, "y": {"value": 2}}])
    assert op(client, "update", [{"id": "A", "type": "T", "x": {"value": 10}}]).status_code == 204
    assert kv(client, "A")["x"] == 10
    missing = op(client, "update", [{"id": "Nope", "x": {"value": 1}}])
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"
    assert op(client, "replace", [{"id": "A", "w": {"value": 0}}]).status_code == 204
    assert kv(client, "A") == {"id": "A", "type": "T", "w": 0}
    assert op(client, "delete", [{"id": "A", "w": {}}]).status_code == 204
    assert kv(client, "A") == {"id": "A", "type": "T"}
    assert op(client, "delete", [{"id": "A"}]).status_code == 204
    assert client.get("/v2/entities/A").status_code == 404


def test_partial_update(client):
    op(client, "append", [{"id": "A", "type": "T", "x": {"value": 1}}])
    response = op(client, "update", [{"id": "A", "x": {"value": 2}}, {"id": "Nope", "x": {"value": 2}}])
    assert response.status_code == 422 and response.json()["error"] == "PartialUpdate"
    assert kv(client, "A")["x"] == 2


def test_bad_batches(client):
    assert op(client, "explode", [{"id": "A"}]).status_code == 400
    assert op(client, "append", []).status_code == 400
    assert client.post("/v2/op/update", json=[]).status_code == 400


def test_types(client):
    op(client, "append", [
        {"id": "R1", "type": "Room", "t": {"value": 1}, "loc": {"type": "geo:point", "value": "34.8, 135.4"}},
        {"id": "R2", "type": "Room", "t": {"value": "hot"}},
        {"id": "C1", "type": "Car", "speed": {"value": 3}},
    ])
    listed = client.get("/v2/types?options=count")
    assert listed.headers["Fiware-Total-Count"] == "2"
    assert listed.json() == [
        {"type": "Car", "attrs": {"speed": {"types": ["Number"]}}, "count": 1},
        {"type": "Room", "attrs": {"loc": {"types": ["geo:point"]}, "t": {"types": ["Number", "Text"]}},
         "count": 2},
    ]
    assert client.get("/v2/types?options=values").json() == ["Car", "Room"]
    assert client.get("/v2/types/Room").json()["count"] == 2
    missing = client.get("/v2/types/Boat")
    assert missing.status_code == 404 and missing.json() == {"error": "NotFound", "description": "Entity type not found"}


def test_version_has_orion_and_toshi(client):
    body = client.get("/version").json()
    assert body["orion"]["version"].count(".") == 2
    assert "uptime" in body["orion"]
    assert "version" in body["toshi"]
