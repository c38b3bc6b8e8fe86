"""NGSI-v2 MQTT notifications as the manual's `subscription.notification.mqtt` / `mqttCustom` and "MQTT
notifications" say: `qos` and `retain` (false and 0 when omitted, rendered so, as Orion's MqttInfo does),
`user` / `passwd` (the password "always obfuscated when retrieving subscription information"), published
to the Mosquitto on 127.0.0.1:1883. One app for the module; each test has topics of its own."""

from __future__ import annotations

import dataclasses
import json
import uuid

import paho.mqtt.client as mqtt
import pytest
from starlette.testclient import TestClient
from support import require_mosquitto, wait_until

from toshi.app import create_app
from toshi.config import Settings

BROKER = "mqtt://127.0.0.1:1883"


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    settings = Settings(data_dir=str(tmp_path_factory.mktemp("mqtt") / "data"))
    with TestClient(create_app(dataclasses.replace(settings, notify_timeout=2.0))) as client:
        yield client


@pytest.fixture
def topic():
    return f"toshi/v2mqtt/{uuid.uuid4()}"


class Listener:
    """A Mosquitto client subscribed to `topic` (it sees what the broker retains there)."""

    def __init__(self, topic: str):
        self.messages: list[mqtt.MQTTMessage] = []
        ready: list[bool] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = lambda c, u, message: self.messages.append(message)
        self.client.on_subscribe = lambda *args: ready.append(True)
        self.client.connect("127.0.0.1", 1883)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()
        assert wait_until(lambda: ready)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def subscribe(client, entity_id: str, channel: str, spec: dict) -> str:
    response = client.post("/v2/subscriptions", json={"subject": {"entities": [{"id": entity_id}]},
                                                      "notification": {channel: spec}})
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def create(client, entity_id: str) -> None:
    response = client.post("/v2/entities", json={"id": entity_id, "type": "Room", "temperature": {"value": 20}})
    assert response.status_code == 201, response.text


def test_qos_and_retain_are_rendered_with_their_defaults(v2):
    sub_id = subscribe(v2, "Q1", "mqtt", {"url": BROKER, "topic": "rooms"})
    assert v2.get(f"/v2/subscriptions/{sub_id}").json()["notification"]["mqtt"] == {
        "url": BROKER, "topic": "rooms", "qos": 0, "retain": False}


def test_the_password_is_obfuscated_when_retrieved(v2):
    sub_id = subscribe(v2, "Q2", "mqttCustom", {"url": BROKER, "topic": "rooms", "qos": 2, "retain": True,
                                                "user": "town", "passwd": "secret", "payload": "t"})
    assert v2.get(f"/v2/subscriptions/{sub_id}").json()["notification"]["mqttCustom"] == {
        "url": BROKER, "topic": "rooms", "qos": 2, "retain": True, "user": "town", "passwd": "*****", "payload": "t"}
    listed = [s for s in v2.get("/v2/subscriptions").json() if s["id"] == sub_id]
    assert listed[0]["notification"]["mqttCustom"]["passwd"] == "*****"


def test_a_retained_notification_reaches_a_later_subscriber(v2, topic):
    require_mosquitto()
    subscribe(v2, "R1", "mqtt", {"url": BROKER, "topic": topic, "retain": True})
    early = Listener(topic)
    try:
        create(v2, "R1")
        assert wait_until(lambda: early.messages)
    finally:
        early.close()
    late = Listener(topic)  # connected after the notification: only a retained message reaches it
    try:
        assert wait_until(lambda: late.messages)
        assert late.messages[0].retain and json.loads(late.messages[0].payload)["data"][0]["id"] == "R1"
    finally:
        late.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)  # clear the broker's copy
        late.close()


def test_a_notification_without_retain_is_not_kept_by_the_broker(v2, topic):
    require_mosquitto()
    subscribe(v2, "R2", "mqtt", {"url": BROKER, "topic": topic})
    early = Listener(topic)
    try:
        create(v2, "R2")
        assert wait_until(lambda: early.messages)
        assert not early.messages[0].retain
    finally:
        early.close()
    late = Listener(topic)
    try:
        marker = f"{topic}/marker"
        late.client.subscribe(marker, qos=1)
        late.client.publish(marker, b"m", qos=1).wait_for_publish(5)
        assert wait_until(lambda: any(m.topic == marker for m in late.messages))  # all before it arrived
        assert [m.topic for m in late.messages] == [marker]
    finally:
        late.close()


def test_credentials_with_url_characters_reach_the_broker(v2, topic):
    require_mosquitto()
    sub_id = subscribe(v2, "C1", "mqtt", {"url": BROKER, "topic": topic, "user": "town@hall",
                                          "passwd": "p@ss:w/rd?#"})
    listener = Listener(topic)
    try:
        create(v2, "C1")
        assert wait_until(lambda: listener.messages)
        assert json.loads(listener.messages[0].payload)["data"][0]["id"] == "C1"
        assert "failsCounter" not in v2.get(f"/v2/subscriptions/{sub_id}").json()["notification"]
    finally:
        listener.close()
