"""v2 notifications: builtin attribute alterationType, builtin metadata actionType / previousValue,
and the Fiware-Correlator of the triggering request (`<correlator>; cbnotif=<n>`), as Orion."""

from __future__ import annotations

import time

ALL_ALTERATIONS = ["entityCreate", "entityUpdate", "entityChange", "entityDelete"]
ROOM = {"id": "Room1", "type": "Room", "temperature": {"value": 20, "type": "Number"},
        "pressure": {"value": 720, "type": "Number", "metadata": {"unit": {"value": "hPa", "type": "Text"}}}}


def subscribe(client, url: str, *, alterations=None, **notification) -> str:
    subject = {"entities": [{"idPattern": ".*", "type": "Room"}]}
    if alterations:
        subject["condition"] = {"alterationTypes": alterations}
    response = client.post("/v2/subscriptions", json={"subject": subject,
                                                      "notification": {"http": {"url": url}, **notification}})
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def settled(receiver, count: int, wait: float = 0.5) -> list[dict]:
    receiver.wait_for(count)
    time.sleep(wait)
    assert len(receiver.requests) == count, [r["body"] for r in receiver.requests]
    return receiver.requests[:]


def entities_of(requests: list[dict]) -> list[dict]:
    return [r["body"]["data"][0] for r in requests]


def ok(response) -> None:
    assert response.status_code in (201, 204), response.text


# -- alterationType -------------------------------------------------------------------------------

def test_alteration_type_attribute(fast_client, receiver):
    subscribe(fast_client, receiver.url, alterations=ALL_ALTERATIONS, attrs=["temperature", "alterationType"])
    ok(fast_client.post("/v2/entities", json=ROOM))
    ok(fast_client.patch("/v2/entities/Room1/attrs", json={"temperature": {"value": 21, "type": "Number"}}))
    ok(fast_client.patch("/v2/entities/Room1/attrs", json={"temperature": {"value": 21, "type": "Number"}}))
    ok(fast_client.patch("/v2/entities/Room1/attrs?options=forcedUpdate",
                         json={"temperature": {"value": 21, "type": "Number"}}))
    ok(fast_client.delete("/v2/entities/Room1"))
    kinds = ["entityCreate", "entityChange", "entityUpdate", "entityChange", "entityDelete"]
    values = [20, 21, 21, 21, 21]
    assert entities_of(settled(receiver, 5)) == [
        {"id": "Room1", "type": "Room",
         "temperature": {"type": "Number", "value": value, "metadata": {}},
         "alterationType": {"type": "Text", "value": kind, "metadata": {}}}
        for kind, value in zip(kinds, values)]


def test_alteration_type_only_when_listed_and_kept_with_only_changed_attrs(fast_client, receiver):
    subscribe(fast_client, receiver.url, attrs=["alterationType", "temperature", "pressure", "dateCreated"],
              onlyChangedAttrs=True)
    ok(fast_client.post("/v2/entities", json=ROOM))
    ok(fast_client.patch("/v2/entities/Room1/attrs", json={"pressure": {"value": 700, "type": "Number"}}))
    created, changed = entities_of(settled(receiver, 2))
    assert list(created) == ["id", "type", "alterationType", "temperature", "pressure", "dateCreated"]
    assert list(changed) == ["id", "type", "alterationType", "pressure", "dateCreated"]
    assert changed["alterationType"]["value"] == "entityChange"
    assert fast_client.get("/v2/entities/Room1?attrs=alterationType").json() == {"id": "Room1", "type": "Room"}


def test_star_and_builtins_in_notification_attrs(fast_client, receiver):
    subscribe(fast_client, receiver.url, attrs=["*", "alterationType"])
    ok(fast_client.post("/v2/entities", json=ROOM))
    (entity,) = entities_of(settled(receiver, 1))
    assert list(entity) == ["id", "type", "temperature", "pressure", "alterationType"]


# -- actionType and previousValue -----------------------------------------------------------------

def test_action_type_and_previous_value(fast_client, receiver):
    subscribe(fast_client, receiver.url, alterations=ALL_ALTERATIONS, metadata=["actionType", "previousValue"])
    ok(fast_client.post("/v2/entities", json=ROOM))
    ok(fast_client.patch("/v2/entities/Room1/attrs", json={"temperature": {"value": 21, "type": "Number"}}))
    ok(fast_client.post("/v2/entities/Room1/attrs", json={"humidity": {"value": 60},
                                                          "temperature": {"value": "warm", "type": "Text"}}))
    ok(fast_client.put("/v2/entities/Room1/attrs/humidity/value", content=b"61", headers={"Content-Type": "text/plain"}))
    ok(fast_client.delete("/v2/entities/Room1"))
    created, updated, appended, value_set, deleted = entities_of(settled(receiver, 5))
    append = {"actionType": {"type": "Text", "value": "append"}}
    assert created == {"id": "Room1", "type": "Room",
                       "temperature": {"type": "Number", "value": 20, "metadata": append},
                       "pressure": {"type": "Number", "value": 720, "metadata": append}}
    assert updated == {"id": "Room1", "type": "Room",
                       "temperature": {"type": "Number", "value": 21, "metadata": {
                           "actionType": {"type": "Text", "value": "update"},
                           "previousValue": {"type": "Number", "value": 20}}},
                       "pressure": {"type": "Number", "value": 720, "metadata": {}}}  # not written
    assert appended["temperature"]["metadata"] == {"actionType": {"type": "Text", "value": "update"},
                                                   "previousValue": {"type": "Number", "value": 21}}
    assert appended["humidity"] == {"type": "Number", "value": 60, "metadata": append}
    assert value_set["humidity"]["metadata"] == {"actionType": {"type": "Text", "value": "update"},
                                                 "previousValue": {"type": "Number", "value": 60}}
    assert value_set["temperature"]["metadata"] == {}
    assert deleted == {"id": "Room1", "type": "Room",  # Orion has no `delete` action type
                       "temperature": {"type": "Text", "value": "warm", "metadata": {}},
                       "pressure": {"type": "Number", "value": 720, "metadata": {}},
                       "humidity": {"type": "Number", "value": 61, "metadata": {}}}


def test_builtin_metadata_with_user_metadata_and_previous_value_of_an_unchanged_update(fast_client, receiver):
    ok(fast_client.post("/v2/entities", json=ROOM))
    subscribe(fast_client, receiver.url, alterations=["entityUpdate"], attrs=["pressure"],
              metadata=["*", "previousValue"])
    ok(fast_client.patch("/v2/entities/Room1/attrs", json={"pressure": {"value": 720, "type": "Number"}}))
    (entity,) = entities_of(settled(receiver, 1))
    assert entity == {"id": "Room1", "type": "Room", "pressure": {
        "type": "Number", "value": 720,
        "metadata": {"unit": {"value": "hPa", "type": "Text"}, "previousValue": {"type": "Number", "value": 720}}}}


def test_builtin_metadata_in_legacy_notifications(fast_client, receiver):
    subscribe(fast_client, receiver.url, attrs=["temperature"], metadata=["actionType"], attrsFormat="legacy")
    ok(fast_client.post("/v2/entities", json=ROOM))
    (request,) = settled(receiver, 1)
    attributes = request["body"]["contextResponses"][0]["contextElement"]["attributes"]
    assert attributes == [{"name": "temperature", "type": "Number", "value": 20,
                           "metadatas": [{"name": "actionType", "type": "Text", "value": "append"}]}]


# -- Fiware-Correlator ----------------------------------------------------------------------------

def correlators(requests: list[dict]) -> list[str]:
    return sorted(r["headers"]["Fiware-Correlator"] for r in requests)


def test_notifications_carry_the_correlator_of_the_update(fast_client, receiver):
    subscribe(fast_client, receiver.url, alterations=ALL_ALTERATIONS)
    subscribe(fast_client, receiver.url, alterations=ALL_ALTERATIONS, attrs=["temperature"])
    ok(fast_client.post("/v2/entities", json=ROOM, headers={"Fiware-Correlator": "corr-create"}))
    assert correlators(settled(receiver, 2)) == ["corr-create; cbnotif=1", "corr-create; cbnotif=2"]
    receiver.requests.clear()
    response = fast_client.patch("/v2/entities/Room1/attrs", json={"temperature": {"value": 30}})
    ok(response)
    made = response.headers["fiware-correlator"]
    assert correlators(settled(receiver, 2)) == [f"{made}; cbnotif=1", f"{made}; cbnotif=2"]
    receiver.requests.clear()
    ok(fast_client.post("/v2/op/update", headers={"Fiware-Correlator": "corr-batch"}, json={
        "actionType": "update", "entities": [{"id": "Room1", "temperature": {"value": 31}}]}))
    assert correlators(settled(receiver, 2)) == ["corr-batch; cbnotif=1", "corr-batch; cbnotif=2"]


def test_deletions_and_ngsi_ld_writes_get_a_new_correlator(fast_client, receiver):
    ok(fast_client.post("/v2/entities", json={**ROOM, "id": "urn:ngsi-ld:Room:1"},
                        headers={"Fiware-Correlator": "corr-create"}))
    subscribe(fast_client, receiver.url, alterations=ALL_ALTERATIONS)
    ld = fast_client.patch("/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1/attrs", json={"temperature": 5})
    assert ld.status_code == 204, ld.text
    ok(fast_client.delete("/v2/entities/urn:ngsi-ld:Room:1", headers={"Fiware-Correlator": "corr-delete"}))
    for request in settled(receiver, 2):
        correlator, suffix = request["headers"]["Fiware-Correlator"].split("; ")
        assert len(correlator) == 36 and correlator != "corr-create" and suffix == "cbnotif=1"


def test_custom_notifications_cannot_change_the_correlator(fast_client, receiver):
    fast_client.post("/v2/subscriptions", json={
        "subject": {"entities": [{"idPattern": ".*"}]},
        "notification": {"httpCustom": {"url": receiver.url, "json": {"t": "${temperature}"},
                                        "headers": {"fiware-correlator": "mine", "Ngsiv2-AttrsFormat": "mine",
                                                    "X-Room": "${id}"}}}})
    ok(fast_client.post("/v2/entities", json=ROOM, headers={"Fiware-Correlator": "corr-1"}))
    (request,) = settled(receiver, 1)
    assert request["body"] == {"t": 20}
    assert request["headers"]["Fiware-Correlator"] == "corr-1; cbnotif=1"
    assert request["headers"]["Ngsiv2-AttrsFormat"] == "custom"
    assert request["headers"]["X-Room"] == "Room1"


def test_correlator_mark_is_invisible(fast_client):
    ok(fast_client.post("/v2/entities", json={**ROOM, "id": "urn:ngsi-ld:Room:1"}))
    assert set(fast_client.get("/v2/entities/urn:ngsi-ld:Room:1").json()) == {"id", "type", "temperature", "pressure"}
    ld = fast_client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1").json()
    assert set(ld) == {"id", "type", "temperature", "pressure"}
