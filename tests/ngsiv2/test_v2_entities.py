"""NGSI-v2 /v2/entities endpoints through the real app (Orion behaviour)."""

from __future__ import annotations

ROOM = {
    "id": "Room1", "type": "Room",
    "temperature": {"value": 23, "type": "Number",
                    "metadata": {"accuracy": {"value": 0.9, "type": "Number"}}},
    "pressure": {"value": 720},
    "name": {"value": "Sala uno"},
}


def create(client, entity: dict, headers=None, params=None):
    response = client.post("/v2/entities", json=entity, headers=headers, params=params)
    assert response.status_code == 201, response.text
    return response


def test_create_and_retrieve(client):
    response = create(client, ROOM)
    assert response.headers["location"] == "/v2/entities/Room1?type=Room"
    got = client.get("/v2/entities/Room1")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/json")
    assert got.json() == {
        "id": "Room1", "type": "Room",
        "temperature": {"type": "Number", "value": 23,
                        "metadata": {"accuracy": {"type": "Number", "value": 0.9}}},
        "pressure": {"type": "Number", "value": 720, "metadata": {}},
        "name": {"type": "Text", "value": "Sala uno", "metadata": {}},
    }


def test_default_type_is_thing_and_types_are_inferred(client):
    create(client, {"id": "X1", "flag": {"value": True}, "data": {"value": {"a": [1]}}, "nothing": {}})
    body = client.get("/v2/entities/X1").json()
    assert body["type"] == "Thing"
    assert body["flag"]["type"] == "Boolean"
    assert body["data"]["type"] == "StructuredValue"
    assert body["nothing"] == {"type": "None", "value": None, "metadata": {}}


def test_create_existing_is_422(client):
    create(client, ROOM)
    again = client.post("/v2/entities", json=ROOM)
    assert again.status_code == 422
    assert again.json() == {"error": "Unprocessable", "description": "Already Exists"}


def test_upsert(client):
    create(client, ROOM)
    response = client.post("/v2/entities?options=upsert", json={"id": "Room1", "type": "Room",
                                                                 "temperature": {"value": 30}})
    assert response.status_code == 204
    assert response.headers["location"] == "/v2/entities/Room1?type=Room"
    body = client.get("/v2/entities/Room1").json()
    assert body["temperature"]["value"] == 30
    assert body["temperature"]["metadata"] == {"accuracy": {"type": "Number", "value": 0.9}}  # kept
    assert body["pressure"]["value"] == 720


def test_upsert_of_a_new_entity_answers_204(client):
    response = client.post("/v2/entities?options=upsert", json={"id": "New1", "type": "Room",
                                                                 "temperature": {"value": 30}})
    assert response.status_code == 204
    assert response.headers["location"] == "/v2/entities/New1?type=Room"
    assert client.get("/v2/entities/New1").json()["temperature"]["value"] == 30


def test_key_values_create_and_read(client):
    create(client, {"id": "C1", "type": "Car", "speed": 80, "brand": "Toyota"}, params={"options": "keyValues"})
    assert client.get("/v2/entities/C1?options=keyValues").json() == {
        "id": "C1", "type": "Car", "speed": 80, "brand": "Toyota"}
    assert client.get("/v2/entities/C1?options=values&attrs=brand,speed").json() == ["Toyota", 80]
    assert client.get("/v2/entities/C1/attrs?options=keyValues").json() == {"speed": 80, "brand": "Toyota"}


def test_not_found_and_type_mismatch(client):
    create(client, ROOM)
    missing = {"error": "NotFound", "description": "The requested entity has not been found. Check type and id"}
    assert client.get("/v2/entities/Nope").json() == missing
    wrong_type = client.get("/v2/entities/Room1?type=Car")
    assert wrong_type.status_code == 404 and wrong_type.json() == missing
    assert client.get("/v2/entities/Room1?type=Room").status_code == 200


def test_invalid_payloads(client):
    bad_id = client.post("/v2/entities", json={"id": "a b", "type": "T"})
    assert bad_id.status_code == 400 and bad_id.json()["error"] == "BadRequest"
    assert "Invalid characters in entity id" in bad_id.json()["description"]
    assert client.post("/v2/entities", json={"id": "x" * 257}).status_code == 400
    assert client.post("/v2/entities", json={"id": "A", "type": "T(1)"}).status_code == 400
    bad_value = client.post("/v2/entities", json={"id": "A", "v": {"value": "<script>"}})
    assert bad_value.json() == {"error": "BadRequest", "description": "Invalid characters in attribute value"}
    unrestricted = {"id": "A", "v": {"value": "a=b", "type": "TextUnrestricted"}}
    assert client.post("/v2/entities", json=unrestricted).status_code == 201
    assert client.post("/v2/entities", json={"id": "B", "v": 1}).status_code == 400  # not keyValues
    assert client.post("/v2/entities", json={"id": "B", "v": {"value": 1, "foo": 2}}).status_code == 400
    assert client.post("/v2/entities", json={"id": "B", "id ": 1}).status_code == 400


def test_http_level_errors(client):
    parse = client.post("/v2/entities", content=b"{nope", headers={"Content-Type": "application/json"})
    assert parse.status_code == 400 and parse.json()["error"] == "ParseError"
    media = client.post("/v2/entities", content=b"<a/>", headers={"Content-Type": "text/xml"})
    assert media.status_code == 415 and media.json()["error"] == "UnsupportedMediaType"
    empty = client.post("/v2/entities", content=b"", headers={"Content-Type": "application/json"})
    assert empty.status_code == 411 and empty.json()["error"] == "ContentLengthRequired"
    big = client.post("/v2/entities", content=b"[" + b"1," * 600_000 + b"1]",
                      headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and big.json()["error"] == "RequestEntityTooLarge"
    method = client.delete("/v2/entities")
    assert method.status_code == 405 and method.json()["error"] == "MethodNotAllowed"  # Orion's, not the manual's typo
    assert client.get("/v2/nothing-here").status_code == 400
    assert client.get("/v2/entities", headers={"Accept": "text/xml"}).status_code == 406
    assert client.get("/v2/entities?options=bogus").json() == {
        "error": "BadRequest", "description": "Invalid value for URI param /options/"}


def test_delete_entity(client):
    create(client, ROOM)
    assert client.delete("/v2/entities/Room1?type=Car").status_code == 404
    assert client.delete("/v2/entities/Room1").status_code == 204
    assert client.get("/v2/entities/Room1").status_code == 404
    assert client.delete("/v2/entities/Room1").status_code == 404


def test_post_attrs_update_or_append_and_strict(client):
    create(client, ROOM)
    assert client.post("/v2/entities/Room1/attrs", json={"temperature": {"value": 25},
                                                          "humidity": {"value": 40}}).status_code == 204
    body = client.get("/v2/entities/Room1/attrs?options=keyValues").json()
    assert body["temperature"] == 25 and body["humidity"] == 40
    strict = client.post("/v2/entities/Room1/attrs?options=append", json={"humidity": {"value": 1},
                                                                            "noise": {"value": 3}})
    assert strict.status_code == 422 and strict.json() == {"error": "PartialUpdate", "description": "one or more of the attributes in the request already exist: Room1 - [ humidity ]"}
    assert "humidity" in strict.json()["description"]
    body = client.get("/v2/entities/Room1?options=keyValues").json()
    assert body["humidity"] == 40 and body["noise"] == 3  # the new one was appended
    assert client.post("/v2/entities/Nope/attrs", json={"a": {"value": 1}}).status_code == 404


def test_patch_attrs(client):
    create(client, ROOM)
    assert client.patch("/v2/entities/Room1/attrs", json={"temperature": {"value": 26}}).status_code == 204
    assert client.get("/v2/entities/Room1/attrs/temperature").json()["value"] == 26
    missing = client.patch("/v2/entities/Room1/attrs", json={"nope": {"value": 1}})
    assert missing.status_code == 422 and "nope" in missing.json()["description"]
    assert "nope" not in client.get("/v2/entities/Room1").json()
    assert client.patch("/v2/entities/Room1/attrs?options=keyValues", json={"pressure": 700}).status_code == 204
    assert client.get("/v2/entities/Room1?options=keyValues").json()["pressure"] == 700


def test_put_attrs_replaces_all(client):
    create(client, ROOM)
    assert client.put("/v2/entities/Room1/attrs", json={"only": {"value": 1}}).status_code == 204
    assert client.get("/v2/entities/Room1").json() == {
        "id": "Room1", "type": "Room", "only": {"type": "Number", "value": 1, "metadata": {}}}


def test_single_attribute(client):
    create(client, ROOM)
    got = client.get("/v2/entities/Room1/attrs/temperature")
    assert got.json() == {"type": "Number", "value": 23, "metadata": {"accuracy": {"type": "Number", "value": 0.9}}}
    missing = client.get("/v2/entities/Room1/attrs/nope")
    assert missing.status_code == 404
    assert missing.json() == {"error": "NotFound", "description": "The entity does not have such an attribute"}
    put = client.put("/v2/entities/Room1/attrs/temperature", json={"value": 19, "type": "Celsius"})
    assert put.status_code == 204
    assert client.get("/v2/entities/Room1/attrs/temperature").json()["type"] == "Celsius"
    assert client.put("/v2/entities/Room1/attrs/nope", json={"value": 1}).status_code == 404
    assert client.delete("/v2/entities/Room1/attrs/temperature").status_code == 204
    assert client.delete("/v2/entities/Room1/attrs/temperature").status_code == 404
    assert "temperature" not in client.get("/v2/entities/Room1").json()


def test_attribute_value_text_and_json(client):
    create(client, {"id": "R", "type": "Room", "name": {"value": "Sala"}, "t": {"value": 21.5},
                    "address": {"value": {"city": "Toyono"}}})
    text = client.get("/v2/entities/R/attrs/name/value", headers={"Accept": "text/plain"})
    assert text.headers["content-type"].startswith("text/plain") and text.text == '"Sala"'
    assert client.get("/v2/entities/R/attrs/t/value").text == "21.5"
    assert client.get("/v2/entities/R/attrs/name/value", headers={"Accept": "application/json"}).status_code == 406
    structured = client.get("/v2/entities/R/attrs/address/value", headers={"Accept": "application/json"})
    assert structured.json() == {"city": "Toyono"}
    plain = {"Content-Type": "text/plain"}
    assert client.put("/v2/entities/R/attrs/t/value", content=b"22", headers=plain).status_code == 204
    assert client.put("/v2/entities/R/attrs/name/value", content=b'"Hall"', headers=plain).status_code == 204
    assert client.put("/v2/entities/R/attrs/address/value", json={"city": "Ikeda"}).status_code == 204
    assert client.put("/v2/entities/R/attrs/t/value", content=b"warm", headers=plain).status_code == 400
    assert client.get("/v2/entities/R?options=keyValues").json() == {
        "id": "R", "type": "Room", "name": "Hall", "t": 22, "address": {"city": "Ikeda"}}
    assert client.put("/v2/entities/R/attrs/t/value", content=b"true", headers=plain).status_code == 204
    assert client.get("/v2/entities/R/attrs/t").json()["type"] == "Number"  # the type is kept


def test_a_text_number_with_an_exponent_is_a_number_shown_as_orion_shows_it(client):
    create(client, {"id": "R", "type": "Room", "t": {"value": 1}})
    plain = {"Content-Type": "text/plain"}
    assert client.put("/v2/entities/R/attrs/t/value", content=b"1e3", headers=plain).status_code == 204
    assert client.get("/v2/entities/R/attrs/t/value").text == "1000"


def test_a_text_value_that_is_no_finite_number_is_refused_and_nothing_written(client):
    create(client, {"id": "R", "type": "Room", "t": {"value": 1}})
    for text in (b"nan", b"inf", b"-Infinity"):
        response = client.put("/v2/entities/R/attrs/t/value", content=text, headers={"Content-Type": "text/plain"})
        assert (response.status_code, response.json()) == (400, {"error": "BadRequest",
                                                                 "description": "attribute value type not recognized"})
    assert client.get("/v2/entities/R/attrs/t/value").text == "1"


def test_sys_attrs(client):
    create(client, ROOM)
    body = client.get("/v2/entities/Room1?attrs=dateCreated,dateModified,*").json()
    assert body["dateCreated"]["type"] == "DateTime"
    assert body["dateModified"]["value"] >= body["dateCreated"]["value"]
    assert "temperature" in body
    only = client.get("/v2/entities/Room1?attrs=dateModified").json()
    assert set(only) == {"id", "type", "dateModified"}
    meta = client.get("/v2/entities/Room1/attrs/temperature?metadata=dateCreated,*").json()["metadata"]
    assert set(meta) == {"dateCreated", "accuracy"}


def test_entry_point(client):
    assert client.get("/v2").json()["entities_url"] == "/v2/entities"
