"""`jsonKeys` (ETSI GS CIM 009 v1.8 clause 4.9): the attributes whose trailing path in q and orderBy
names members of a JSON value as written (a JsonProperty's `json`), never expanded."""

from __future__ import annotations

import pytest

ENTITIES = "/ngsi-ld/v1/entities"
QUERY = "/ngsi-ld/v1/entityOperations/query"


def device(n: int, level: int, mode: str) -> dict:
    return {"id": f"urn:ngsi-ld:Device:{n}", "type": "Device",
            "config": {"type": "JsonProperty", "json": {"limits": {"level": level}, "mode": mode}}}


@pytest.fixture
def devices(client):
    for n, (level, mode) in enumerate([(3, "eco"), (1, "fast"), (2, "eco")]):
        assert client.post(ENTITIES, json=device(n, level, mode)).status_code == 201
    return client


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def test_q_compares_a_member_of_a_json_key_attribute(devices):
    found = ids(devices.get(ENTITIES, params={"q": "config[limits.level]>1", "jsonKeys": "config"}))
    assert found == ["urn:ngsi-ld:Device:0", "urn:ngsi-ld:Device:2"]


def test_order_by_a_member_of_a_json_key_attribute(devices):
    found = ids(devices.get(ENTITIES, params={"type": "Device", "orderBy": "config[limits.level];desc",
                                              "jsonKeys": "config"}))
    assert found == ["urn:ngsi-ld:Device:0", "urn:ngsi-ld:Device:2", "urn:ngsi-ld:Device:1"]


def test_a_post_query_takes_json_keys_as_a_list(devices):
    body = {"type": "Query", "q": 'config[mode]=="fast"', "jsonKeys": ["config"]}
    assert ids(devices.post(QUERY, json=body)) == ["urn:ngsi-ld:Device:1"]


@pytest.mark.parametrize("value", ["", "config,,mode"])
def test_an_empty_attribute_name_is_bad_request_data(devices, value):
    response = devices.get(ENTITIES, params={"type": "Device", "jsonKeys": value})
    assert response.status_code == 400
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"


def test_json_keys_in_a_post_query_that_is_no_list_is_bad_request_data(devices):
    response = devices.post(QUERY, json={"type": "Query", "q": "config", "jsonKeys": 5})
    assert response.status_code == 400
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
