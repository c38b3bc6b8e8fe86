

def test_ngsi_ld_reads_a_v2_entity_with_a_plain_id(client):
    assert client.post("/v2/entities", json={"id": "Room1", "type": "Room",
                                             "temperature": {"type": "Number", "value": 21}}).status_code == 201
    got = client.get("/ngsi-ld/v1/entities/Room1")
    assert got.status_code == 200 and got.json()["temperature"]["value"] == 21
    assert client.get("/ngsi-ld/v1/entities/Room2").status_code == 400
