import dataclasses

import pytest
from starlette.testclient import TestClient
from support import FixedAnswer, wait_until

from toshi.app import create_app
from toshi.iot.measures import Rejected, convert

H = {"Fiware-Service": "smart", "Fiware-ServicePath": "/gardens"}
V2 = {"Fiware-Service": "smart", "Fiware-ServicePath": "/gardens"}


def provision(client, **device):
    r = client.post("/iot/services", headers=H, json={"services": [{
        "apikey": "k1", "resource": "/iot/d", "entity_type": "Sensor",
        "attributes": [{"object_id": "t", "name": "temperature", "type": "Number"}],
        "static_attributes": [{"name": "owner", "type": "Text", "value": "city"}]}]})
    assert r.status_code == 201, r.text
    body = {"device_id": "s1", "entity_type": "Sensor", "protocol": "PDI-IoTA-UltraLight", "transport": "HTTP",
            "attributes": [{"object_id": "h", "name": "humidity", "type": "Integer"},
                           {"object_id": "f", "name": "fahrenheit", "type": "Number", "expression": "${@t * 1.8 + 32}"},
                           {"object_id": "on", "name": "active", "type": "Boolean"},
                           {"object_id": "p", "name": "location", "type": "geo:point"},
                           {"object_id": "d", "name": "seen", "type": "DateTime"}],
            "static_attributes": [{"name": "model", "type": "Text", "value": "X1"}], **device}
    r = client.post("/iot/devices", headers=H, json={"devices": [body]})
    assert r.status_code == 201, r.text


def test_group_crud_and_errors(client):
    r = client.post("/iot/services", headers=H, json={"services": [{"apikey": "k", "resource": "/iot/d"}]})
    assert r.status_code == 201
    r = client.post("/iot/services", headers=H, json={"services": [{"apikey": "k", "resource": "/iot/d"}]})
    assert r.status_code == 409 and r.json()["name"] == "DUPLICATE_GROUP"
    assert client.post("/iot/services", json={"services": []}).json()["name"] == "MISSING_HEADERS"
    r = client.post("/iot/services", headers=H, json={"services": [{"resource": "/iot/d"}]})
    assert r.status_code == 400 and r.json()["name"] == "MISSING_CONFIG_PARAMS"
    r = client.post("/iot/services", headers=H, content=b"{nope")
    assert r.status_code == 400 and r.json()["name"] == "WRONG_SYNTAX"
    r = client.post("/iot/services", headers=H, json={"services": [{"apikey": "z", "resource": "/iot/d",
                    "attributes": [{"name": "x", "type": "Number", "expression": "__import__('os')"}]}]})
    assert r.status_code == 400 and r.json()["name"] == "INVALID_EXPRESSION"
    listed = client.get("/iot/services?limit=1&offset=0", headers=H).json()
    assert listed["count"] == 1 and listed["services"][0]["apikey"] == "k"
    assert client.get("/iot/services", headers={**H, "Fiware-ServicePath": "/other"}).json()["count"] == 0
    r = client.put("/iot/services?resource=/iot/d&apikey=k", headers=H, json={"entity_type": "Meter"})
    assert r.status_code == 204
    assert client.get("/iot/services", headers=H).json()["services"][0]["entity_type"] == "Meter"
    assert client.delete("/iot/services?resource=/iot/d&apikey=k", headers=H).status_code == 204
    r = client.delete("/iot/services?resource=/iot/d&apikey=k", headers=H)
    assert r.status_code == 404 and r.json()["name"] == "DEVICE_GROUP_NOT_FOUND"


def test_device_crud_creates_entity(client):
    provision(client)
    r = client.post("/iot/devices", headers=H, json={"devices": [{"device_id": "s1"}]})
    assert r.status_code == 409 and r.json()["name"] == "DUPLICATE_DEVICE_ID"
    device = client.get("/iot/devices/s1", headers=H).json()
    assert device["entity_name"] == "Sensor:s1" and device["apikey"] == "k1"
    assert device["measures"] == {"received": 0, "accepted": 0, "rejected": {}}
    assert client.get("/iot/devices", headers=H).json()["count"] == 1
    entity = client.get("/v2/entities/Sensor:s1?options=keyValues", headers=V2).json()
    assert entity == {"id": "Sensor:s1", "type": "Sensor", "owner": "city", "model": "X1"}
    assert client.put("/iot/devices/s1", headers=H, json={"timezone": "Asia/Tokyo"}).status_code == 204
    assert client.get("/iot/devices/s1", headers=H).json()["timezone"] == "Asia/Tokyo"
    assert client.delete("/iot/devices/s1", headers=H).status_code == 204
    r = client.get("/iot/devices/s1", headers=H)
    assert r.status_code == 404 and r.json()["name"] == "DEVICE_NOT_FOUND"
    assert client.get("/iot/about").json()["libVersion"].startswith("toshi")


def test_ul_measures_update_entity(client):
    provision(client)
    r = client.post("/iot/d?k=k1&i=s1", content=b"t|25|h|40|on|true|p|34.82, 135.47|x|foo")
    assert r.status_code == 200, r.text
    e = client.get("/v2/entities/Sensor:s1", headers=V2).json()
    assert e["temperature"]["value"] == 25 and e["temperature"]["type"] == "Number"
    assert e["temperature"]["metadata"]["TimeInstant"]["type"] == "DateTime"
    assert e["humidity"] == {"type": "Integer", "value": 40, "metadata": e["humidity"]["metadata"]}
    assert e["active"]["value"] is True and e["x"]["value"] == "foo"
    assert e["location"]["type"] == "geo:point" and e["location"]["value"] == "34.82, 135.47"
    ld = client.get("/ngsi-ld/v1/entities/Sensor:s1", headers={"NGSILD-Tenant": "smart"}).json()
    assert ld["location"]["type"] == "GeoProperty"
    assert ld["location"]["value"]["coordinates"] == [135.47, 34.82]
    assert ld["temperature"]["observedAt"]


def test_ul_groups_with_timestamps_and_expression(client):
    provision(client)
    r = client.post("/iot/d?k=k1&i=s1", content=b"2026-01-01T00:00:00Z|t|10#2026-01-01T01:00:00Z|t|20|f|0")
    assert r.status_code == 200, r.text
    e = client.get("/v2/entities/Sensor:s1", headers=V2).json()
    assert e["temperature"]["value"] == 20 and e["fahrenheit"]["value"] == 68.0
    assert e["TimeInstant"]["value"] == "2026-01-01T01:00:00Z"
    assert e["temperature"]["metadata"]["TimeInstant"]["value"] == "2026-01-01T01:00:00Z"


def test_json_measures(client):
    provision(client)
    r = client.post("/iot/json?k=k1&i=s1", json=[{"t": 21.5, "h": "55"}, {"t": 22, "extra": {"a": 1}}])
    assert r.status_code == 200, r.text
    e = client.get("/v2/entities/Sensor:s1?options=keyValues", headers=V2).json()
    assert e["temperature"] == 22 and e["humidity"] == 55 and e["extra"] == {"a": 1}


def test_bad_input_and_counters(client):
    provision(client)
    for body in (b"", b"t|25|h", b"|25", b"t|1##", b"notatime|t|1|h|2"):
        r = client.post("/iot/d?k=k1&i=s1", content=body)
        assert r.status_code == 400, body
    r = client.post("/iot/json?k=k1&i=s1", content=b"[1,2]")
    assert r.status_code == 400
    r = client.post("/iot/d?k=k1&i=s1", content=b"t|hot|h|4.5|on|maybe|d|2026-01-01T00:00:00Z")
    assert r.status_code == 200
    device = client.get("/iot/devices/s1", headers=H).json()
    assert device["measures"]["rejected"]["type"] == 3 and device["measures"]["accepted"] == 1
    assert device["measures"]["rejected"]["payload"] == 6 and device["lastSeen"]
    r = client.post("/iot/d?k=k1&i=s1", content=b"t|hot")
    assert r.status_code == 400
    r = client.post("/iot/d?k=nokey&i=s1", content=b"t|1")
    assert r.status_code == 404 and r.json()["name"] == "DEVICE_GROUP_NOT_FOUND"
    assert client.post("/iot/d?k=k1", content=b"t|1").status_code == 400


def test_autoprovision(client):
    provision(client)
    r = client.post("/iot/d?k=k1&i=new1", content=b"t|7")
    assert r.status_code == 200, r.text
    e = client.get("/v2/entities/Sensor:new1?options=keyValues", headers=V2).json()
    assert e["temperature"] == 7 and e["owner"] == "city"
    client.put("/iot/services?resource=/iot/d&apikey=k1", headers=H, json={"autoprovision": False})
    r = client.post("/iot/d?k=k1&i=new2", content=b"t|7")
    assert r.status_code == 404 and r.json()["name"] == "DEVICE_NOT_FOUND"


def test_convert():
    assert convert("25", "Number") == 25 and convert("2.5", "Number") == 2.5
    assert convert("1", "Boolean") is True and convert(3, "Text") == "3"
    for value, kind in (("x", "Integer"), ("2.5", "Integer"), ("nan", "Float"), (True, "Number"),
                        ("yes", "Boolean"), ("monday", "DateTime"), ({"a": 1}, "Text")):
        with pytest.raises(Rejected):
            convert(value, kind)


def test_device_rate_limit(settings):
    limited = dataclasses.replace(settings, iot_device_rate=0.01, iot_device_burst=2)
    with TestClient(create_app(limited)) as client:
        provision(client)
        assert client.post("/iot/d?k=k1&i=s1", content=b"t|1").status_code == 200
        assert client.post("/iot/d?k=k1&i=s1", content=b"t|2").status_code == 200
        r = client.post("/iot/d?k=k1&i=s1", content=b"t|3")
        assert r.status_code == 429 and r.json()["name"] == "TOO_MANY_REQUESTS"
        assert client.post("/iot/d?k=k1&i=other", content=b"t|3").status_code == 200  # not the same device
        assert client.get("/iot/devices/s1", headers=H).json()["measures"]["rejected"] == {"rateLimited": 1}
        assert client.get("/v2/entities/Sensor:s1/attrs/temperature/value", headers=V2).json() == 2


def test_polling_commands_over_http(client):
    provision(client, commands=[{"name": "ping", "type": "command"}])
    r = client.patch("/v2/entities/Sensor:s1/attrs", headers=V2, json={"ping": {"type": "command", "value": "hi"}})
    assert r.status_code == 204, r.text
    status = lambda: client.get("/v2/entities/Sensor:s1?options=keyValues", headers=V2).json()["ping_status"]  # noqa: E731
    assert wait_until(lambda: status() == "PENDING")
    r = client.get("/iot/d?k=k1&i=s1&getCmd=1")
    assert r.status_code == 200 and r.text == "s1@ping|hi"
    assert wait_until(lambda: status() == "DELIVERED")
    assert client.get("/iot/d?k=k1&i=s1&getCmd=1").text == ""  # delivered once
    r = client.post("/iot/d/cmdexe?k=k1&i=s1", content=b"s1@ping|pong")
    assert r.status_code == 200, r.text
    entity = client.get("/v2/entities/Sensor:s1?options=keyValues", headers=V2).json()
    assert entity["ping_status"] == "OK" and entity["ping_info"] == "pong"
    r = client.post("/iot/d/cmdexe?k=k1&i=s1", content=b"s1@nocmd|x")
    assert r.status_code == 400


def test_push_commands_to_the_device_endpoint(client):
    device = FixedAnswer(b"s1@ping|done", "text/plain")
    try:
        provision(client, commands=[{"name": "ping"}], endpoint=f"{device.url}/cmd")
        client.patch("/v2/entities/Sensor:s1/attrs", headers=V2, json={"ping": {"type": "command", "value": 3}})
        info = lambda: client.get("/v2/entities/Sensor:s1?options=keyValues", headers=V2).json()["ping_info"]  # noqa: E731
        assert wait_until(lambda: info() == "done")
        assert device.bodies == [b"s1@ping|3"]
    finally:
        device.close()


def test_unreachable_device_endpoint_sets_error(client):
    provision(client, commands=[{"name": "ping"}], endpoint="http://127.0.0.1:9/cmd")
    client.patch("/v2/entities/Sensor:s1/attrs", headers=V2, json={"ping": {"type": "command", "value": 1}})
    status = lambda: client.get("/v2/entities/Sensor:s1?options=keyValues", headers=V2).json()["ping_status"]  # noqa: E731
    assert wait_until(lambda: status() == "ERROR")


def test_entity_name_expression_and_device_time_zone(client):
    r = client.post("/iot/services", headers=H, json={"services": [{
        "apikey": "kz", "resource": "/iot/d", "entity_type": "Meter", "timezone": "Asia/Tokyo",
        "entityNameExp": "'urn:ngsi-ld:' + type + ':' + id"}]})
    assert r.status_code == 201, r.text
    assert client.post("/iot/d?k=kz&i=m7", content=b"2026-01-01T09:00:00|t|5").status_code == 200
    e = client.get("/v2/entities/urn:ngsi-ld:Meter:m7", headers=V2).json()
    assert e["TimeInstant"]["value"] == "2026-01-01T09:00:00.000+09:00"
    assert e["t"]["metadata"]["TimeInstant"]["value"] == "2026-01-01T09:00:00.000+09:00"
    assert client.post("/iot/d?k=kz&i=m7", content=b"t|6").status_code == 200
    e = client.get("/v2/entities/urn:ngsi-ld:Meter:m7", headers=V2).json()
    assert e["TimeInstant"]["value"].endswith("+09:00") and e["t"]["value"] == "6"
    assert client.post("/iot/d?k=kz&i=m7", content=b"2026-01-01T00:00:00Z|t|7").status_code == 200
    assert client.get("/v2/entities/urn:ngsi-ld:Meter:m7", headers=V2).json()["TimeInstant"]["value"] == \
        "2026-01-01T00:00:00Z"  # an explicit offset is kept
    r = client.post("/iot/services", headers=H, json={"services": [{"apikey": "kb", "resource": "/iot/d",
                                                                    "entityNameExp": "id +"}]})
    assert r.status_code == 400 and r.json()["name"] == "INVALID_EXPRESSION"
    r = client.post("/iot/devices", headers=H, json={"devices": [{"device_id": "x", "timezone": "Mars/Olympus"}]})
    assert r.status_code == 400 and r.json()["name"] == "WRONG_SYNTAX"
