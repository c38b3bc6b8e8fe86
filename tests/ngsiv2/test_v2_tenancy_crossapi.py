"""Fiware-Service / Fiware-ServicePath and round trips between NGSI-v2 and NGSI-LD over one store."""

from __future__ import annotations

from toshi.jsonld.context import core_context
from toshi.ngsiv2.mapping import parse_attribute, render_attribute

SHELTER = {
    "id": "urn:ngsi-ld:Shelter:toyono-001", "type": "Shelter",
    "capacity": {"type": "Number", "value": 200, "metadata": {"unitCode": {"type": "Text", "value": "C62"}}},
    "occupancy": {"type": "Integer", "value": 35,
                  "metadata": {"TimeInstant": {"type": "DateTime", "value": "2026-11-24T09:00:00.000Z"},
                               "reliability": {"type": "Number", "value": 0.9}}},
    "location": {"type": "geo:point", "value": "34.8687, 135.4937"},
    "managedBy": {"type": "Relationship", "value": "urn:ngsi-ld:Organization:toyono"},
}


def test_v2_entity_read_through_ngsi_ld(client):
    assert client.post("/v2/entities", json=SHELTER).status_code == 201
    ld = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:toyono-001").json()
    assert ld["type"] == "Shelter"
    assert ld["capacity"] == {"type": "Property", "value": 200, "unitCode": "C62"}
    assert ld["occupancy"] == {"type": "Property", "value": 35, "observedAt": "2026-11-24T09:00:00.000Z",
                               "reliability": {"type": "Property", "value": 0.9}}
    assert ld["location"] == {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [135.4937, 34.8687]}}
    zone = {"id": "urn:ngsi-ld:Zone:toyono-001", "type": "Zone",  # one location per entity, as in Orion
            "area": {"type": "geo:json", "value": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}}
    assert client.post("/v2/entities", json=zone).status_code == 201
    assert client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Zone:toyono-001").json()["area"]["type"] == "GeoProperty"
    assert ld["managedBy"] == {"type": "Relationship", "object": "urn:ngsi-ld:Organization:toyono"}
    assert "v2Type" not in str(ld) and "v2Value" not in str(ld)
    # and back through v2, unchanged
    v2 = client.get("/v2/entities/urn:ngsi-ld:Shelter:toyono-001").json()
    assert v2["location"] == {"type": "geo:point", "value": "34.8687, 135.4937", "metadata": {}}
    assert v2["occupancy"]["type"] == "Integer"
    assert v2["occupancy"]["metadata"] == SHELTER["occupancy"]["metadata"]
    assert v2["managedBy"] == {"type": "Relationship", "value": "urn:ngsi-ld:Organization:toyono", "metadata": {}}


def test_ngsi_ld_entity_read_through_v2(client):
    entity = {
        "id": "urn:ngsi-ld:Shelter:002", "type": "Shelter",
        "name": {"type": "Property", "value": "Hall"},
        "occupancy": {"type": "Property", "value": 35, "observedAt": "2026-11-24T09:00:00Z", "unitCode": "C62"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [135.49, 34.86]}},
        "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Org:1"},
    }
    assert client.post("/ngsi-ld/v1/entities", json=entity).status_code == 201
    v2 = client.get("/v2/entities/urn:ngsi-ld:Shelter:002").json()
    assert v2["name"] == {"type": "Text", "value": "Hall", "metadata": {}}
    assert v2["occupancy"] == {"type": "Number", "value": 35, "metadata": {
        "unitCode": {"type": "Text", "value": "C62"},
        "observedAt": {"type": "DateTime", "value": "2026-11-24T09:00:00Z"}}}  # as the LD client wrote it
    assert v2["location"]["type"] == "geo:json"
    assert v2["owner"]["type"] == "Relationship"
    # an LD update is seen by v2, and a v2 update by LD
    client.patch("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:002/attrs/occupancy", json={"value": 50})
    assert client.get("/v2/entities/urn:ngsi-ld:Shelter:002/attrs/occupancy/value").text == "50"
    client.patch("/v2/entities/urn:ngsi-ld:Shelter:002/attrs", json={"occupancy": {"value": 60}})
    ld = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:002").json()
    assert ld["occupancy"]["value"] == 60 and ld["occupancy"]["unitCode"] == "C62"  # metadata kept
    assert client.get("/ngsi-ld/v1/entities?type=Shelter&q=occupancy==60").json()[0]["id"] == entity["id"]


def test_fiware_service_is_the_ngsi_ld_tenant(client):
    headers = {"Fiware-Service": "Toyono"}
    assert client.post("/v2/entities", json={"id": "urn:x:1", "type": "T"}, headers=headers).status_code == 201
    assert client.get("/v2/entities/urn:x:1").status_code == 404
    assert client.get("/v2/entities/urn:x:1", headers={"Fiware-Service": "toyono"}).status_code == 200
    assert client.get("/ngsi-ld/v1/entities/urn:x:1", headers={"NGSILD-Tenant": "toyono"}).status_code == 200
    client.post("/ngsi-ld/v1/entities", json={"id": "urn:x:2", "type": "T"}, headers={"NGSILD-Tenant": "toyono"})
    assert client.get("/v2/entities?type=T", headers=headers).json()[1]["id"] == "urn:x:2"
    bad = client.get("/v2/entities", headers={"Fiware-Service": "a-b"})
    assert bad.status_code == 400 and bad.json()["error"] == "BadRequest"
    assert client.get("/v2/entities", headers={"Fiware-Service": "a" * 51}).status_code == 400


def test_service_path_is_scope(client):
    def create(entity_id: str, path: str | None):
        headers = {"Fiware-ServicePath": path} if path else {}
        response = client.post("/v2/entities", json={"id": entity_id, "type": "T"}, headers=headers)
        assert response.status_code == 201, response.text

    create("urn:x:root", None)
    create("urn:x:shelters", "/Toyono/Shelters")
    create("urn:x:toyono", "/Toyono")
    create("urn:x:ikeda", "/Ikeda")
    ld = client.get("/ngsi-ld/v1/entities/urn:x:shelters").json()
    assert ld["scope"] == "/Toyono/Shelters"
    assert "scope" not in client.get("/ngsi-ld/v1/entities/urn:x:root").json()

    def query(path: str | None) -> list[str]:
        headers = {"Fiware-ServicePath": path} if path else {}
        response = client.get("/v2/entities", headers=headers)
        assert response.status_code == 200, response.text
        return sorted(e["id"] for e in response.json())

    everything = sorted(["urn:x:root", "urn:x:shelters", "urn:x:toyono", "urn:x:ikeda"])
    assert query(None) == everything and query("/#") == everything
    assert query("/") == ["urn:x:root"]
    assert query("/Toyono") == ["urn:x:toyono"]
    assert query("/Toyono/#") == ["urn:x:shelters", "urn:x:toyono"]
    assert query("/Toyono/Shelters, /Ikeda") == ["urn:x:ikeda", "urn:x:shelters"]
    ld_scoped = client.get("/ngsi-ld/v1/entities?type=T&scopeQ=/Toyono/%23").json()
    assert sorted(e["id"] for e in ld_scoped) == ["urn:x:shelters", "urn:x:toyono"]
    in_other_path = client.get("/v2/entities/urn:x:ikeda", headers={"Fiware-ServicePath": "/Toyono"})
    assert in_other_path.status_code == 404


def test_service_path_validation(client):
    def status(path: str, method: str = "get") -> int:
        headers = {"Fiware-ServicePath": path}
        if method == "post":
            return client.post("/v2/entities", json={"id": "A"}, headers=headers).status_code
        return client.get("/v2/entities", headers=headers).status_code

    assert status("relative") == 400
    assert status("/" + "/".join(["a"] * 11)) == 400
    assert status("/" + "a" * 51) == 400
    assert status("/a-b") == 400
    assert status("/a/#", "post") == 400
    assert status("/a,/b", "post") == 400
    assert status("/a,/b") == 200


def test_mapping_round_trip_of_every_simple_location_format():
    ctx = core_context()
    for attr in [
        {"type": "geo:point", "value": "41.3, 2.18"},
        {"type": "geo:line", "value": ["1, 2", "3, 4"]},
        {"type": "geo:box", "value": ["1, 2", "3, 4"]},
        {"type": "geo:polygon", "value": ["0, 0", "0, 1", "1, 1", "0, 0"]},
        {"type": "geo:json", "value": {"type": "Point", "coordinates": [1, 2]}},
        {"type": "Relationship", "value": "urn:a"},
        {"type": "Text", "value": "x"},
        {"type": "Celsius", "value": 3},
    ]:
        inst = parse_attribute(attr, ctx, "2026-01-01T00:00:00.000Z")
        assert render_attribute(inst, ctx) == {**attr, "metadata": {}}
    box = parse_attribute({"type": "geo:box", "value": ["1, 2", "3, 4"]}, ctx, "now")
    assert box["type"] == "GeoProperty" and box["value"]["type"] == "Polygon"
