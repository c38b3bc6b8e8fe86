"""A real `toshi serve` process over a socket: durability under kill -9, and a real NGSI-LD client."""

from __future__ import annotations

import httpx


def test_acknowledged_writes_survive_kill_9(server):
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for n in range(200):
            entity = {"id": f"urn:ngsi-ld:Beacon:{n}", "type": "Beacon",
                      "battery": {"type": "Property", "value": n}}
            assert http.post("/ngsi-ld/v1/entities", json=entity).status_code == 201
        patched = http.patch("/ngsi-ld/v1/entities/urn:ngsi-ld:Beacon:7/attrs/battery", json={"value": 777})
        assert patched.status_code == 204
    server.kill()  # no shutdown hook runs: only what was committed before each 201/204 can survive
    server.start()
    with httpx.Client(base_url=server.url, timeout=10) as http:
        response = http.get("/ngsi-ld/v1/entities", params={"type": "Beacon", "count": "true", "limit": 1})
        assert response.headers["NGSILD-Results-Count"] == "200"
        beacon = http.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Beacon:7").json()
        assert beacon["battery"]["value"] == 777


def test_ngsildclient_unmodified(server):
    from ngsildclient import Client, Entity

    port = int(server.url.rsplit(":", 1)[1])
    client = Client(hostname="127.0.0.1", port=port, port_temporal=port)
    room = Entity("Room", "Room:001")
    room.prop("temperature", 21.7, unitcode="CEL")
    room.gprop("location", (34.82, 135.47))
    room.rel("isContainedIn", "Building:Toyono")
    client.create(room)
    fetched = client.get("urn:ngsi-ld:Room:001")
    assert fetched["temperature"]["value"] == 21.7
    room["temperature"].value = 23.4
    client.update(room)
    assert client.get("urn:ngsi-ld:Room:001")["temperature"]["value"] == 23.4
    found = client.query(type="Room", q="temperature>22")
    assert [e["id"] for e in found] == ["urn:ngsi-ld:Room:001"]
    client.delete(room)
    assert not client.exists("urn:ngsi-ld:Room:001")
