"""Batch operations and discovery endpoints through the real app."""

from __future__ import annotations

from support import error_type

OPS = "/ngsi-ld/v1/entityOperations"


def bus(n: int, speed: float = 30.0) -> dict:
    return {"id": f"urn:ngsi-ld:Bus:{n}", "type": "Bus",
            "speed": {"type": "Property", "value": speed},
            "route": {"type": "Relationship", "object": "urn:ngsi-ld:Route:A"}}


def test_batch_create_partial_failure(client):
    assert client.post(OPS + "/create", json=[bus(1)]).status_code == 201
    response = client.post(OPS + "/create", json=[bus(1), bus(2), {"id": "bad id", "type": "Bus"}, bus(3)])
    assert response.status_code == 207
    body = response.json()
    assert body["success"] == ["urn:ngsi-ld:Bus:2", "urn:ngsi-ld:Bus:3"]
    errors = {e["entityId"]: e["error"]["type"].rsplit("/", 1)[1] for e in body["errors"]}
    assert errors == {"urn:ngsi-ld:Bus:1": "AlreadyExists", "bad id": "BadRequestData"}
    assert client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Bus:3").status_code == 200


def test_batch_create_success_lists_ids(client):
    response = client.post(OPS + "/create", json=[bus(1), bus(2)])
    assert response.status_code == 201
    assert response.json() == ["urn:ngsi-ld:Bus:1", "urn:ngsi-ld:Bus:2"]


def test_batch_upsert_replace_and_update(client):
    client.post(OPS + "/create", json=[bus(1)])
    response = client.post(OPS + "/upsert", json=[bus(1, 50.0), bus(2)])
    assert response.status_code == 201
    assert response.json() == ["urn:ngsi-ld:Bus:2"]
    # replace (default): attributes not in the payload disappear
    response = client.post(OPS + "/upsert", json=[{"id": "urn:ngsi-ld:Bus:1", "type": "Bus",
                                                    "driver": {"type": "Property", "value": "Sato"}}])
    assert response.status_code == 204
    assert "speed" not in client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Bus:1").json()
    # update: attributes merged in
    response = client.post(OPS + "/upsert", params={"options": "update"}, json=[bus(1, 10.0)])
    assert response.status_code == 204
    body = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Bus:1").json()
    assert body["driver"]["value"] == "Sato" and body["speed"]["value"] == 10.0


def test_batch_update(client):
    client.post(OPS + "/create", json=[bus(1), bus(2)])
    response = client.post(OPS + "/update", json=[
        {"id": "urn:ngsi-ld:Bus:1", "speed": {"type": "Property", "value": 5}},
        {"id": "urn:ngsi-ld:Bus:9", "speed": {"type": "Property", "value": 5}}])
    assert response.status_code == 207
    assert response.json()["success"] == ["urn:ngsi-ld:Bus:1"]
    assert response.json()["errors"][0]["entityId"] == "urn:ngsi-ld:Bus:9"
    response = client.post(OPS + "/update", params={"options": "noOverwrite"},
                           json=[{"id": "urn:ngsi-ld:Bus:2", "speed": {"type": "Property", "value": 99}}])
    assert response.status_code == 204
    assert client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Bus:2").json()["speed"]["value"] == 30.0


def test_batch_delete(client):
    client.post(OPS + "/create", json=[bus(1), bus(2)])
    assert client.post(OPS + "/delete", json=["urn:ngsi-ld:Bus:1"]).status_code == 204
    response = client.post(OPS + "/delete", json=["urn:ngsi-ld:Bus:2", "urn:ngsi-ld:Bus:1"])
    assert response.status_code == 207
    assert response.json()["success"] == ["urn:ngsi-ld:Bus:2"]
    assert error_type_of(response.json()["errors"][0]) == "ResourceNotFound"


def error_type_of(item: dict) -> str:
    return item["error"]["type"].rsplit("/", 1)[1]


def test_batch_rejects_non_arrays(client):
    response = client.post(OPS + "/create", json={"id": "urn:ngsi-ld:Bus:1"})
    assert response.status_code == 400
    assert error_type(response) == "BadRequestData"
    assert client.post(OPS + "/create", json=[]).status_code == 400


def test_types_and_attributes(client):
    client.post(OPS + "/create", json=[bus(1), bus(2), {"id": "urn:ngsi-ld:Stop:1", "type": "BusStop",
                                                         "name": {"type": "Property", "value": "Toyono"}}])
    types = client.get("/ngsi-ld/v1/types").json()
    assert types["type"] == "EntityTypeList" and types["typeList"] == ["Bus", "BusStop"]
    details = client.get("/ngsi-ld/v1/types", params={"details": "true"}).json()
    assert {"id": "https://uri.etsi.org/ngsi-ld/default-context/Bus", "type": "EntityType", "typeName": "Bus",
            "attributeNames": ["route", "speed"]} in details
    info = client.get("/ngsi-ld/v1/types/Bus").json()
    assert info["entityCount"] == 2 and info["typeName"] == "Bus"
    assert {"id": "https://uri.etsi.org/ngsi-ld/default-context/route", "type": "Attribute",
            "attributeName": "route", "attributeTypes": ["Relationship"]} in info["attributeDetails"]
    assert client.get("/ngsi-ld/v1/types/Nothing").status_code == 404
    attributes = client.get("/ngsi-ld/v1/attributes").json()
    assert attributes["attributeList"] == ["name", "route", "speed"]
    speed = client.get("/ngsi-ld/v1/attributes/speed").json()
    assert speed["attributeCount"] == 2 and speed["typeNames"] == ["Bus"]
    assert speed["attributeTypes"] == ["Property"]
    assert client.get("/ngsi-ld/v1/attributes/nothing").status_code == 404
    listed = client.get("/ngsi-ld/v1/attributes", params={"details": "true"}).json()
    assert {a["attributeName"] for a in listed} == {"name", "route", "speed"}


def test_unknown_route_and_method(client):
    response = client.get("/ngsi-ld/v1/nothing-here")
    assert response.status_code == 404
    assert error_type(response) == "ResourceNotFound"
    assert client.put("/ngsi-ld/v1/entities").status_code == 405  # (DELETE /entities is Purge Entities)
