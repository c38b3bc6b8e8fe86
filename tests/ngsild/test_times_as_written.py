"""DateTimes a client writes come back as written; comparisons treat equal instants as equal
(ETSI GS CIM 009 v1.8 clause 4.8: observedAt is a DateTime; clause 4.9: q compares DateTimes by time)."""

from __future__ import annotations

ENTITIES = "/ngsi-ld/v1/entities"


def room(n: int, observed_at: str) -> dict:
    return {"id": f"urn:ngsi-ld:Room:{n}", "type": "Room",
            "temperature": {"type": "Property", "value": 20 + n, "observedAt": observed_at}}


def test_observed_at_is_returned_as_written(client):
    assert client.post(ENTITIES, json=room(1, "2020-09-01T12:03:00Z")).status_code == 201
    body = client.get(f"{ENTITIES}/urn:ngsi-ld:Room:1").json()
    assert body["temperature"]["observedAt"] == "2020-09-01T12:03:00Z"


def test_observed_at_with_an_offset_and_long_fraction_is_returned_as_written(client):
    written = "2020-09-01T14:03:00.123456+02:00"
    assert client.post(ENTITIES, json=room(1, written)).status_code == 201
    assert client.get(f"{ENTITIES}/urn:ngsi-ld:Room:1").json()["temperature"]["observedAt"] == written


def test_q_on_observed_at_treats_equal_instants_written_differently_as_equal(client):
    client.post(ENTITIES, json=room(1, "2020-09-01T12:03:00Z"))
    client.post(ENTITIES, json=room(2, "2020-09-01T14:03:00.000+02:00"))
    client.post(ENTITIES, json=room(3, "2020-09-01T12:04:00Z"))
    found = client.get(ENTITIES, params={"type": "Room", "q": "temperature.observedAt==2020-09-01T12:03:00.000Z"})
    assert sorted(e["id"] for e in found.json()) == ["urn:ngsi-ld:Room:1", "urn:ngsi-ld:Room:2"]


def test_q_orders_instants_written_differently_by_time(client):
    client.post(ENTITIES, json=room(1, "2020-09-01T12:03:00Z"))
    client.post(ENTITIES, json=room(2, "2020-09-01T13:30:00+02:00"))  # 11:30 UTC
    found = client.get(ENTITIES, params={"type": "Room", "q": "temperature.observedAt<2020-09-01T12:00:00Z"})
    assert [e["id"] for e in found.json()] == ["urn:ngsi-ld:Room:2"]


def test_an_unusual_spelling_is_stored_in_utc_form(client):
    client.post(ENTITIES, json=room(1, "2020-09-01T14:03+0200"))
    body = client.get(f"{ENTITIES}/urn:ngsi-ld:Room:1").json()
    assert body["temperature"]["observedAt"] == "2020-09-01T12:03:00.000Z"


def test_an_invalid_observed_at_is_bad_request_data(client):
    response = client.post(ENTITIES, json=room(1, "yesterday"))
    assert response.status_code == 400
    assert response.json()["type"].endswith("BadRequestData")


def test_history_records_an_observed_at_written_without_fraction(client):
    client.post(ENTITIES, json=room(1, "2020-09-01T12:03:00Z"))
    history = client.get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Room:1",
                         params={"timerel": "after", "timeAt": "2020-09-01T00:00:00Z"})
    assert history.status_code == 200
    instants = history.json()["temperature"]
    instants = instants if isinstance(instants, list) else [instants]
    assert [i["value"] for i in instants] == [21]
