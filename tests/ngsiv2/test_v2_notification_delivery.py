"""How NGSI-v2 notifications are delivered and counted, as Orion's manual says: any HTTP answer is a sent
notification (`lastSuccessCode` "the HTTP code (200, 400, 404, 500, etc.) returned by receiving endpoint
last time a successful notification was sent"), `http.timeout` / `httpCustom.timeout` (milliseconds)
bounds the wait for the answer of each notification, each notification is attempted once (`failsCounter`
"is increased by one each time a notification attempt fails"), and `lastFailureReason` is libcurl's text
(the diagnosis manual: "Timeout was reached", "Couldn't connect to server", "Couldn't resolve host
name")."""

from __future__ import annotations

import dataclasses
import socketserver
import threading

import pytest
from starlette.testclient import TestClient
from support import Receiver, free_port, wait_until

from toshi.app import create_app
from toshi.ngsiv2.subscription_matching import CompiledV2Subscription

ROOM = {"id": "Room1", "type": "Room", "temperature": {"value": 20, "type": "Number"}}


def subscribe(client, notification: dict) -> str:
    response = client.post("/v2/subscriptions", json={"subject": {"entities": [{"id": "Room1", "type": "Room"}]},
                                                      "notification": notification})
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def statistics(client, sub_id: str) -> dict:
    return client.get(f"/v2/subscriptions/{sub_id}").json()["notification"]


@pytest.fixture
def patient_client(settings):
    """The app with a server-wide notification timeout longer than any test waits: only a subscription's
    own `timeout` can end a notification that gets no answer."""
    patient = dataclasses.replace(settings, notify_backoff=0.05, notify_max_attempts=3, notify_timeout=600.0)
    with TestClient(create_app(patient)) as test_client:
        yield test_client


@pytest.mark.parametrize(("status", "channel"), [(500, "http"), (404, "httpCustom")])
def test_an_error_answer_is_a_sent_notification_not_retried(fast_client, status, channel):
    answering = Receiver(status=status)
    try:
        sub_id = subscribe(fast_client, {channel: {"url": answering.url}})
        fast_client.post("/v2/entities", json=ROOM)
        assert wait_until(lambda: statistics(fast_client, sub_id).get("timesSent") == 1)
        notification = statistics(fast_client, sub_id)
        assert notification["lastSuccessCode"] == status and "lastSuccess" in notification
        assert "failsCounter" not in notification and "lastFailure" not in notification
        assert "lastFailureReason" not in notification
        response = fast_client.patch("/v2/entities/Room1/attrs", json={"temperature": {"value": 21}})
        assert response.status_code == 204
        assert wait_until(lambda: statistics(fast_client, sub_id).get("timesSent") == 2)
        assert [r["body"]["data"][0]["temperature"]["value"] for r in answering.requests] == [20, 21]
        assert fast_client.get("/admin/notifications/dead-letters").json() == []
    finally:
        answering.close()


def test_an_error_answer_keeps_the_subscription_active_under_max_fails_limit(fast_client):
    answering = Receiver(status=500)
    try:
        sub_id = subscribe(fast_client, {"http": {"url": answering.url}, "maxFailsLimit": 1})
        fast_client.post("/v2/entities", json=ROOM)
        fast_client.patch("/v2/entities/Room1/attrs", json={"temperature": {"value": 21}})
        assert wait_until(lambda: statistics(fast_client, sub_id).get("timesSent") == 2)
        assert fast_client.get(f"/v2/subscriptions/{sub_id}").json()["status"] == "active"
    finally:
        answering.close()


@pytest.mark.parametrize("channel", ["http", "httpCustom"])
def test_no_answer_within_the_timeout_is_a_failure(patient_client, channel):
    silent = Receiver(stall_first=1000)
    try:
        sub_id = subscribe(patient_client, {channel: {"url": silent.url, "timeout": 50}})
        patient_client.post("/v2/entities", json=ROOM)
        assert wait_until(lambda: "lastFailure" in statistics(patient_client, sub_id))
        notification = statistics(patient_client, sub_id)
        assert notification["lastFailureReason"] == "Timeout was reached"
        assert notification["failsCounter"] == 1 and "lastSuccess" not in notification
    finally:
        silent.close()


def test_an_answer_after_a_failed_notification_resets_the_fails_counter(fast_client):
    port = free_port()
    sub_id = subscribe(fast_client, {"http": {"url": f"http://127.0.0.1:{port}/notify"}})
    fast_client.post("/v2/entities", json=ROOM)  # nobody listens yet: a failure
    assert wait_until(lambda: "lastFailure" in statistics(fast_client, sub_id))
    listening = Receiver.on_port(port)
    try:
        fast_client.patch("/v2/entities/Room1/attrs", json={"temperature": {"value": 21}})
        assert wait_until(lambda: "lastSuccess" in statistics(fast_client, sub_id))
        notification = statistics(fast_client, sub_id)
        assert notification["lastSuccessCode"] == 200 and "failsCounter" not in notification
        assert notification["lastFailureReason"] == "Couldn't connect to server"
    finally:
        listening.close()


def test_a_failed_notification_is_not_retried(fast_client):
    port = free_port()
    sub_id = subscribe(fast_client, {"http": {"url": f"http://127.0.0.1:{port}/notify"}})
    fast_client.post("/v2/entities", json=ROOM)
    assert wait_until(lambda: "lastFailure" in statistics(fast_client, sub_id))
    [letter] = fast_client.get("/admin/notifications/dead-letters").json()  # kept, never sent again
    assert letter["attempts"] == 1 and letter["lastError"] == "Couldn't connect to server"
    assert statistics(fast_client, sub_id)["timesSent"] == 1


def test_a_refused_connection_is_couldnt_connect_to_server(fast_client):
    sub_id = subscribe(fast_client, {"http": {"url": f"http://127.0.0.1:{free_port()}/notify"}})
    fast_client.post("/v2/entities", json=ROOM)
    assert wait_until(lambda: "lastFailure" in statistics(fast_client, sub_id))
    notification = statistics(fast_client, sub_id)
    assert notification["lastFailureReason"] == "Couldn't connect to server"
    assert (notification["failsCounter"], notification["timesSent"]) == (1, 1)


def test_each_failed_notification_counts_once_in_the_fails_counter(fast_client):
    sub_id = subscribe(fast_client, {"http": {"url": f"http://127.0.0.1:{free_port()}/notify"}})
    fast_client.post("/v2/entities", json=ROOM)
    fast_client.patch("/v2/entities/Room1/attrs", json={"temperature": {"value": 21}})
    assert wait_until(lambda: statistics(fast_client, sub_id).get("failsCounter") == 2)
    letters = fast_client.get("/admin/notifications/dead-letters").json()
    assert [letter["attempts"] for letter in letters] == [1, 1]


def test_an_unknown_host_is_couldnt_resolve_host_name(fast_client):
    sub_id = subscribe(fast_client, {"http": {"url": "http://toshi-test.invalid/notify"}})  # RFC 6761: never resolves
    fast_client.post("/v2/entities", json=ROOM)
    assert wait_until(lambda: "lastFailure" in statistics(fast_client, sub_id))
    assert statistics(fast_client, sub_id)["lastFailureReason"] == "Couldn't resolve host name"


class Hangup(socketserver.BaseRequestHandler):
    """Reads the request, then closes the connection without answering."""

    def handle(self):
        self.request.recv(65536)


def test_a_receiver_that_closes_without_answering_is_server_returned_nothing(fast_client):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Hangup)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sub_id = subscribe(fast_client, {"http": {"url": f"http://127.0.0.1:{server.server_address[1]}/notify"}})
        fast_client.post("/v2/entities", json=ROOM)
        assert wait_until(lambda: "lastFailure" in statistics(fast_client, sub_id))
        assert statistics(fast_client, sub_id)["lastFailureReason"] == "Server returned nothing (no headers, no data)"
    finally:
        server.shutdown()
        server.server_close()


def endpoint(http: dict) -> dict:
    doc = {"id": "0" * 24, "api": "ngsi-v2", "subject": {"entities": [{"id": "Room1", "type": "Room"}]},
           "notification": {"http": http}, "status": "active"}
    entity = {"entity": {"id": "Room1", "type": "Room"}, "values": {}, "servicePath": "/"}
    where, _ = CompiledV2Subscription(doc).notification("", [entity], notification_id="n", now="2026-01-01T00:00:00Z")
    return where


def test_the_timeout_goes_with_the_notification_in_seconds():
    assert endpoint({"url": "http://127.0.0.1:9/n", "timeout": 1500})["timeout"] == 1.5


def test_a_zero_timeout_leaves_the_servers_default():
    assert "timeout" not in endpoint({"url": "http://127.0.0.1:9/n", "timeout": 0})


def test_passing_max_fails_limit_logs_orions_warning_once(caplog):
    from toshi.ngsiv2 import subscription_model

    doc = {"id": "5f0000000000000000000001", "status": "active",
           "notification": {"http": {"url": "http://127.0.0.1:9/n"}, "maxFailsLimit": 1}}
    with caplog.at_level("WARNING", logger="toshi.ngsiv2.subscriptions"):
        for _ in range(3):
            subscription_model.record_delivery(doc, False, "2026-01-01T00:00:00.000Z", "Timeout was reached", None)
    assert doc["status"] == "inactive"
    assert [r.getMessage() for r in caplog.records] == [
        "Subscription 5f0000000000000000000001 automatically disabled due to failsCounter (2) overpasses "
        "maxFailsLimit (1)"]
