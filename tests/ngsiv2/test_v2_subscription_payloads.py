"""POST / PATCH /v2/subscriptions members of the wrong JSON type, refused as Orion's subscription parser
refuses them (its texts: `<field> is not a string` / `is not a bool` / `is not an int`, the string-vector
texts of `attrs`, `exceptAttrs`, `metadata`, `alterationTypes`), and an empty `expires`, which makes a
subscription permanent. Nothing is created or changed by a refused request. One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

SUBJECT = {"entities": [{"id": "Room1", "type": "Room"}]}
HTTP = {"http": {"url": "http://127.0.0.1:9/notify"}}
HTTP_NOTIFICATION = {"notification": HTTP}


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("subs") / "data")))) as client:
        yield client


def subscription(notification: dict | None = None, condition: dict | None = None, **extra) -> dict:
    subject = {**SUBJECT, "condition": condition} if condition is not None else SUBJECT
    return {"subject": subject, "notification": {**HTTP, **(notification or {})}, **extra}


CASES = [
    (subscription(description=1), "description is not a string"),
    (subscription(expires=20990101), "expires is not a string"),
    (subscription(status=True), "status is not a string"),
    (subscription(throttling="5"), "throttling is not an int"),
    (subscription(throttling=1.5), "throttling is not an int"),
    (subscription({"onlyChangedAttrs": "true"}), "onlyChangedAttrs is not a bool"),
    (subscription({"attrs": ["a"], "covered": 1}), "covered is not a bool"),
    (subscription({"maxFailsLimit": 1.5}), "maxFailsLimit is not an int"),
    (subscription({"attrs": "temperature"}), "the field /attrs/ must be a JSON array"),
    (subscription({"attrs": [1]}), "only JSON Strings allowed in string vector /attrs/"),
    (subscription({"attrs": [""]}), "empty string found in string vector /attrs/"),
    (subscription({"exceptAttrs": "a"}), "the field /exceptAttrs/ must be a JSON array"),
    (subscription({"metadata": [True]}), "only JSON Strings allowed in string vector /metadata/"),
    (subscription(condition={"attrs": [""]}), "empty string found in string vector /attrs/"),
    (subscription(condition={"alterationTypes": "entityCreate"}), "the field /alterationTypes/ must be a JSON array"),
    (subscription(condition={"notifyOnMetadataChange": "no"}), "notifyOnMetadataChange is not a bool"),
    ({"subject": SUBJECT, "notification": {"http": "http://127.0.0.1:9/notify"}}, "http notification is not an object"),
    ({"subject": {"entities": {"id": "Room1"}}, **HTTP_NOTIFICATION}, "/entities/ is not an array"),
    ({"subject": {"entities": [{"id": ""}]}, **HTTP_NOTIFICATION}, "/entities/ element id is empty"),
    ({"subject": {"entities": [{"id": "R", "type": "T", "typePattern": "T.*"}]}, **HTTP_NOTIFICATION},
     "/entities/ element has both /type/ and /typePattern/"),
    ({"subject": {"entities": [{"idPattern": "("}]}, **HTTP_NOTIFICATION}, "Invalid regex for entity idPattern"),
    ({"subject": {"entities": [{"id": 5}]}, **HTTP_NOTIFICATION}, "/entities/ vector item /id/ is not a string"),
    ({"subject": SUBJECT, "notification": {"httpCustom": []}}, "httpCustom notification is not an object"),
    ({"subject": SUBJECT, "notification": {"http": {}}}, "url http notification is missing"),
    ({"subject": SUBJECT, "notification": {"httpCustom": {"url": 5}}}, "url httpCustom notification is not a string"),
    ({"subject": SUBJECT, "notification": {"httpCustom": {"url": "http://a/b", "method": 5}}},
     "method httpCustom notification is not a string"),
    ({"subject": SUBJECT, "notification": {"httpCustom": {"url": "http://a/b", "payload": 5}}},
     "payload custom notification is not a string"),
    ({"subject": SUBJECT, "notification": {"httpCustom": {"url": "http://a/b", "qs": {"a": 1}}}},
     "notification httpCustom qs element is not a string"),
    ({"subject": SUBJECT, "notification": {"http": {"url": "http://a/b", "timeout": "5"}}}, "timeout is not an int"),
    ({"subject": SUBJECT, "notification": {"mqtt": {"topic": "t"}}}, "url mqtt notification is missing"),
    ({"subject": SUBJECT, "notification": {"mqtt": {"url": "mqtt://127.0.0.1:1883"}}}, "topic mqtt notification is missing"),
    ({"subject": SUBJECT, "notification": {"mqtt": {"url": "mqtt://127.0.0.1:1883", "topic": "t", "qos": "1"}}},
     "qos is not an int"),
    ({"subject": SUBJECT, "notification": {"mqtt": {"url": "mqtt://127.0.0.1:1883", "topic": "t", "retain": 1}}},
     "retain is not a bool"),
]


@pytest.mark.parametrize(("body", "description"), CASES, ids=[text for _, text in CASES])
def test_a_member_of_the_wrong_type_is_refused_with_orions_text(v2, body, description):
    response = v2.post("/v2/subscriptions", json=body)
    assert (response.status_code, response.json()) == (400, {"error": "BadRequest", "description": description})
    assert v2.get("/v2/subscriptions").json() == []


def test_a_payload_that_is_not_an_object_is_a_parse_error(v2):
    response = v2.post("/v2/subscriptions", json=[subscription()])
    assert (response.status_code, response.json()) == (
        400, {"error": "ParseError", "description": "Errors found in incoming JSON buffer"})


def test_repeated_attributes_are_kept_once(v2):
    location = v2.post("/v2/subscriptions", json=subscription({"attrs": ["a", "b", "a"]})).headers["Location"]
    try:
        assert v2.get(location).json()["notification"]["attrs"] == ["a", "b"]
    finally:
        v2.delete(location)


def test_an_empty_expires_creates_a_permanent_subscription(v2):
    location = v2.post("/v2/subscriptions", json=subscription(expires="")).headers["Location"]
    try:
        rendered = v2.get(location).json()
        assert "expires" not in rendered and rendered["status"] == "active"
    finally:
        v2.delete(location)


def test_patching_an_empty_expires_makes_a_subscription_permanent(v2):
    location = v2.post("/v2/subscriptions", json=subscription(expires="2001-01-01T00:00:00Z")).headers["Location"]
    try:
        assert v2.get(location).json()["status"] == "expired"
        assert v2.patch(location, json={"expires": ""}).status_code == 204
        rendered = v2.get(location).json()
        assert "expires" not in rendered and rendered["status"] == "active"
    finally:
        v2.delete(location)


def test_a_refused_patch_changes_nothing(v2):
    location = v2.post("/v2/subscriptions", json=subscription(throttling=5)).headers["Location"]
    try:
        response = v2.patch(location, json={"throttling": "10"})
        assert (response.status_code, response.json()["description"]) == (400, "throttling is not an int")
        assert v2.get(location).json()["throttling"] == 5
    finally:
        v2.delete(location)


@pytest.mark.parametrize(("given", "rendered"), [("2099-01-01T10:00:00.75+02:00", "2099-01-01T08:00:00.000Z"),
                                                 ("2099-01-01", "2099-01-01T00:00:00.000Z")])
def test_expires_is_rendered_as_orion_renders_it(v2, given, rendered):
    location = v2.post("/v2/subscriptions", json=subscription(expires=given)).headers["Location"]
    try:
        assert v2.get(location).json()["expires"] == rendered  # whole seconds, UTC, .000Z
    finally:
        v2.delete(location)


def test_an_empty_description_is_not_rendered(v2):
    location = v2.post("/v2/subscriptions", json=subscription(description="")).headers["Location"]
    try:
        assert "description" not in v2.get(location).json()
    finally:
        v2.delete(location)
