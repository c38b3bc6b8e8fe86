"""The IoT agent over MQTT against a real Mosquitto: measures on every topic form, commands round
trip, bad messages, and a broker restart in the middle of ingestion."""

from __future__ import annotations

import dataclasses
import time
import uuid

import pytest
from mqtt_support import Broker, Device
from starlette.testclient import TestClient
from support import require_mosquitto, wait_until

from toshi.app import create_app

H = {"Fiware-Service": "city", "Fiware-ServicePath": "/"}


@pytest.fixture
def mqtt_settings(settings):
    require_mosquitto()
    return dataclasses.replace(settings, iot_mqtt_url="mqtt://127.0.0.1:1883",
                               iot_mqtt_client_id=f"toshi-test-{uuid.uuid4()}", iot_command_timeout=30.0)


def start(settings) -> TestClient:
    client = TestClient(create_app(settings))
    client.__enter__()
    assert wait_until(lambda: client.get("/admin/iot/status").json()["mqtt"]["connected"], 10)
    return client


@pytest.fixture
def agent(mqtt_settings):
    client = start(mqtt_settings)
    yield client
    client.__exit__(None, None, None)


def provision(client, apikey: str, **device) -> None:
    r = client.post("/iot/services", headers=H, json={"services": [{
        "apikey": apikey, "resource": "/iot/d", "entity_type": "Meter",
        "attributes": [{"object_id": "t", "name": "temperature", "type": "Number"},
                       {"object_id": "n", "name": "count", "type": "Integer"}]}]})
    assert r.status_code == 201, r.text
    if device:
        r = client.post("/iot/devices", headers=H, json={"devices": [device]})
        assert r.status_code == 201, r.text


def value(client, entity_id: str, attr: str):
    r = client.get(f"/v2/entities/{entity_id}/attrs/{attr}/value", headers=H)
    return r.json() if r.status_code == 200 else None


def test_measures_on_every_topic_form(agent):
    key = f"k{uuid.uuid4().hex[:8]}"
    provision(agent, key, device_id="m1", protocol="IoTA-UL", transport="MQTT")
    device = Device()
    try:
        device.publish(f"/{key}/m1/attrs", "t|21.5|n|3", qos=1)
        assert wait_until(lambda: value(agent, "Meter:m1", "temperature") == 21.5)
        device.publish(f"/ul/{key}/m1/attrs", "t|22", qos=0)
        assert wait_until(lambda: value(agent, "Meter:m1", "temperature") == 22)
        device.publish(f"/{key}/m1/attrs/n", "7", qos=1)
        assert wait_until(lambda: value(agent, "Meter:m1", "count") == 7)
        device.publish(f"/json/{key}/j1/attrs", '{"t": 30, "mode": "eco"}', qos=1)  # autoprovisioned
        assert wait_until(lambda: value(agent, "Meter:j1", "mode") == "eco")
        assert value(agent, "Meter:j1", "temperature") == 30
        device.publish(f"{key}/j1/attrs/t", "31", qos=1)  # no leading slash, JSON device by protocol
        assert wait_until(lambda: value(agent, "Meter:j1", "temperature") == 31)
        ld = agent.get("/ngsi-ld/v1/entities/Meter:m1", headers={"NGSILD-Tenant": "city"}).json()
        assert ld["count"]["value"] == 7 and ld["temperature"]["observedAt"]
        counters = agent.get("/iot/devices/m1", headers=H).json()
        assert counters["measures"]["accepted"] == 4 and counters["lastSeen"]
    finally:
        device.close()


def test_bad_messages_are_counted_and_do_not_block_others(agent):
    key = f"k{uuid.uuid4().hex[:8]}"
    provision(agent, key, device_id="m1", transport="MQTT")
    device = Device()
    try:
        device.publish(f"/{key}/m1/attrs", b"\xff\xfe", qos=1)
        device.publish(f"/{key}/m1/attrs", "|5", qos=1)
        device.publish(f"/json/{key}/m1/attrs", "{not json", qos=1)
        device.publish(f"/{key}/m1/attrs", "t|hot", qos=1)
        device.publish(f"/nokey{uuid.uuid4().hex[:6]}/m1/attrs", "t|1", qos=1)
        device.publish(f"/{key}/m1/attrs", "t|5", qos=1)
        assert wait_until(lambda: value(agent, "Meter:m1", "temperature") == 5)
        assert wait_until(lambda: agent.get("/admin/iot/status").json()["refused"].get("DEVICE_GROUP_NOT_FOUND"))
        rejected = agent.get("/iot/devices/m1", headers=H).json()["measures"]["rejected"]
        assert rejected["payload"] == 3 and rejected["type"] == 1
        assert agent.get("/admin/iot/status").json()["mqtt"]["failed"] >= 5
    finally:
        device.close()


def test_commands_round_trip_over_mqtt(agent):
    key = f"k{uuid.uuid4().hex[:8]}"
    provision(agent, key, device_id="lock1", entity_type="SmartLock", transport="MQTT", protocol="IoTA-UL",
              commands=[{"name": "open", "type": "command"}])
    entity = agent.get("/v2/entities/SmartLock:lock1?options=keyValues", headers=H).json()
    assert entity["open_status"] == "UNKNOWN" and entity["open"] == ""
    device = Device()
    try:
        device.subscribe(f"/{key}/lock1/cmd")
        r = agent.patch("/v2/entities/SmartLock:lock1/attrs", headers=H,
                        json={"open": {"type": "command", "value": "now"}})
        assert r.status_code == 204, r.text
        assert wait_until(lambda: device.received)
        assert device.received[0] == (f"/{key}/lock1/cmd", b"lock1@open|now")
        assert wait_until(lambda: value(agent, "SmartLock:lock1", "open_status") == "PENDING")
        device.publish(f"/{key}/lock1/cmdexe", "lock1@open|opened", qos=1)
        assert wait_until(lambda: value(agent, "SmartLock:lock1", "open_status") == "OK")
        assert value(agent, "SmartLock:lock1", "open_info") == "opened"
        # the same command through NGSI-LD
        r = agent.patch("/ngsi-ld/v1/entities/SmartLock:lock1/attrs/open", headers={"NGSILD-Tenant": "city"},
                        json={"value": {"duration": 5}})
        assert r.status_code == 204, r.text
        assert wait_until(lambda: len(device.received) == 2)
        assert device.received[1][1] == b"lock1@open|duration=5"
        counters = agent.get("/iot/devices/lock1", headers=H).json()
        assert counters["measures"]["commands"]["sent"] == 2 and counters["measures"]["commands"]["ok"] == 1
    finally:
        device.close()


def test_unanswered_command_expires(mqtt_settings):
    client = start(dataclasses.replace(mqtt_settings, iot_command_timeout=0.3))
    try:
        key = f"k{uuid.uuid4().hex[:8]}"
        provision(client, key, device_id="d1", transport="MQTT", protocol="IoTA-JSON",
                  commands=[{"name": "reboot"}])
        client.patch("/v2/entities/Meter:d1/attrs", headers=H, json={"reboot": {"type": "command", "value": 1}})
        assert wait_until(lambda: value(client, "Meter:d1", "reboot_info") == "EXPIRED", 5)
        assert value(client, "Meter:d1", "reboot_status") == "ERROR"
    finally:
        client.__exit__(None, None, None)


def test_broker_restart_loses_no_acknowledged_measure(settings):
    require_mosquitto()
    broker = Broker().start()
    app_settings = dataclasses.replace(settings, iot_mqtt_url=f"mqtt://127.0.0.1:{broker.port}",
                                       iot_mqtt_client_id="toshi-restart", iot_device_rate=0)
    client = start(app_settings)
    device = None
    try:
        provision(client, "rk", device_id="r1", transport="MQTT", protocol="IoTA-UL")
        device = Device(broker.port, client_id="sim-r1", clean=False)
        infos = [device.publish("/rk/r1/attrs", f"n|{i}", qos=1) for i in range(300)]
        broker.stop()  # mid-stream: some measures are delivered, some wait in the broker or the simulator
        infos += [device.publish("/rk/r1/attrs", f"n|{i}", qos=1) for i in range(300, 400)]
        broker.start()
        assert wait_until(lambda: all(info.is_published() for info in infos), 20)

        def history() -> set[int]:
            body = client.get("/ngsi-ld/v1/temporal/entities/Meter:r1?attrs=count&options=temporalValues"
                              "&lastN=1000", headers={"NGSILD-Tenant": "city"}).json()
            return {point[0] for point in body.get("count", {}).get("values", [])}

        assert wait_until(lambda: len(history()) >= 400, 20)
        assert history() == set(range(400))  # every measure the broker acknowledged, none lost
    finally:
        if device is not None:
            device.close()
        client.__exit__(None, None, None)
        broker.remove()


def test_broker_with_password_and_tls(settings):
    require_mosquitto()
    broker = Broker(credentials=("toshi", "s3cret"), tls=True).start()
    try:
        secured = dataclasses.replace(settings, iot_mqtt_url=f"mqtts://toshi:s3cret@127.0.0.1:{broker.port}",
                                      iot_mqtt_ca_file=broker.ca_file, iot_mqtt_client_id=f"toshi-{uuid.uuid4()}")
        client = start(secured)
        device = Device(broker.port, credentials=("toshi", "s3cret"), ca_file=broker.ca_file)
        try:
            provision(client, "tk", device_id="t1", transport="MQTT", protocol="IoTA-UL")
            device.publish("/tk/t1/attrs", "t|12.5", qos=1)
            assert wait_until(lambda: value(client, "Meter:t1", "temperature") == 12.5)
        finally:
            device.close()
            client.__exit__(None, None, None)
        wrong = dataclasses.replace(secured, iot_mqtt_url=f"mqtts://toshi:nope@127.0.0.1:{broker.port}")
        with TestClient(create_app(wrong)) as refused:
            time.sleep(1.5)
            status = refused.get("/admin/iot/status").json()["mqtt"]
            assert status["connected"] is False and status["connects"] == 0
    finally:
        broker.remove()
