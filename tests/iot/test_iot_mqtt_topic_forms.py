"""docs/iot.md: every MQTT topic works with or without the leading `/` (against a real Mosquitto)."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from mqtt_support import Device
from starlette.testclient import TestClient
from support import require_mosquitto, wait_until

from toshi.app import create_app

H = {"Fiware-Service": "city", "Fiware-ServicePath": "/"}


@pytest.fixture
def agent(settings):
    require_mosquitto()
    mqtt = dataclasses.replace(settings, iot_mqtt_url="mqtt://127.0.0.1:1883",
                               iot_mqtt_client_id=f"toshi-test-{uuid.uuid4()}")
    with TestClient(create_app(mqtt)) as client:
        assert wait_until(lambda: client.get("/admin/iot/status").json()["mqtt"]["connected"], 10)
        yield client


def temperature(client, device: str):
    r = client.get(f"/v2/entities/Meter:{device}/attrs/temperature/value", headers=H)
    return r.json() if r.status_code == 200 else None


@pytest.mark.parametrize("form", ["{key}/{dev}/attrs", "ul/{key}/{dev}/attrs", "json/{key}/{dev}/attrs",
                                  "{key}/{dev}/attrs/t", "ul/{key}/{dev}/attrs/t", "json/{key}/{dev}/attrs/t"])
def test_a_topic_without_the_leading_slash(agent, form):
    key, dev = f"k{uuid.uuid4().hex[:8]}", f"d{uuid.uuid4().hex[:6]}"
    protocol = "IoTA-JSON" if form.startswith("json") else "IoTA-UL"
    r = agent.post("/iot/services", headers=H, json={"services": [{
        "apikey": key, "resource": "/iot/d", "entity_type": "Meter",
        "attributes": [{"object_id": "t", "name": "temperature", "type": "Number"}]}]})
    assert r.status_code == 201, r.text
    r = agent.post("/iot/devices", headers=H, json={"devices": [{"device_id": dev, "protocol": protocol,
                                                                  "transport": "MQTT"}]})
    assert r.status_code == 201, r.text
    topic = form.format(key=key, dev=dev)
    payload = "21.5" if topic.endswith("/t") else ('{"t": 21.5}' if protocol == "IoTA-JSON" else "t|21.5")
    device = Device()
    try:
        device.publish(topic, payload, qos=1)
        assert wait_until(lambda: temperature(agent, dev) == 21.5), topic
    finally:
        device.close()
