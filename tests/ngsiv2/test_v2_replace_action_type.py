"""v2 notifications: builtin metadata `actionType` after a replace of all attributes (PUT
/v2/entities/{id}/attrs, op/update `replace`). The manual ("Builtin metadata"): `update` for updates,
`append` for creation; Orion runs a replace through its update path (updateContextAttributeItem),
which marks every written attribute `update`, also one the entity did not have (issue 15)."""

from __future__ import annotations

ROOM = {"id": "urn:ngsi-ld:Room:1", "type": "Room", "temperature": {"value": 20, "type": "Number"}}
UPDATE = {"type": "Text", "value": "update"}


def subscribe(client, url: str) -> None:
    response = client.post("/v2/subscriptions", json={
        "subject": {"entities": [{"idPattern": ".*", "type": "Room"}]},
        "notification": {"http": {"url": url}, "metadata": ["actionType"]}})
    assert response.status_code == 201, response.text


def replaced_entity(client, receiver, write) -> dict:
    """The entity of the notification of `write` (after the creation's)."""
    assert client.post("/v2/entities", json=ROOM).status_code == 201
    subscribe(client, receiver.url)
    response = write()
    assert response.status_code == 204, response.text
    receiver.wait_for(1)
    return receiver.requests[0]["body"]["data"][0]


def test_put_attrs_marks_a_new_attribute_update(fast_client, receiver):
    entity = replaced_entity(fast_client, receiver, lambda: fast_client.put(
        f"/v2/entities/{ROOM['id']}/attrs", json={"humidity": {"value": 60, "type": "Number"}}))
    assert entity == {"id": ROOM["id"], "type": "Room",
                      "humidity": {"type": "Number", "value": 60, "metadata": {"actionType": UPDATE}}}


def test_op_update_replace_marks_new_and_kept_attributes_update(fast_client, receiver):
    entity = replaced_entity(fast_client, receiver, lambda: fast_client.post("/v2/op/update", json={
        "actionType": "replace", "entities": [{"id": ROOM["id"], "type": "Room",
                                               "temperature": {"value": 21, "type": "Number"},
                                               "humidity": {"value": 60, "type": "Number"}}]}))
    assert entity["temperature"]["metadata"] == {"actionType": UPDATE}
    assert entity["humidity"]["metadata"] == {"actionType": UPDATE}


def test_append_after_a_replace_marks_a_new_attribute_append(fast_client, receiver):
    assert fast_client.post("/v2/entities", json=ROOM).status_code == 201
    put = fast_client.put(f"/v2/entities/{ROOM['id']}/attrs", json={"humidity": {"value": 60, "type": "Number"}})
    assert put.status_code == 204, put.text
    subscribe(fast_client, receiver.url)
    response = fast_client.post(f"/v2/entities/{ROOM['id']}/attrs", json={"pressure": {"value": 720, "type": "Number"}})
    assert response.status_code == 204, response.text
    receiver.wait_for(1)
    entity = receiver.requests[0]["body"]["data"][0]
    assert entity["pressure"]["metadata"] == {"actionType": {"type": "Text", "value": "append"}}


def test_replace_mark_is_invisible(fast_client):
    assert fast_client.post("/v2/entities", json=ROOM).status_code == 201
    put = fast_client.put(f"/v2/entities/{ROOM['id']}/attrs", json={"humidity": {"value": 60, "type": "Number"}})
    assert put.status_code == 204, put.text
    assert set(fast_client.get(f"/v2/entities/{ROOM['id']}").json()) == {"id", "type", "humidity"}
    assert set(fast_client.get(f"/ngsi-ld/v1/entities/{ROOM['id']}").json()) == {"id", "type", "humidity"}
