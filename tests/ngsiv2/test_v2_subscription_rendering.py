"""Subscriptions as Orion renders them (GET /v2/subscriptions/{id}) and the manual's maxFailsLimit rule."""

from __future__ import annotations

from toshi.ngsiv2.subscription_model import record_delivery

URL = "http://127.0.0.1:9/n"


def created(client, subject_extra: dict | None = None, **top) -> dict:
    body = {"subject": {"entities": [{"idPattern": ".*"}], **(subject_extra or {})},
            "notification": {"http": {"url": URL}}, **top}
    response = client.post("/v2/subscriptions", json=body)
    assert response.status_code == 201
    return client.get(response.headers["location"]).json()


def test_notify_on_metadata_change_is_rendered_true_by_default(client):
    assert created(client)["subject"]["condition"] == {"attrs": [], "notifyOnMetadataChange": True}


def test_notify_on_metadata_change_is_rendered_as_given(client):
    sub = created(client, {"condition": {"attrs": ["A"], "notifyOnMetadataChange": False}})
    assert sub["subject"]["condition"] == {"attrs": ["A"], "notifyOnMetadataChange": False}


def test_a_zero_throttling_is_not_rendered(client):
    assert "throttling" not in created(client, throttling=0)


def test_a_throttling_is_rendered(client):
    assert created(client, throttling=5)["throttling"] == 5


def failed(doc: dict, times: int) -> dict:
    for _ in range(times):
        record_delivery(doc, False, "2026-01-01T00:00:00.000Z", "HTTP 500", 500)
    return doc


def test_as_many_failures_as_max_fails_limit_keep_the_subscription_active():
    doc = failed({"status": "active", "notification": {"maxFailsLimit": 2}}, 2)
    assert (doc["status"], doc["notification"]["failsCounter"]) == ("active", 2)


def test_more_failures_than_max_fails_limit_make_it_inactive():
    doc = failed({"status": "active", "notification": {"maxFailsLimit": 2}}, 3)
    assert doc["status"] == "inactive"


def test_a_success_resets_the_fails_counter():
    doc = failed({"status": "active", "notification": {"maxFailsLimit": 2}}, 2)
    record_delivery(doc, True, "2026-01-01T00:00:01.000Z", None, 200)
    failed(doc, 2)
    assert (doc["status"], doc["notification"]["failsCounter"]) == ("active", 2)
