"""Notification delivery end to end: HTTP receivers, retries, dead letters, MQTT, live stream."""

from __future__ import annotations

import uuid

from support import Receiver, require_mosquitto, wait_until

SHELTER = {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter",
           "occupancy": {"type": "Property", "value": 10},
           "name": {"type": "Property", "value": "Toyono Hall"}}


def subscribe(client, uri: str, **extra) -> str:
    subscription = {"type": "Subscription", "entities": [{"type": "Shelter"}], "watchedAttributes": ["occupancy"],
                    "notification": {"endpoint": {"uri": uri, "accept": "application/json"}}}
    subscription.update(extra)
    response = client.post("/ngsi-ld/v1/subscriptions", json=subscription)
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def set_occupancy(client, value: int) -> None:
    response = client.patch("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:1/attrs/occupancy", json={"value": value})
    assert response.status_code == 204


def test_http_notification_on_update(fast_client, receiver):
    fast_client.post("/ngsi-ld/v1/entities", json=SHELTER)
    sub_id = subscribe(fast_client, receiver.url)
    set_occupancy(fast_client, 42)
    [request] = receiver.wait_for(1)
    body = request["body"]
    assert body["type"] == "Notification" and body["subscriptionId"] == sub_id
    assert body["id"].startswith("urn:ngsi-ld:Notification:")
    assert body["data"][0]["id"] == "urn:ngsi-ld:Shelter:1"
    assert body["data"][0]["occupancy"]["value"] == 42
    assert "json-ld#context" in request["headers"]["Link"]
    assert request["headers"]["Content-Type"].startswith("application/json")


def test_unwatched_attribute_does_not_notify(fast_client, receiver):
    fast_client.post("/ngsi-ld/v1/entities", json=SHELTER)
    subscribe(fast_client, receiver.url)
    fast_client.patch("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:1/attrs/name", json={"value": "Renamed"})
    set_occupancy(fast_client, 5)
    requests = receiver.wait_for(1)
    assert [r["body"]["data"][0]["occupancy"]["value"] for r in requests] == [5]


def test_each_update_notifies_in_order(fast_client, receiver):
    fast_client.post("/ngsi-ld/v1/entities", json=SHELTER)
    subscribe(fast_client, receiver.url)
    for value in range(1, 6):
        set_occupancy(fast_client, value)
    requests = receiver.wait_for(5)
    values = sorted(r["body"]["data"][0]["occupancy"]["value"] for r in requests)
    assert values == [1, 2, 3, 4, 5]
    assert len({r["body"]["id"] for r in requests}) == 5


def test_failing_receiver_is_retried_and_counted(fast_client):
    receiver = Receiver(fail_first=2)
    try:
        fast_client.post("/ngsi-ld/v1/entities", json=SHELTER)
        sub_id = subscribe(fast_client, receiver.url)
        set_occupancy(fast_client, 7)
        assert len(receiver.wait_for(1)) == 1

        def counted():
            sub = fast_client.get(f"/ngsi-ld/v1/subscriptions/{sub_id}").json()
            notification = sub["notification"]
            return notification.get("timesFailed") == 2 and "lastSuccess" in notification
        assert wait_until(counted)
        notification = fast_client.get(f"/ngsi-ld/v1/subscriptions/{sub_id}").json()["notification"]
        assert "lastSuccess" in notification and "lastFailure" in notification
    finally:
        receiver.close()


def test_dead_receiver_goes_to_dead_letters_and_replays(fast_client):
    receiver = Receiver(fail_first=1000)
    try:
        fast_client.post("/ngsi-ld/v1/entities", json=SHELTER)
        subscribe(fast_client, receiver.url)
        set_occupancy(fast_client, 9)
        assert wait_until(lambda: fast_client.get("/admin/notifications/dead-letters").json())
        [letter] = fast_client.get("/admin/notifications/dead-letters").json()
        assert letter["attempts"] == 3 and letter["lastError"] == "HTTP 500"
        receiver.fail_first = 0
        replayed = fast_client.post("/admin/notifications/dead-letters/replay").json()
        assert replayed == {"replayed": 1}
        [request] = receiver.wait_for(1)
        assert request["body"]["id"] == letter["id"]
        assert fast_client.get("/admin/notifications/dead-letters").json() == []
    finally:
        receiver.close()


def test_an_error_answer_to_an_ngsi_ld_notification_is_a_failure(fast_client):
    """CIM 009: a notification the receiver does not accept (here 404) failed; retried, then a dead letter."""
    missing = Receiver(status=404)
    try:
        fast_client.post("/ngsi-ld/v1/entities", json=SHELTER)
        sub_id = subscribe(fast_client, missing.url)
        set_occupancy(fast_client, 11)
        assert wait_until(lambda: fast_client.get("/admin/notifications/dead-letters").json())
        [letter] = fast_client.get("/admin/notifications/dead-letters").json()
        assert letter["attempts"] == 3 and letter["lastError"] == "HTTP 404" and len(missing.requests) == 3
        assert wait_until(lambda: fast_client.get(f"/ngsi-ld/v1/subscriptions/{sub_id}").json()
                          ["notification"].get("timesFailed") == 3)
        assert "lastSuccess" not in fast_client.get(f"/ngsi-ld/v1/subscriptions/{sub_id}").json()["notification"]
    finally:
        missing.close()


def test_slow_receiver_does_not_block_writes_or_others(fast_client, receiver):
    dead = Receiver(fail_first=10_000)
    try:
        fast_client.post("/ngsi-ld/v1/entities", json=SHELTER)
        subscribe(fast_client, dead.url)
        subscribe(fast_client, receiver.url)
        for value in range(20):
            set_occupancy(fast_client, value)
        assert len(receiver.wait_for(20)) == 20
    finally:
        dead.close()


def test_mqtt_notification(fast_client):
    require_mosquitto()
    import json

    import paho.mqtt.client as mqtt

    topic = f"toshi/test/{uuid.uuid4()}"
    received: list[dict] = []
    listener = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    listener.on_message = lambda client, userdata, message: received.append(json.loads(message.payload))
    listener.connect("127.0.0.1", 1883)
    listener.subscribe(topic, qos=1)
    listener.loop_start()
    try:
        fast_client.post("/ngsi-ld/v1/entities", json=SHELTER)
        subscribe(fast_client, f"mqtt://127.0.0.1:1883/{topic}")
        subscribe(fast_client, f"mqtt://127.0.0.1:1883/{topic}",
                  notification={"endpoint": {"uri": f"mqtt://127.0.0.1:1883/{topic}", "accept": "application/json",
                                             "notifierInfo": [{"key": "MQTT-QoS", "value": "1"}]}})
        set_occupancy(fast_client, 77)
        assert wait_until(lambda: len(received) >= 2)
        message = received[0]
        assert message["body"]["type"] == "Notification"
        assert message["body"]["data"][0]["occupancy"]["value"] == 77
        assert message["metadata"]["Content-Type"] == "application/json"
    finally:
        listener.loop_stop()
        listener.disconnect()


def test_time_interval_subscription_notifies_periodically(fast_client, receiver):
    fast_client.post("/ngsi-ld/v1/entities", json=SHELTER)
    subscription = {"type": "Subscription", "entities": [{"type": "Shelter"}], "timeInterval": 1,
                    "notification": {"endpoint": {"uri": receiver.url, "accept": "application/json"}}}
    assert fast_client.post("/ngsi-ld/v1/subscriptions", json=subscription).status_code == 201
    requests = receiver.wait_for(2, timeout=5)
    assert len(requests) >= 2
    assert all(r["body"]["data"][0]["id"] == "urn:ngsi-ld:Shelter:1" for r in requests)


def test_paused_subscription_is_silent_until_resumed(fast_client, receiver):
    fast_client.post("/ngsi-ld/v1/entities", json=SHELTER)
    sub_id = subscribe(fast_client, receiver.url)
    assert fast_client.patch(f"/ngsi-ld/v1/subscriptions/{sub_id}", json={"isActive": False}).status_code == 204
    set_occupancy(fast_client, 1)
    assert fast_client.patch(f"/ngsi-ld/v1/subscriptions/{sub_id}", json={"isActive": True}).status_code == 204
    set_occupancy(fast_client, 2)
    requests = receiver.wait_for(1)
    assert [r["body"]["data"][0]["occupancy"]["value"] for r in requests] == [2]


def test_throttling_drops_notifications_inside_the_window(fast_client, receiver):
    fast_client.post("/ngsi-ld/v1/entities", json=SHELTER)
    subscribe(fast_client, receiver.url, throttling=60)
    for value in range(5):
        set_occupancy(fast_client, value)
    requests = receiver.wait_for(2, timeout=1.5)
    assert [r["body"]["data"][0]["occupancy"]["value"] for r in requests] == [0]


def test_statistics_do_not_overwrite_a_change_made_through_another_process(fast_client, receiver):
    """The delivering process writes only the statistics into the subscription as stored now: a
    description changed meanwhile through another worker (which wrote the store directly) stays."""
    fast_client.post("/ngsi-ld/v1/entities", json=SHELTER)
    sub_id = subscribe(fast_client, receiver.url)
    store = fast_client.app.state.toshi.store
    stored = fast_client.portal.call(store.subscriptions.get, "", sub_id)
    fast_client.portal.call(store.subscriptions.put, "", {**stored, "description": "changed elsewhere"})
    set_occupancy(fast_client, 11)
    receiver.wait_for(1)
    assert wait_until(lambda: fast_client.get(f"/ngsi-ld/v1/subscriptions/{sub_id}").json()
                      .get("notification", {}).get("timesSent") == 1)
    assert fast_client.get(f"/ngsi-ld/v1/subscriptions/{sub_id}").json()["description"] == "changed elsewhere"
