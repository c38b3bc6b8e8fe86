"""NGSI-v2 subscriptions (Orion behaviour) delivered by the one notifier: CRUD, validation, matching,
rendering, custom notifications, MQTT, and firing across the two APIs."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from starlette.testclient import TestClient
from support import Receiver, free_port, require_mosquitto, wait_until

from toshi.app import create_app

ROOM = {"id": "Room1", "type": "Room", "temperature": {"value": 20, "type": "Number"},
        "pressure": {"value": 720, "type": "Number"}}


class RawReceiver:
    """An HTTP receiver on 127.0.0.1 that records any method and the raw body (custom notifications)."""

    def __init__(self):
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self):
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                owner.requests.append({"method": self.command, "path": self.path,
                                       "headers": dict(self.headers), "raw": raw})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_PUT = do_PATCH = _record  # noqa: N815 - http.server's naming

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def raw_receiver():
    r = RawReceiver()
    yield r
    r.close()


def subscribe(client, url: str, headers: dict | None = None, **extra) -> str:
    notification = extra.pop("notification", {})
    subject = extra.pop("subject", {"entities": [{"idPattern": ".*", "type": "Room"}]})
    channel = {} if any(k in notification for k in ("httpCustom", "mqtt", "mqttCustom")) else {"http": {"url": url}}
    payload = {"subject": subject, "notification": {**channel, **notification}, **extra}
    response = client.post("/v2/subscriptions", json=payload, headers=headers or {})
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    assert re.fullmatch(r"/v2/subscriptions/[0-9a-f]{24}", location)
    return location.rsplit("/", 1)[-1]


def patch(client, entity_id: str, attrs: dict, headers: dict | None = None) -> None:
    response = client.patch(f"/v2/entities/{entity_id}/attrs", json=attrs, headers=headers or {})
    assert response.status_code == 204, response.text


def quiet(receiver: Receiver, count: int, wait: float = 0.6) -> list[dict]:
    """The requests after waiting a little: for asserting that nothing more arrives."""
    time.sleep(wait)
    return receiver.requests[:] if len(receiver.requests) >= count else receiver.wait_for(count)


# -- CRUD -----------------------------------------------------------------------------------------

def test_create_get_list_patch_delete(client):
    payload = {"description": "rooms", "subject": {"entities": [{"id": "Room1", "type": "Room"}],
                                                   "condition": {"attrs": ["temperature"]}},
               "notification": {"http": {"url": "http://127.0.0.1:9/n"}, "attrs": ["temperature"]},
               "expires": "2099-01-01T00:00:00.00Z", "throttling": 5}
    created = client.post("/v2/subscriptions", json=payload)
    assert created.status_code == 201
    sub_id = created.headers["location"].rsplit("/", 1)[-1]
    sub = client.get(f"/v2/subscriptions/{sub_id}").json()
    assert sub["id"] == sub_id and sub["status"] == "active" and sub["throttling"] == 5
    assert sub["subject"] == {"entities": [{"id": "Room1", "type": "Room"}],
                              "condition": {"attrs": ["temperature"], "notifyOnMetadataChange": True}}
    assert sub["notification"]["http"] == {"url": "http://127.0.0.1:9/n"}
    assert sub["notification"]["attrsFormat"] == "normalized"
    listed = client.get("/v2/subscriptions?options=count")
    assert [s["id"] for s in listed.json()] == [sub_id] and listed.headers["fiware-total-count"] == "1"
    assert client.patch(f"/v2/subscriptions/{sub_id}", json={"status": "inactive"}).status_code == 204
    assert client.get(f"/v2/subscriptions/{sub_id}").json()["status"] == "inactive"
    assert client.get(f"/v2/subscriptions/{sub_id}").json()["description"] == "rooms"
    assert client.delete(f"/v2/subscriptions/{sub_id}").status_code == 204
    gone = client.get(f"/v2/subscriptions/{sub_id}")
    assert gone.status_code == 404
    assert gone.json() == {"error": "NotFound", "description": "The requested subscription has not been found. Check id"}
    assert client.delete(f"/v2/subscriptions/{sub_id}").status_code == 404


def test_list_paging_and_tenants(client):
    ids = [subscribe(client, "http://127.0.0.1:9/n") for _ in range(3)]
    assert [s["id"] for s in client.get("/v2/subscriptions?limit=2&offset=1").json()] == ids[1:]
    other = {"Fiware-Service": "Other"}
    subscribe(client, "http://127.0.0.1:9/n", headers=other)
    assert len(client.get("/v2/subscriptions", headers=other).json()) == 1
    assert client.get(f"/v2/subscriptions/{ids[0]}", headers=other).status_code == 404


def test_apis_do_not_see_each_others_subscriptions(client):
    v2_id = subscribe(client, "http://127.0.0.1:9/n")
    ld = {"type": "Subscription", "entities": [{"type": "Room"}],
          "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}}}
    assert client.post("/ngsi-ld/v1/subscriptions", json=ld).status_code == 201
    assert [s["id"] for s in client.get("/v2/subscriptions").json()] == [v2_id]
    ld_list = client.get("/ngsi-ld/v1/subscriptions").json()
    assert len(ld_list) == 1 and ld_list[0]["id"].startswith("urn:")
    assert client.get(f"/v2/subscriptions/{ld_list[0]['id']}").status_code == 404


@pytest.mark.parametrize("payload, description", [
    ({"notification": {"http": {"url": "http://a/b"}}}, "no subject for subscription specified"),
    ({"subject": {"entities": [{"id": "A"}]}}, "no notification for subscription specified"),
    ({"subject": {}, "notification": {"http": {"url": "http://a/b"}}}, "no subject entities specified"),
    ({"subject": {"entities": [{"type": "A"}]}, "notification": {"http": {"url": "http://a/b"}}},
     "/entities/ vector item does not have /id/ nor /idPattern/"),
    ({"subject": {"entities": [{"id": "A", "idPattern": ".*"}]}, "notification": {"http": {"url": "http://a/b"}}},
     "/entities/ vector item has both /id/ and /idPattern/"),
    ({"subject": {"entities": [{"id": "A"}]}, "notification": {"attrs": []}},
     "http, httpCustom, mqtt or mqttCustom is missing"),
    ({"subject": {"entities": [{"id": "A"}]},
      "notification": {"http": {"url": "http://a/b"}, "attrsFormat": "xml"}},
     "invalid attrsFormat, accepted values: normalized, keyValues, values, simplifiedNormalized, "
     "simplifiedKeyValues, legacy"),
    ({"subject": {"entities": [{"id": "A"}]}, "notification": {"http": {"url": "ftp://a/b"}}},
     "Invalid URL parsing notification url"),
    ({"subject": {"entities": [{"id": "A"}]}, "notification": {"http": {"url": "http://a/b"}},
      "expires": "tomorrow"}, "expires has an invalid format"),
    ({"subject": {"entities": [{"id": "A"}]}, "notification": {"http": {"url": "http://a/b"}},
      "status": "paused"}, "status is not valid: it has to be either active, inactive or oneshot"),
    ({"subject": {"entities": [{"id": "A"}]}, "notification": {"http": {"url": "http://a/b"}},
      "throttling": -1}, "Negative Number not allowed in throttling"),
    ({"subject": {"entities": [{"id": "A"}], "condition": {"alterationTypes": ["entityGone"]}},
      "notification": {"http": {"url": "http://a/b"}}},
     "unknown subscription alterationType: entityGone"),
    ({"subject": {"entities": [{"id": "A"}]},
      "notification": {"http": {"url": "http://a/b"}, "attrs": ["x"], "exceptAttrs": ["y"]}},
     "http notification has attrs and exceptAttrs"),
    ({"subject": {"entities": [{"id": "A"}]},
      "notification": {"http": {"url": "http://a/b"}, "mqtt": {"url": "mqtt://a", "topic": "t"}}},
     "only one of http, httpCustom, mqtt or mqttCustom is allowed"),
    ({"subject": {"entities": [{"id": "A"}]},
      "notification": {"httpCustom": {"url": "http://a/b", "method": "FETCH"}}},
     "unknown method httpCustom notification"),
])
def test_validation_errors(client, payload, description):
    response = client.post("/v2/subscriptions", json=payload)
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "BadRequest", "description": description}


def test_bad_q_and_media(client):
    bad_q = {"subject": {"entities": [{"id": "A"}], "condition": {"expression": {"q": ""}}},
             "notification": {"http": {"url": "http://a/b"}}}
    assert client.post("/v2/subscriptions", json=bad_q).status_code == 400
    bad_mq = {"subject": {"entities": [{"id": "A"}], "condition": {"expression": {"mq": "temperature"}}},
              "notification": {"http": {"url": "http://a/b"}}}
    assert client.post("/v2/subscriptions", json=bad_mq).status_code == 400
    text = client.post("/v2/subscriptions", content=b"x", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    sub_id = subscribe(client, "http://a/b")
    bad_patch = client.patch(f"/v2/subscriptions/{sub_id}", json={"status": "nope"})
    assert bad_patch.status_code == 400 and bad_patch.json()["error"] == "BadRequest"


# -- what fires -----------------------------------------------------------------------------------

def test_default_alteration_types_create_and_change_not_same_value(fast_client, receiver):
    sub_id = subscribe(fast_client, receiver.url)
    assert fast_client.post("/v2/entities", json=ROOM).status_code == 201
    patch(fast_client, "Room1", {"temperature": {"value": 20, "type": "Number"}})  # no actual change
    patch(fast_client, "Room1", {"temperature": {"value": 25, "type": "Number"}})
    requests = quiet(receiver, 2)
    assert len(requests) == 2
    first, second = requests
    assert first["body"]["subscriptionId"] == sub_id
    assert first["body"]["data"][0]["temperature"] == {"type": "Number", "value": 20, "metadata": {}}
    assert second["body"]["data"][0]["temperature"]["value"] == 25
    headers = second["headers"]
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["Ngsiv2-AttrsFormat"] == "normalized"
    assert headers["Fiware-ServicePath"] == "/"
    assert "Fiware-Service" not in headers and "NGSILD-Tenant" not in headers and "Link" not in headers


def test_entity_update_fires_on_same_value_and_delete(fast_client, receiver):
    fast_client.post("/v2/entities", json=ROOM)
    subscribe(fast_client, receiver.url, subject={"entities": [{"id": "Room1", "type": "Room"}],
                                                  "condition": {"alterationTypes": ["entityUpdate", "entityDelete"]}})
    patch(fast_client, "Room1", {"temperature": {"value": 20, "type": "Number"}})
    assert fast_client.delete("/v2/entities/Room1").status_code == 204
    requests = quiet(receiver, 2)
    assert len(requests) == 2
    assert requests[1]["body"]["data"][0]["id"] == "Room1"


def test_entity_create_only(fast_client, receiver):
    subscribe(fast_client, receiver.url, subject={"entities": [{"idPattern": "^Room"}],
                                                  "condition": {"alterationTypes": ["entityCreate"]}})
    fast_client.post("/v2/entities", json=ROOM)
    patch(fast_client, "Room1", {"temperature": {"value": 30}})
    fast_client.post("/v2/entities", json={**ROOM, "id": "Room2"})
    requests = quiet(receiver, 2)
    assert sorted(r["body"]["data"][0]["id"] for r in requests) == ["Room1", "Room2"]


def test_condition_attrs_and_q(fast_client, receiver):
    fast_client.post("/v2/entities", json=ROOM)
    subscribe(fast_client, receiver.url,
              subject={"entities": [{"id": "Room1", "type": "Room"}],
                       "condition": {"attrs": ["temperature"], "expression": {"q": "temperature>30"}}})
    patch(fast_client, "Room1", {"pressure": {"value": 700}})        # not a condition attribute
    patch(fast_client, "Room1", {"temperature": {"value": 25}})      # q does not hold
    patch(fast_client, "Room1", {"temperature": {"value": 35}})
    requests = quiet(receiver, 1)
    assert [r["body"]["data"][0]["temperature"]["value"] for r in requests] == [35]


def test_type_pattern_and_service_path(fast_client, receiver):
    sp = {"Fiware-ServicePath": "/Toyono"}
    subscribe(fast_client, receiver.url, subject={"entities": [{"idPattern": ".*", "typePattern": "^Ro"}]},
              headers=sp)
    fast_client.post("/v2/entities", json=ROOM)                                  # root path: not notified
    fast_client.post("/v2/entities", json={**ROOM, "id": "Room2"}, headers=sp)
    fast_client.post("/v2/entities", json={**ROOM, "id": "Car1", "type": "Car"}, headers=sp)
    requests = quiet(receiver, 1)
    assert [r["body"]["data"][0]["id"] for r in requests] == ["Room2"]
    assert requests[0]["headers"]["Fiware-ServicePath"] == "/Toyono"


# -- what is notified -----------------------------------------------------------------------------

def test_attrs_except_attrs_and_formats(fast_client, receiver):
    fast_client.post("/v2/entities", json=ROOM)
    subscribe(fast_client, receiver.url, notification={"attrs": ["pressure"], "attrsFormat": "keyValues"})
    subscribe(fast_client, receiver.url, notification={"exceptAttrs": ["pressure"], "attrsFormat": "values"})
    subscribe(fast_client, receiver.url, notification={"attrs": ["temperature"],
                                                        "attrsFormat": "simplifiedKeyValues"})
    subscribe(fast_client, receiver.url, notification={"attrs": ["temperature"],
                                                        "attrsFormat": "simplifiedNormalized"})
    patch(fast_client, "Room1", {"temperature": {"value": 21}})
    bodies = {r["headers"]["Ngsiv2-AttrsFormat"]: r["body"] for r in receiver.wait_for(4)}
    assert bodies["keyValues"]["data"] == [{"id": "Room1", "type": "Room", "pressure": 720}]
    assert bodies["values"]["data"] == [[21]]
    assert bodies["simplifiedKeyValues"] == {"id": "Room1", "type": "Room", "temperature": 21}
    assert bodies["simplifiedNormalized"] == {"id": "Room1", "type": "Room",
                                              "temperature": {"type": "Number", "value": 21, "metadata": {}}}


def test_only_changed_attrs_covered_and_metadata(fast_client, receiver):
    fast_client.post("/v2/entities", json=ROOM)
    subscribe(fast_client, receiver.url, notification={"onlyChangedAttrs": True})
    subscribe(fast_client, receiver.url, notification={"attrs": ["temperature", "humidity", "dateModified"],
                                                        "covered": True, "attrsFormat": "keyValues"})
    patch(fast_client, "Room1", {"temperature": {"value": 22}})
    bodies = {r["headers"]["Ngsiv2-AttrsFormat"]: r["body"] for r in receiver.wait_for(2)}
    assert set(bodies["normalized"]["data"][0]) == {"id", "type", "temperature"}
    covered = bodies["keyValues"]["data"][0]
    assert covered["temperature"] == 22 and covered["humidity"] is None and "dateModified" in covered


def test_throttling(fast_client, receiver):
    fast_client.post("/v2/entities", json=ROOM)
    subscribe(fast_client, receiver.url, throttling=60)
    for value in range(30, 35):
        patch(fast_client, "Room1", {"temperature": {"value": value}})
    requests = quiet(receiver, 1, wait=1.0)
    assert [r["body"]["data"][0]["temperature"]["value"] for r in requests] == [30]


def test_oneshot_becomes_inactive(fast_client, receiver):
    fast_client.post("/v2/entities", json=ROOM)
    sub_id = subscribe(fast_client, receiver.url, status="oneshot")
    patch(fast_client, "Room1", {"temperature": {"value": 40}})
    receiver.wait_for(1)
    patch(fast_client, "Room1", {"temperature": {"value": 41}})
    assert len(quiet(receiver, 1)) == 1
    sub = fast_client.get(f"/v2/subscriptions/{sub_id}").json()
    assert sub["status"] == "inactive" and sub["notification"]["timesSent"] == 1
    fast_client.patch(f"/v2/subscriptions/{sub_id}", json={"status": "oneshot"})
    patch(fast_client, "Room1", {"temperature": {"value": 42}})
    assert len(receiver.wait_for(2)) == 2


def test_expired_subscription_is_silent(fast_client, receiver):
    fast_client.post("/v2/entities", json=ROOM)
    sub_id = subscribe(fast_client, receiver.url, expires="2001-01-01T00:00:00Z")
    assert fast_client.get(f"/v2/subscriptions/{sub_id}").json()["status"] == "expired"
    patch(fast_client, "Room1", {"temperature": {"value": 50}})
    assert quiet(receiver, 0) == []
    fast_client.patch(f"/v2/subscriptions/{sub_id}", json={"expires": "2099-01-01T00:00:00Z"})
    patch(fast_client, "Room1", {"temperature": {"value": 51}})
    assert len(receiver.wait_for(1)) == 1


def test_statistics_and_max_fails_limit(fast_client):
    down = f"http://127.0.0.1:{free_port()}/notify"  # nobody listens: each notification fails once
    fast_client.post("/v2/entities", json=ROOM)
    sub_id = subscribe(fast_client, down, notification={"http": {"url": down}, "maxFailsLimit": 2})

    def inactive():
        return fast_client.get(f"/v2/subscriptions/{sub_id}").json()["status"] == "inactive"
    for value in (60, 61, 62):  # the third consecutive failure overpasses the limit
        patch(fast_client, "Room1", {"temperature": {"value": value}})
    assert wait_until(inactive)
    notification = fast_client.get(f"/v2/subscriptions/{sub_id}").json()["notification"]
    assert notification["failsCounter"] == 3 and notification["lastFailureReason"] == "Couldn't connect to server"
    assert "lastFailure" in notification and "lastSuccess" not in notification


def test_success_statistics(fast_client, receiver):
    fast_client.post("/v2/entities", json=ROOM)
    sub_id = subscribe(fast_client, receiver.url)
    patch(fast_client, "Room1", {"temperature": {"value": 61}})
    receiver.wait_for(1)

    def counted():
        return fast_client.get(f"/v2/subscriptions/{sub_id}").json()["notification"].get("timesSent") == 1
    assert wait_until(counted)
    notification = fast_client.get(f"/v2/subscriptions/{sub_id}").json()["notification"]
    assert notification["lastSuccessCode"] == 200 and "lastSuccess" in notification
    assert "failsCounter" not in notification


def test_http_custom_with_macros(fast_client, raw_receiver):
    receiver = raw_receiver
    fast_client.post("/v2/entities", json=ROOM, headers={"Fiware-Service": "town"})
    custom = {"url": receiver.url.replace("/notify", "/${type}/${id}"), "method": "PUT",
              "headers": {"X-Room": "${id}", "X-Empty": "${nothing}"}, "qs": {"t": "${temperature}"},
              "json": {"room": "${id}", "t": "${temperature}", "text": "${id} in ${service}${servicePath}"}}
    subscribe(fast_client, receiver.url, headers={"Fiware-Service": "town"},
              notification={"httpCustom": custom})
    patch(fast_client, "Room1", {"temperature": {"value": 23}}, headers={"Fiware-Service": "town"})
    assert wait_until(lambda: receiver.requests)
    [request] = receiver.requests
    assert request["method"] == "PUT" and request["path"] == "/Room/Room1?t=23"
    assert json.loads(request["raw"]) == {"room": "Room1", "t": 23, "text": "Room1 in town/"}
    assert request["headers"]["X-Room"] == "Room1" and "X-Empty" not in request["headers"]
    assert request["headers"]["Fiware-Service"] == "town"


def test_http_custom_text_payload_and_ngsi(fast_client, raw_receiver):
    receiver = raw_receiver
    fast_client.post("/v2/entities", json=ROOM)
    subscribe(fast_client, receiver.url,
              notification={"httpCustom": {"url": receiver.url, "payload": "t%3D${temperature}"}})
    subscribe(fast_client, receiver.url,
              notification={"httpCustom": {"url": receiver.url,
                                           "ngsi": {"id": "${id}-copy", "source": {"value": "${type}"}}},
                            "attrsFormat": "keyValues"})
    patch(fast_client, "Room1", {"temperature": {"value": 24}})
    assert wait_until(lambda: len(receiver.requests) >= 2)
    by_type = {r["headers"]["Content-Type"]: r for r in receiver.requests}
    assert by_type["text/plain; charset=utf-8"]["raw"] == b"t=24"
    ngsi = json.loads(by_type["application/json; charset=utf-8"]["raw"])
    assert ngsi["data"] == [{"id": "Room1-copy", "type": "Room",  # normalized: Orion ignores keyValues here
                             "source": {"type": "Text", "value": "Room", "metadata": {}},
                             "temperature": {"type": "Number", "value": 24, "metadata": {}},
                             "pressure": {"type": "Number", "value": 720, "metadata": {}}}]


# -- across the APIs ------------------------------------------------------------------------------

def test_v2_subscription_fires_on_ngsi_ld_write(fast_client, receiver):
    subscribe(fast_client, receiver.url, subject={"entities": [{"idPattern": ".*", "type": "Shelter"}]},
              notification={"attrsFormat": "keyValues"})
    shelter = {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "occupancy": {"type": "Property", "value": 10}}
    assert fast_client.post("/ngsi-ld/v1/entities", json=shelter).status_code == 201
    [request] = receiver.wait_for(1)
    assert request["body"]["data"] == [{"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "occupancy": 10}]


def test_ngsi_ld_subscription_fires_on_v2_write(fast_client, receiver):
    ld = {"type": "Subscription", "entities": [{"type": "Room"}], "watchedAttributes": ["temperature"],
          "notification": {"endpoint": {"uri": receiver.url, "accept": "application/json"},
                           "format": "keyValues"}}
    assert fast_client.post("/ngsi-ld/v1/subscriptions", json=ld).status_code == 201
    fast_client.post("/v2/entities", json=ROOM)
    patch(fast_client, "Room1", {"temperature": {"value": 26}})
    requests = receiver.wait_for(2)
    assert requests[-1]["body"]["type"] == "Notification"
    assert requests[-1]["body"]["data"][0]["temperature"] == 26


# -- MQTT -----------------------------------------------------------------------------------------

def test_mqtt_and_mqtt_custom(fast_client):
    require_mosquitto()
    import paho.mqtt.client as mqtt

    base = f"toshi/v2test/{uuid.uuid4()}"
    received: dict[str, list] = {}
    listener = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    listener.on_message = lambda c, u, m: received.setdefault(m.topic, []).append(m.payload)
    listener.connect("127.0.0.1", 1883)
    listener.subscribe(base + "/#", qos=1)
    listener.loop_start()
    try:
        time.sleep(0.2)
        fast_client.post("/v2/entities", json=ROOM)
        body = {"subject": {"entities": [{"id": "Room1"}]},
                "notification": {"mqtt": {"url": "mqtt://127.0.0.1:1883", "topic": base + "/plain", "qos": 1}}}
        assert fast_client.post("/v2/subscriptions", json=body).status_code == 201
        custom = {"subject": {"entities": [{"id": "Room1"}]},
                  "notification": {"mqttCustom": {"url": "mqtt://127.0.0.1:1883", "topic": base + "/${id}",
                                                  "json": {"t": "${temperature}"}}}}
        assert fast_client.post("/v2/subscriptions", json=custom).status_code == 201
        patch(fast_client, "Room1", {"temperature": {"value": 27}})
        assert wait_until(lambda: base + "/plain" in received and base + "/Room1" in received)
        plain = json.loads(received[base + "/plain"][0])
        assert plain["data"][0]["temperature"]["value"] == 27 and "subscriptionId" in plain
        assert json.loads(received[base + "/Room1"][0]) == {"t": 27}
    finally:
        listener.loop_stop()
        listener.disconnect()


def test_geo_expression(fast_client, receiver):
    subscribe(fast_client, receiver.url,
              subject={"entities": [{"idPattern": ".*", "type": "Room"}],
                       "condition": {"expression": {"georel": "near;maxDistance:1000", "geometry": "point",
                                                    "coords": "34.8687,135.4937"}}})
    near = {**ROOM, "location": {"type": "geo:point", "value": "34.8690, 135.4940"}}
    far = {**ROOM, "id": "Room2", "location": {"type": "geo:point", "value": "35.0, 135.0"}}
    fast_client.post("/v2/entities", json=far)
    fast_client.post("/v2/entities", json=near)
    requests = quiet(receiver, 1)
    assert [r["body"]["data"][0]["id"] for r in requests] == ["Room1"]
    partial = {"subject": {"entities": [{"id": "A"}], "condition": {"expression": {"georel": "near"}}},
               "notification": {"http": {"url": "http://a/b"}}}
    assert client_error(fast_client.post("/v2/subscriptions", json=partial)) == "BadRequest"


def client_error(response) -> str:
    assert response.status_code == 400, response.text
    return response.json()["error"]


def test_subscription_survives_restart(settings, receiver):
    with TestClient(create_app(settings)) as client:
        sub_id = subscribe(client, receiver.url)
    with TestClient(create_app(settings)) as client:
        assert client.get(f"/v2/subscriptions/{sub_id}").status_code == 200
        client.post("/v2/entities", json=ROOM)
        assert len(receiver.wait_for(1)) == 1
