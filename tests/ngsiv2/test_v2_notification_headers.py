"""NGSI-v2 notification requests as Orion sends them (manual "Custom Notifications", "Multi tenancy";
Orion's HTTP client where the manual is silent): every header, for http and httpCustom, seen by a real
receiver."""

from __future__ import annotations

import json

from support import wait_until

ROOM = {"id": "Room1", "type": "Room", "temperature": {"value": 20, "type": "Number"}}


def subscribe(client, notification: dict, headers: dict | None = None) -> str:
    body = {"subject": {"entities": [{"id": "Room1", "type": "Room"}]}, "notification": notification}
    response = client.post("/v2/subscriptions", json=body, headers=headers or {})
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def first_notification(client, receiver, headers: dict | None = None) -> dict:
    """Create Room1 (which fires the subscription) and return the one request the receiver got."""
    assert client.post("/v2/entities", json=ROOM, headers=headers or {}).status_code == 201
    assert wait_until(lambda: receiver.requests)
    return receiver.requests[0]


def test_plain_notification_carries_orions_headers(fast_client, receiver):
    subscribe(fast_client, {"http": {"url": receiver.url}})
    request = first_notification(fast_client, receiver)
    headers = request["headers"]
    port = receiver.url.split(":")[2].split("/")[0]
    assert headers["Accept"] == "application/json"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["Host"] == f"127.0.0.1:{port}"
    assert headers["Fiware-ServicePath"] == "/"
    assert headers["Ngsiv2-AttrsFormat"] == "normalized"
    assert int(headers["Content-Length"]) == len(request["raw"])
    assert "Fiware-Service" not in headers  # the default tenant has none
    assert "Accept-Encoding" not in headers  # Orion's client does not ask for compression


def test_user_agent_has_orions_shape(fast_client, receiver):
    subscribe(fast_client, {"http": {"url": receiver.url}})
    agent = first_notification(fast_client, receiver)["headers"]["User-Agent"]
    assert agent.startswith("orion/4.7.0 libcurl/")


def test_correlator_of_the_triggering_request_with_cbnotif(fast_client, receiver):
    subscribe(fast_client, {"http": {"url": receiver.url}})
    request = first_notification(fast_client, receiver, {"Fiware-Correlator": "abc-123"})
    assert request["headers"]["Fiware-Correlator"] == "abc-123; cbnotif=1"


def test_tenant_and_entity_service_path(fast_client, receiver):
    town = {"Fiware-Service": "Town", "Fiware-ServicePath": "/north"}
    subscribe(fast_client, {"http": {"url": receiver.url}}, headers=town)
    headers = first_notification(fast_client, receiver, town)["headers"]
    assert headers["Fiware-Service"] == "town"  # Orion sends the tenant lower-cased
    assert headers["Fiware-ServicePath"] == "/north"


def test_custom_header_replaces_a_default_one(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "headers": {"accept": "text/csv"}}})
    headers = first_notification(fast_client, receiver)["headers"]
    assert [value for name, value in headers.items() if name.lower() == "accept"] == ["text/csv"]


def test_empty_custom_header_removes_a_default_one(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "headers": {"Accept": ""}}})
    headers = first_notification(fast_client, receiver)["headers"]
    assert not any(name.lower() == "accept" for name in headers)


def test_custom_content_type_is_sent_as_given(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "headers": {"Content-Type": "text/turtle"},
                                           "payload": "x"}})
    assert first_notification(fast_client, receiver)["headers"]["Content-Type"] == "text/turtle"


def test_custom_headers_are_url_decoded(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {"url": receiver.url,
                                           "headers": {"Authorization": "Basic ABC%3D%3D"}}})
    assert first_notification(fast_client, receiver)["headers"]["Authorization"] == "Basic ABC=="


def test_text_payload_is_url_decoded_and_sent_as_text(fast_client, receiver):
    payload = "the %22temperature%22 %28Number%29 is ${temperature}"
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "payload": payload}})
    request = first_notification(fast_client, receiver)
    assert request["raw"] == b'the "temperature" (Number) is 20'
    assert request["headers"]["Content-Type"] == "text/plain; charset=utf-8"
    assert request["headers"]["Ngsiv2-AttrsFormat"] == "custom"


def test_null_payload_sends_an_empty_body(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "method": "PUT", "payload": None}})
    request = first_notification(fast_client, receiver)
    assert request["method"] == "PUT" and request["raw"] == b""
    assert request["headers"]["Content-Length"] == "0"


def test_empty_string_payload_sends_the_normal_notification(fast_client, receiver):
    sub_id = subscribe(fast_client, {"httpCustom": {"url": receiver.url, "payload": ""}})
    request = first_notification(fast_client, receiver)
    assert request["body"]["subscriptionId"] == sub_id
    assert request["headers"]["Ngsiv2-AttrsFormat"] == "normalized"


def test_json_template_is_custom_format(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "json": {"t": "${temperature}"}}})
    request = first_notification(fast_client, receiver)
    assert json.loads(request["raw"]) == {"t": 20}
    assert request["headers"]["Ngsiv2-AttrsFormat"] == "custom"
    assert request["headers"]["Content-Type"] == "application/json; charset=utf-8"


def test_ngsi_patch_is_normalized_format(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "ngsi": {"extra": {"value": "${id}"}}}})
    request = first_notification(fast_client, receiver)
    assert request["body"]["data"][0]["extra"] == {"type": "Text", "value": "Room1", "metadata": {}}
    assert request["headers"]["Ngsiv2-AttrsFormat"] == "normalized"


def test_query_string_names_take_macros(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "qs": {"${type}": "${id}"}}})
    assert first_notification(fast_client, receiver)["path"] == "/notify?Room=Room1"
