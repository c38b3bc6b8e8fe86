"""NGSI-v2 subscription status and statistics as Orion's manual states them (`status`,
"Oneshot Subscriptions", "Covered Subscriptions", `maxFailsLimit`, `failsCounter`,
`lastFailureReason` / `lastSuccessCode`, `http.timeout`)."""

from __future__ import annotations

from support import Receiver, free_port, wait_until

ROOM = {"id": "Room1", "type": "Room", "temperature": {"value": 20, "type": "Number"}}


def body(notification: dict | None = None, **extra) -> dict:
    return {"subject": {"entities": [{"id": "Room1", "type": "Room"}]},
            "notification": notification or {"http": {"url": "http://127.0.0.1:9/notify"}}, **extra}


def create(client, payload: dict) -> str:
    response = client.post("/v2/subscriptions", json=payload)
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def refusal(client, payload: dict) -> dict:
    response = client.post("/v2/subscriptions", json=payload)
    assert response.status_code == 400
    return response.json()


def get(client, sub_id: str) -> dict:
    return client.get(f"/v2/subscriptions/{sub_id}").json()


def test_covered_needs_an_attribute_list(client):
    payload = body({"http": {"url": "http://127.0.0.1:9/"}, "attrs": [], "covered": True})
    assert refusal(client, payload) == {
        "error": "BadRequest", "description": "covered true cannot be used if notification attributes list is empty"}


def test_covered_without_attrs_is_refused(client):
    payload = body({"http": {"url": "http://127.0.0.1:9/"}, "covered": True})
    assert refusal(client, payload)["description"] == \
        "covered true cannot be used if notification attributes list is empty"


def test_timeout_above_thirty_minutes_is_refused(client):
    payload = body({"http": {"url": "http://127.0.0.1:9/", "timeout": 1800001}})
    assert refusal(client, payload) == {"error": "BadRequest",
                                        "description": "timeout field must be an integer between 0 and 1800000"}


def test_timeout_is_kept_and_rendered(client):
    sub_id = create(client, body({"httpCustom": {"url": "http://127.0.0.1:9/", "timeout": 1800000}}))
    assert get(client, sub_id)["notification"]["httpCustom"] == {"url": "http://127.0.0.1:9/", "timeout": 1800000}


def test_max_fails_limit_must_be_positive(client):
    payload = body({"http": {"url": "http://127.0.0.1:9/"}, "maxFailsLimit": 0})
    assert refusal(client, payload) == {"error": "BadRequest", "description": "maxFailsLimit must be greater than zero"}


def test_expired_wins_over_a_patched_status(client):
    sub_id = create(client, body(expires="2001-01-01T00:00:00Z"))
    assert client.patch(f"/v2/subscriptions/{sub_id}", json={"status": "active"}).status_code == 204
    assert get(client, sub_id)["status"] == "expired"


def test_inactive_subscription_is_silent_until_reactivated(fast_client, receiver):
    sub_id = create(fast_client, body({"http": {"url": receiver.url}}, status="inactive"))
    assert fast_client.post("/v2/entities", json=ROOM).status_code == 201          # not notified
    assert fast_client.patch(f"/v2/subscriptions/{sub_id}", json={"status": "active"}).status_code == 204
    update = {"temperature": {"value": 21, "type": "Number"}}
    assert fast_client.patch("/v2/entities/Room1/attrs", json=update).status_code == 204
    assert wait_until(lambda: receiver.requests)
    assert [r["body"]["data"][0]["temperature"]["value"] for r in receiver.requests] == [21]


def test_reactivation_clears_the_fails_counter(fast_client):
    down = f"http://127.0.0.1:{free_port()}/notify"  # nobody listens: each notification fails once
    sub_id = create(fast_client, body({"http": {"url": down}, "maxFailsLimit": 1}))
    fast_client.post("/v2/entities", json=ROOM)
    fast_client.patch("/v2/entities/Room1/attrs", json={"temperature": {"value": 21}})  # the second failure
    assert wait_until(lambda: get(fast_client, sub_id)["status"] == "inactive")
    fast_client.patch(f"/v2/subscriptions/{sub_id}", json={"status": "active"})
    rendered = get(fast_client, sub_id)
    assert rendered["status"] == "active" and "failsCounter" not in rendered["notification"]


def test_mqtt_failures_have_no_failure_reason(fast_client):
    sub_id = create(fast_client, body({"mqtt": {"url": "mqtt://127.0.0.1:9", "topic": "rooms"}}))
    fast_client.post("/v2/entities", json=ROOM)
    assert wait_until(lambda: "lastFailure" in get(fast_client, sub_id)["notification"])
    notification = get(fast_client, sub_id)["notification"]
    assert notification["failsCounter"] >= 1
    assert "lastFailureReason" not in notification and "lastSuccessCode" not in notification


def test_success_resets_the_fails_counter(fast_client):
    port = free_port()
    sub_id = create(fast_client, body({"http": {"url": f"http://127.0.0.1:{port}/notify"}}))
    fast_client.post("/v2/entities", json=ROOM)  # nobody listens yet: a failure
    assert wait_until(lambda: "lastFailure" in get(fast_client, sub_id)["notification"])
    listening = Receiver.on_port(port)
    try:
        fast_client.patch("/v2/entities/Room1/attrs", json={"temperature": {"value": 21}})
        assert wait_until(lambda: "lastSuccess" in get(fast_client, sub_id)["notification"])
        notification = get(fast_client, sub_id)["notification"]
        assert notification["lastSuccessCode"] == 200 and "failsCounter" not in notification
        assert "lastFailure" in notification and "lastFailureReason" in notification
    finally:
        listening.close()


def test_empty_condition_is_refused(client):
    payload = {"subject": {"entities": [{"id": "Room1"}], "condition": {}},
               "notification": {"http": {"url": "http://127.0.0.1:9/"}}}
    assert refusal(client, payload) == {"error": "BadRequest", "description": "condition is empty"}


def test_empty_expression_is_refused(client):
    payload = {"subject": {"entities": [{"id": "Room1"}], "condition": {"expression": {}}},
               "notification": {"http": {"url": "http://127.0.0.1:9/"}}}
    assert refusal(client, payload) == {"error": "BadRequest", "description": "expression is empty"}


def test_empty_q_in_an_expression_is_refused(client):
    payload = {"subject": {"entities": [{"id": "Room1"}], "condition": {"expression": {"q": ""}}},
               "notification": {"http": {"url": "http://127.0.0.1:9/"}}}
    assert refusal(client, payload) == {"error": "BadRequest", "description": "q is empty"}


def test_empty_custom_headers_are_refused(client):
    payload = body({"httpCustom": {"url": "http://127.0.0.1:9/", "headers": {}}})
    assert refusal(client, payload) == {"error": "BadRequest", "description": "notification httpCustom headers is empty"}


def test_mqtt_url_in_an_http_notification_is_refused(client):
    assert refusal(client, body({"http": {"url": "mqtt://127.0.0.1:1883"}}))["description"] == \
        "mqtt URL cannot be used in http notifications"


def test_mqtt_url_with_a_path_is_refused(client):
    payload = body({"mqtt": {"url": "mqtt://127.0.0.1:1883/rooms", "topic": "t"}})
    assert refusal(client, payload)["description"] == "path cannot be used in mqtt url, use topic instead"


def test_mqtt_user_needs_a_password(client):
    payload = body({"mqtt": {"url": "mqtt://127.0.0.1:1883", "topic": "t", "user": "u"}})
    assert refusal(client, payload)["description"] == "you must use user and passwd fields simultaneously"


def test_mqtt_topic_wildcards_are_refused(client):
    payload = body({"mqtt": {"url": "mqtt://127.0.0.1:1883", "topic": "rooms/#"}})
    assert refusal(client, payload)["description"] == "+ and # are not allowed in mqtt field /topic/"
