"""v2 subscriptions: options=forcedUpdate, attrsFormat legacy (NGSIv1), condition.expression.mq."""

from __future__ import annotations

import time

from support import Receiver

ROOM = {"id": "Room1", "type": "Room", "temperature": {"value": 20, "type": "Number"},
        "pressure": {"value": 720, "type": "Number"}}
SAME = {"temperature": {"value": 20, "type": "Number"}}


def subscribe(client, url: str, condition: dict | None = None, **notification) -> str:
    subject = {"entities": [{"idPattern": ".*", "type": "Room"}]}
    if condition:
        subject["condition"] = condition
    response = client.post("/v2/subscriptions", json={"subject": subject,
                                                      "notification": {"http": {"url": url}, **notification}})
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def settled(receiver: Receiver, count: int, wait: float = 0.6) -> list[dict]:
    receiver.wait_for(count)
    time.sleep(wait)
    return receiver.requests[:]


# -- forcedUpdate ---------------------------------------------------------------------------------

def test_forced_update_notifies_without_a_change(fast_client, receiver):
    assert fast_client.post("/v2/entities", json=ROOM).status_code == 201
    subscribe(fast_client, receiver.url, condition={"attrs": ["temperature"]})
    calls = [
        lambda: fast_client.patch("/v2/entities/Room1/attrs", json=SAME),  # no change: nothing
        lambda: fast_client.patch("/v2/entities/Room1/attrs?options=forcedUpdate", json=SAME),
        lambda: fast_client.post("/v2/entities/Room1/attrs?options=forcedUpdate", json=SAME),
        lambda: fast_client.put("/v2/entities/Room1/attrs/temperature?options=forcedUpdate",
                                json=SAME["temperature"]),
        lambda: fast_client.put("/v2/entities/Room1/attrs/temperature/value?options=forcedUpdate", content=b"20",
                                headers={"Content-Type": "text/plain"}),
        lambda: fast_client.post("/v2/op/update?options=forcedUpdate",
                                 json={"actionType": "update", "entities": [{"id": "Room1", "type": "Room", **SAME}]}),
        lambda: fast_client.patch("/v2/entities/Room1/attrs", json=SAME),  # the mark is stale: nothing
        lambda: fast_client.patch("/v2/entities/Room1/attrs?options=forcedUpdate",
                                  json={"pressure": {"value": 720, "type": "Number"}}),  # not a watched attr
    ]
    for call in calls:
        response = call()
        assert response.status_code == 204, response.text
    requests = settled(receiver, 5)
    assert len(requests) == 5
    assert all(r["body"]["data"][0]["temperature"]["value"] == 20 for r in requests)


def test_forced_update_mark_is_invisible(fast_client):
    fast_client.post("/v2/entities", json={**ROOM, "id": "urn:ngsi-ld:Room:1"})
    fast_client.patch("/v2/entities/urn:ngsi-ld:Room:1/attrs?options=forcedUpdate", json=SAME)
    v2 = fast_client.get("/v2/entities/urn:ngsi-ld:Room:1").json()
    assert set(v2) == {"id", "type", "temperature", "pressure"}
    ld = fast_client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1", params={"options": "sysAttrs"}).json()
    assert not any("Forced" in key for key in ld)


def test_forced_update_is_a_known_option(fast_client):
    fast_client.post("/v2/entities", json=ROOM)
    bad = fast_client.patch("/v2/entities/Room1/attrs?options=forced", json=SAME)
    assert bad.status_code == 400


# -- legacy ---------------------------------------------------------------------------------------

def test_legacy_format(fast_client, receiver):
    sub_id = subscribe(fast_client, receiver.url, attrsFormat="legacy", attrs=["temperature"])
    assert fast_client.get(f"/v2/subscriptions/{sub_id}").json()["notification"]["attrsFormat"] == "legacy"
    room = {**ROOM, "temperature": {"value": 20, "type": "Number",
                                    "metadata": {"accuracy": {"value": 0.5, "type": "Number"}}}}
    assert fast_client.post("/v2/entities", json=room).status_code == 201
    request = settled(receiver, 1)[0]
    assert "Ngsiv2-AttrsFormat" not in request["headers"]  # Orion sends it with NGSIv2 bodies only
    assert request["body"] == {
        "subscriptionId": sub_id, "originator": "localhost",
        "contextResponses": [{
            "contextElement": {
                "attributes": [{"name": "temperature", "type": "Number", "value": 20,
                                "metadatas": [{"name": "accuracy", "type": "Number", "value": 0.5}]}],
                "type": "Room", "isPattern": "false", "id": "Room1"},
            "statusCode": {"code": "200", "reasonPhrase": "OK"}}]}


# -- mq -------------------------------------------------------------------------------------------

def test_mq_in_subscription_condition(fast_client, receiver):
    sub_id = subscribe(fast_client, receiver.url, condition={"expression": {"mq": "temperature.accuracy>0.8"}})
    stored = fast_client.get(f"/v2/subscriptions/{sub_id}").json()
    assert stored["subject"]["condition"]["expression"] == {"mq": "temperature.accuracy>0.8"}
    low = {"id": "Low", "type": "Room", "temperature": {"value": 1, "metadata": {"accuracy": {"value": 0.5}}}}
    high = {"id": "High", "type": "Room", "temperature": {"value": 1, "metadata": {"accuracy": {"value": 0.9}}}}
    for entity in (low, high):
        assert fast_client.post("/v2/entities", json=entity).status_code == 201
    requests = settled(receiver, 1)
    assert [r["body"]["data"][0]["id"] for r in requests] == ["High"]


def test_mq_and_q_together_and_bad_mq(fast_client, receiver):
    subscribe(fast_client, receiver.url,
              condition={"expression": {"q": "temperature>10", "mq": "temperature.unitCode==CEL"}})
    cold = {"id": "Cold", "type": "Room", "temperature": {"value": 5, "metadata": {"unitCode": {"value": "CEL"}}}}
    warm = {"id": "Warm", "type": "Room", "temperature": {"value": 25, "metadata": {"unitCode": {"value": "CEL"}}}}
    other = {"id": "Fahr", "type": "Room", "temperature": {"value": 70, "metadata": {"unitCode": {"value": "FAH"}}}}
    for entity in (cold, warm, other):
        assert fast_client.post("/v2/entities", json=entity).status_code == 201
    requests = settled(receiver, 1)
    assert [r["body"]["data"][0]["id"] for r in requests] == ["Warm"]
    bad = fast_client.post("/v2/subscriptions", json={
        "subject": {"entities": [{"id": "A"}], "condition": {"expression": {"mq": "temperature"}}},
        "notification": {"http": {"url": "http://a/b"}}})
    assert bad.status_code == 400 and bad.json()["error"] == "BadRequest"
