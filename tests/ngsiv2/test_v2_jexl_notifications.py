"""JEXL in NGSI-v2 subscriptions (Orion manual, "Custom Notifications", "JEXL support in custom
notifications", `subject.condition.jexlExpression`), seen by a real receiver."""

from __future__ import annotations

from support import wait_until

ROOM = {"id": "Room1", "type": "Room", "temperature": {"value": 20, "type": "Number"}}


def subscribe(client, notification: dict, condition: dict | None = None, headers: dict | None = None) -> str:
    subject = {"entities": [{"id": "Room1", "type": "Room"}]}
    if condition is not None:
        subject["condition"] = condition
    response = client.post("/v2/subscriptions", json={"subject": subject, "notification": notification},
                           headers=headers or {})
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def create(client, entity: dict) -> None:
    assert client.post("/v2/entities", json=entity).status_code == 201


def patch(client, attrs: dict) -> None:
    assert client.patch("/v2/entities/Room1/attrs", json=attrs).status_code == 204


def one_request(receiver) -> dict:
    assert wait_until(lambda: receiver.requests)
    return receiver.requests[0]


def test_ngsi_expression_computes_an_attribute(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "ngsi": {
        "relativeHumidity": {"value": "${humidity/100}", "type": "Calculated"}}}, "attrs": ["relativeHumidity"]})
    create(fast_client, {**ROOM, "humidity": {"value": 84.4, "type": "Number"}})
    body = one_request(receiver)["body"]
    assert body["data"] == [{"id": "Room1", "type": "Room",
                             "relativeHumidity": {"type": "Calculated", "value": 0.844, "metadata": {}}}]


def test_manual_usage_example(fast_client, receiver):
    calculated = {
        "speed": "${(speed|split(' '))[0]|parseInt}",
        "ratio": "${count.sum/count.count}",
        "code": "${code||'invalid'}",
        "alert": "${(value>max)?'nok':'ok'}",
        "count": "${{count:count.count+1, sum:count.sum+((speed|split(' '))[0]|parseInt)}}",
    }
    ngsi = {name: {"value": value, "type": "Calculated"} for name, value in calculated.items()}
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "ngsi": ngsi}, "attrs": list(calculated)})
    create(fast_client, {"id": "Room1", "type": "Room",
                         "speed": {"value": "10 m/s", "type": "Text"},
                         "count": {"value": {"count": 5, "sum": 100}, "type": "StructuredValue"},
                         "code": {"value": None, "type": "Number"},
                         "value": {"value": 14, "type": "Number"},
                         "max": {"value": 50, "type": "Number"}})
    [entity] = one_request(receiver)["body"]["data"]
    assert {name: entity[name] for name in calculated} == {
        "speed": {"metadata": {}, "type": "Calculated", "value": 10},
        "ratio": {"metadata": {}, "type": "Calculated", "value": 20},
        "code": {"metadata": {}, "type": "Calculated", "value": "invalid"},
        "alert": {"metadata": {}, "type": "Calculated", "value": "ok"},
        "count": {"metadata": {}, "type": "Calculated", "value": {"count": 6, "sum": 110}},
    }


def test_eval_priority_orders_the_evaluation(fast_client, receiver):
    ngsi = {"B": {"value": "${A/100}", "type": "Calculated"},
            "A": {"value": "${16|sqrt}", "type": "Calculated",
                  "metadata": {"evalPriority": {"value": 1, "type": "Number"}}}}
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "ngsi": ngsi}, "attrs": ["B"]})
    create(fast_client, ROOM)
    [entity] = one_request(receiver)["body"]["data"]
    assert entity == {"id": "Room1", "type": "Room", "B": {"type": "Calculated", "value": 0.04, "metadata": {}}}


def test_ngsi_id_keeps_the_entity_id_when_its_expression_fails(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "ngsi": {"id": "${nothing}", "type": "${temperature}"}}})
    create(fast_client, ROOM)
    [entity] = one_request(receiver)["body"]["data"]
    assert (entity["id"], entity["type"]) == ("Room1", "20")


def test_json_whole_macro_keeps_the_json_type(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "json": {"t": "${temperature*2}", "s": "${id|lowercase}"}}})
    create(fast_client, ROOM)
    assert one_request(receiver)["body"] == {"t": 40, "s": "room1"}


def test_json_failed_whole_macro_is_null(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "json": {"x": "${nothing+1}"}}})
    create(fast_client, ROOM)
    assert one_request(receiver)["body"] == {"x": None}


def test_json_partial_macro_is_text_with_null_for_a_failure(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {"url": receiver.url,
                                           "json": {"x": "T=${temperature+1} N=${nothing}"}}})
    create(fast_client, ROOM)
    assert one_request(receiver)["body"] == {"x": "T=21 N=null"}


def test_text_payload_failed_expression_is_null(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "payload": "t%3D${temperature|uppercase}"}})
    create(fast_client, ROOM)
    assert one_request(receiver)["raw"] == b"t=null"


def test_url_qs_and_headers_take_expressions(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {
        "url": receiver.url + "/${type|lowercase}", "qs": {"f": "${temperature*9/5+32}", "gone": "${nothing}"},
        "headers": {"X-Kind": "${type + '-room'}"}}})
    create(fast_client, ROOM)
    request = one_request(receiver)
    assert request["path"] == "/notify/room?f=68"
    assert request["headers"]["X-Kind"] == "Room-room"


def test_metadata_in_the_context(fast_client, receiver):
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "json": {"src": "${metadata.temperature.source}"}}})
    create(fast_client, {**ROOM, "temperature": {"value": 20, "type": "Number",
                                                 "metadata": {"source": {"value": "probe-7", "type": "Text"}}}})
    assert one_request(receiver)["body"] == {"src": "probe-7"}


def test_previous_value_metadata_in_the_context(fast_client, receiver):
    create(fast_client, ROOM)
    subscribe(fast_client, {"httpCustom": {"url": receiver.url,
                                           "json": {"delta": "${temperature-metadata.temperature.previousValue}"}}})
    patch(fast_client, {"temperature": {"value": 26, "type": "Number"}})
    assert one_request(receiver)["body"] == {"delta": 6}


def test_service_and_service_path_in_the_context(fast_client, receiver):
    headers = {"Fiware-Service": "town", "Fiware-ServicePath": "/east"}
    subscribe(fast_client, {"httpCustom": {"url": receiver.url, "json": {"w": "${service + servicePath}"}}},
              headers=headers)
    assert fast_client.post("/v2/entities", json=ROOM, headers=headers).status_code == 201
    assert one_request(receiver)["body"] == {"w": "town/east"}


def test_jexl_condition_true_notifies_and_false_does_not(fast_client, receiver):
    subscribe(fast_client, {"http": {"url": receiver.url}, "attrsFormat": "keyValues"},
              condition={"jexlExpression": "temperature > 25"})
    create(fast_client, ROOM)                                  # 20: no notification
    patch(fast_client, {"temperature": {"value": 30, "type": "Number"}})
    assert wait_until(lambda: receiver.requests)
    assert [r["body"]["data"][0]["temperature"] for r in receiver.requests] == [30]


def test_jexl_condition_that_fails_does_not_notify(fast_client, receiver):
    subscribe(fast_client, {"http": {"url": receiver.url}, "attrsFormat": "keyValues"},
              condition={"jexlExpression": "nothing > 25 || temperature == 31"})
    create(fast_client, ROOM)                                  # nothing > 25 fails: null, not true
    appended = {"nothing": {"value": 1, "type": "Number"}, "temperature": {"value": 31, "type": "Number"}}
    assert fast_client.post("/v2/entities/Room1/attrs", json=appended).status_code == 204
    assert wait_until(lambda: receiver.requests)
    assert [r["body"]["data"][0]["temperature"] for r in receiver.requests] == [31]


def test_jexl_condition_and_expression_must_both_match(fast_client, receiver):
    subscribe(fast_client, {"http": {"url": receiver.url}, "attrsFormat": "keyValues"},
              condition={"jexlExpression": "temperature > 25", "expression": {"q": "temperature<40"}})
    create(fast_client, ROOM)
    patch(fast_client, {"temperature": {"value": 45, "type": "Number"}})   # jexl true, q false
    patch(fast_client, {"temperature": {"value": 35, "type": "Number"}})   # both true
    assert wait_until(lambda: receiver.requests)
    assert [r["body"]["data"][0]["temperature"] for r in receiver.requests] == [35]


def test_jexl_condition_is_rendered(fast_client, receiver):
    sub_id = subscribe(fast_client, {"http": {"url": receiver.url}}, condition={"jexlExpression": "a > 1"})
    condition = fast_client.get(f"/v2/subscriptions/{sub_id}").json()["subject"]["condition"]
    assert condition["jexlExpression"] == "a > 1"


def test_jexl_condition_must_be_a_string(fast_client, receiver):
    body = {"subject": {"entities": [{"id": "Room1"}], "condition": {"jexlExpression": 3}},
            "notification": {"http": {"url": receiver.url}}}
    response = fast_client.post("/v2/subscriptions", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": "BadRequest",
                               "description": "Invalid JSON type for jexlExpression: it must be a string"}


def test_ngsi_attribute_takes_only_eval_priority_metadata(fast_client, receiver):
    body = {"subject": {"entities": [{"id": "Room1"}]}, "notification": {"httpCustom": {
        "url": receiver.url, "ngsi": {"A": {"value": "${1}", "metadata": {"unit": {"value": "C"}}}}}}}
    response = fast_client.post("/v2/subscriptions", json=body)
    assert response.status_code == 400 and response.json()["error"] == "BadRequest"


def test_eval_priority_must_be_within_range(fast_client, receiver):
    body = {"subject": {"entities": [{"id": "Room1"}]}, "notification": {"httpCustom": {
        "url": receiver.url, "ngsi": {"A": {"value": "${1}", "metadata": {"evalPriority": {"value": 0}}}}}}}
    response = fast_client.post("/v2/subscriptions", json=body)
    assert response.status_code == 400 and response.json()["error"] == "BadRequest"


def test_forbidden_characters_in_a_text_payload_are_refused(fast_client, receiver):
    body = {"subject": {"entities": [{"id": "Room1"}]},
            "notification": {"httpCustom": {"url": receiver.url, "payload": "t=${temperature}"}}}
    response = fast_client.post("/v2/subscriptions", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": "BadRequest", "description": "forbidden characters in custom /payload/"}


def test_header_values_may_hold_quotes_but_not_other_forbidden_characters(fast_client, receiver):
    body = {"subject": {"entities": [{"id": "Room1"}]},
            "notification": {"httpCustom": {"url": receiver.url, "headers": {"X-A": "${a>1?'x':'y'}"}}}}
    response = fast_client.post("/v2/subscriptions", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": "BadRequest",
                               "description": "forbidden characters in custom notification httpCustom headers"}
