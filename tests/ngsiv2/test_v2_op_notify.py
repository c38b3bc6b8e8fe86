"""POST /v2/op/notify checked as Orion's notification parser checks it (empty payload, mandatory
`subscriptionId` and `data`, member types, unknown members), and the manual's "keyValues not supported in
POST /v2/op/notify": a keyValues payload is 400 and writes nothing. One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("notify") / "data")))) as client:
        yield client


def refused(client, body, query: str = "") -> dict:
    response = client.post("/v2/op/notify" + query, json=body)
    assert response.status_code == 400, response.text
    return response.json()


def bad(description: str) -> dict:
    return {"error": "BadRequest", "description": description}


def test_an_empty_payload_is_refused(v2):
    assert refused(v2, {}) == bad("empty payload")


def test_a_payload_that_is_not_an_object_is_a_parse_error(v2):
    assert refused(v2, [{"subscriptionId": "s", "data": []}]) == {
        "error": "ParseError", "description": "Errors found in incoming JSON buffer"}


def test_subscription_id_is_mandatory(v2):
    assert refused(v2, {"data": []}) == bad("Invalid JSON payload, mandatory field /subscriptionId/ not found")


def test_data_is_mandatory(v2):
    assert refused(v2, {"subscriptionId": "s"}) == bad("Invalid JSON payload, mandatory field /data/ not found")


def test_an_unknown_member_is_refused(v2):
    assert refused(v2, {"subscriptionId": "s", "data": [], "originator": "x"}) == \
        bad("Unrecognized field in JSON payload: /originator/")


def test_a_data_item_must_be_an_object(v2):
    assert refused(v2, {"subscriptionId": "s", "data": ["Room1"]}) == \
        bad("notification data vector item must be a JSON Object")


def test_a_key_values_notification_is_refused_and_writes_nothing(v2):
    body = {"subscriptionId": "s", "data": [{"id": "KvRoom", "type": "Room", "temperature": 5}]}
    assert refused(v2, body, "?options=keyValues") == \
        bad("attribute must be a JSON object, unless keyValues option is used")
    assert v2.get("/v2/entities/KvRoom").status_code == 404
