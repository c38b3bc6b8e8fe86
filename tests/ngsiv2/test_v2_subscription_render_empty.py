"""What Orion leaves out when it renders a subscription (GET /v2/subscriptions/{id}): an empty
`alterationTypes` (Condition::toJson), an empty `metadata` (Notification::toJson), a `timeout` of 0 and
an empty text `payload` (HttpInfo / MqttInfo::toJson); and it shows `lastNotification`, `lastSuccess`,
`lastFailure` in whole seconds (it keeps them as integer seconds). One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings
from toshi.ngsiv2.subscription_model import record_delivery, render

URL = "http://127.0.0.1:9/n"


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("render") / "data")))) as client:
        yield client


def created(client, condition: dict | None = None, **notification) -> dict:
    subject = {"entities": [{"idPattern": ".*"}]} | ({"condition": condition} if condition else {})
    channel = {} if "httpCustom" in notification else {"http": {"url": URL}}
    body = {"subject": subject, "notification": channel | notification}
    response = client.post("/v2/subscriptions", json=body)
    assert response.status_code == 201, response.text
    return client.get(response.headers["location"]).json()


def test_an_empty_alteration_types_list_is_not_rendered(v2):
    assert created(v2, {"alterationTypes": []})["subject"]["condition"] == {"attrs": [],
                                                                          "notifyOnMetadataChange": True}


def test_alteration_types_given_are_rendered(v2):
    condition = created(v2, {"alterationTypes": ["entityDelete"]})["subject"]["condition"]
    assert condition["alterationTypes"] == ["entityDelete"]


def test_an_empty_metadata_list_is_not_rendered(v2):
    assert "metadata" not in created(v2, metadata=[])["notification"]


def test_a_metadata_list_is_rendered(v2):
    assert created(v2, metadata=["unitCode"])["notification"]["metadata"] == ["unitCode"]


def test_a_zero_timeout_is_not_rendered(v2):
    assert created(v2, http={"url": URL, "timeout": 0})["notification"]["http"] == {"url": URL}


def test_a_timeout_is_rendered(v2):
    assert created(v2, http={"url": URL, "timeout": 500})["notification"]["http"] == {"url": URL, "timeout": 500}


def test_an_empty_text_payload_is_not_rendered(v2):
    assert created(v2, httpCustom={"url": URL, "payload": ""})["notification"]["httpCustom"] == {"url": URL}


def test_a_null_payload_is_rendered_null(v2):
    rendered = created(v2, httpCustom={"url": URL, "payload": None})["notification"]["httpCustom"]
    assert rendered == {"url": URL, "payload": None}


def test_notification_times_are_rendered_in_whole_seconds():
    doc = {"id": "s", "subject": {"entities": [{"idPattern": ".*"}]}, "notification": {"http": {"url": URL}}}
    record_delivery(doc, True, "2026-12-07T10:00:00.123Z", None, 200)
    record_delivery(doc, False, "2026-12-07T10:00:01.456Z", "Timeout was reached", None)
    shown = render(doc, "2026-12-07T10:00:02.000Z")["notification"]
    assert (shown["lastSuccess"], shown["lastFailure"], shown["lastNotification"]) == (
        "2026-12-07T10:00:00.000Z", "2026-12-07T10:00:01.000Z", "2026-12-07T10:00:01.000Z")
