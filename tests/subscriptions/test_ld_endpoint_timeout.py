"""The NGSI-LD notification endpoint's `timeout` (CIM 009 clause 5.2.15 Endpoint: "maximum period of time
in milliseconds which may elapse before a notification is assumed to have failed") bounds the wait for
each HTTP notification; without it the server's notify_timeout applies."""

from __future__ import annotations

import dataclasses

from starlette.testclient import TestClient
from support import Receiver, wait_until

from toshi.app import create_app
from toshi.subscriptions.sending import outgoing

SHELTER = {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "occupancy": {"type": "Property", "value": 10}}


def test_the_timeout_goes_with_an_http_notification_in_seconds():
    where, _ = outgoing({"uri": "http://127.0.0.1:9/n", "accept": "application/json", "timeout": 1500}, "", {},
                        None, None)
    assert where["timeout"] == 1.5


def test_without_a_timeout_the_servers_default_applies():
    where, _ = outgoing({"uri": "http://127.0.0.1:9/n", "accept": "application/json"}, "", {}, None, None)
    assert "timeout" not in where


def test_no_answer_within_the_endpoint_timeout_is_a_failed_notification(settings):
    patient = dataclasses.replace(settings, notify_timeout=600.0, notify_max_attempts=1)  # only `timeout` can end it
    silent = Receiver(stall_first=1000)
    try:
        with TestClient(create_app(patient)) as client:
            subscription = {"type": "Subscription", "entities": [{"type": "Shelter"}],
                            "notification": {"endpoint": {"uri": silent.url, "accept": "application/json",
                                                          "timeout": 50}}}
            created = client.post("/ngsi-ld/v1/subscriptions", json=subscription)
            assert created.status_code == 201, created.text
            assert client.post("/ngsi-ld/v1/entities", json=SHELTER).status_code == 201
            assert wait_until(lambda: client.get("/admin/notifications/dead-letters").json())
            [letter] = client.get("/admin/notifications/dead-letters").json()
            assert letter["lastError"] == "Timeout was reached"
            assert wait_until(lambda: client.get(created.headers["location"]).json()["notification"]
                              .get("timesFailed") == 1)
    finally:
        silent.close()
