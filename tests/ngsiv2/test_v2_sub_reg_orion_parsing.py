"""Subscriptions and registrations read as Orion's parsers read them: members they do not look for are
ignored (parseSubscription / parseRegistration only ask for the members they know; only the batch and
notify parsers answer "Unrecognized field"), and registrations rendered as Orion's Registration::toJson
renders them (the provider url as given, the stored status: the manual's "Registration implementation
differences" say an expired one "shows as `active`"). One app for the module; a tenant per test."""

from __future__ import annotations

import uuid

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

URL = "http://127.0.0.1:9/n"
REG = {"dataProvided": {"entities": [{"id": "E1", "type": "T"}], "attrs": ["a"]},
       "provider": {"http": {"url": "http://127.0.0.1:9/v2"}}}


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("parsing") / "data")))) as client:
        yield client


@pytest.fixture
def service():
    return {"Fiware-Service": f"t{uuid.uuid4().hex[:12]}"}


def made(client, service, kind: str, body: dict) -> dict:
    response = client.post(f"/v2/{kind}", json=body, headers=service)
    assert response.status_code == 201, response.text
    return client.get(response.headers["Location"], headers=service).json()


def subscription(subject_extra=None, condition=None, notification_extra=None, http_extra=None, **top) -> dict:
    subject = {"entities": [{"idPattern": ".*"}]} | (subject_extra or {})
    if condition:
        subject["condition"] = condition
    return {"subject": subject,
            "notification": {"http": {"url": URL} | (http_extra or {})} | (notification_extra or {}), **top}


def test_an_unknown_top_level_member_of_a_subscription_is_ignored(v2, service):
    assert "color" not in made(v2, service, "subscriptions", subscription(color="red"))


def test_an_id_given_to_a_subscription_is_ignored(v2, service):
    assert made(v2, service, "subscriptions", subscription(id="mine"))["id"] != "mine"


def test_an_unknown_member_of_the_subject_is_ignored(v2, service):
    assert set(made(v2, service, "subscriptions", subscription({"x": 1}))["subject"]) == {"entities", "condition"}


def test_an_unknown_member_of_the_condition_is_ignored(v2, service):
    condition = made(v2, service, "subscriptions", subscription(condition={"attrs": ["a"], "x": 1}))["subject"][
        "condition"]
    assert condition == {"attrs": ["a"], "notifyOnMetadataChange": True}


def test_an_unknown_member_of_the_expression_is_ignored(v2, service):
    condition = made(v2, service, "subscriptions", subscription(condition={"expression": {"q": "a>1", "x": 2}}))[
        "subject"]["condition"]
    assert condition["expression"] == {"q": "a>1"}


def test_an_unknown_member_of_the_notification_is_ignored(v2, service):
    assert "x" not in made(v2, service, "subscriptions", subscription(notification_extra={"x": 1}))["notification"]


def test_an_unknown_member_of_the_http_channel_is_ignored(v2, service):
    rendered = made(v2, service, "subscriptions", subscription(http_extra={"headers": {"A": "b"}}))
    assert rendered["notification"]["http"] == {"url": URL}


def test_unknown_members_and_an_id_of_a_registration_are_ignored(v2, service):
    rendered = made(v2, service, "registrations", REG | {"id": "mine", "color": "red"})
    assert rendered["id"] != "mine" and "color" not in rendered


def test_a_registration_provider_url_is_rendered_as_given(v2, service):
    body = REG | {"provider": {"http": {"url": "http://127.0.0.1:9/v2/"}}}
    assert made(v2, service, "registrations", body)["provider"]["http"] == {"url": "http://127.0.0.1:9/v2/"}


def test_an_expired_registration_shows_its_stored_status(v2, service):
    assert made(v2, service, "registrations", REG | {"expires": "2000-01-01T00:00:00Z"})["status"] == "active"


def test_an_expired_inactive_registration_shows_inactive(v2, service):
    body = REG | {"expires": "2000-01-01T00:00:00Z", "status": "inactive"}
    assert made(v2, service, "registrations", body)["status"] == "inactive"


def test_a_registration_body_that_is_no_json_is_a_bad_request(v2, service):
    response = v2.post("/v2/registrations", content=b"{", headers=service | {"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (400, {"error": "BadRequest",
                                                             "description": "Errors found in incoming JSON buffer"})


def test_a_subscription_body_that_is_no_json_is_a_parse_error(v2, service):
    response = v2.post("/v2/subscriptions", content=b"{", headers=service | {"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (400, {"error": "ParseError",
                                                             "description": "Errors found in incoming JSON buffer"})


@pytest.mark.parametrize("kind", ["subscriptions", "registrations"])
def test_an_id_in_capitals_names_the_same_one(v2, service, kind):
    body = subscription() if kind == "subscriptions" else REG
    location = v2.post(f"/v2/{kind}", json=body, headers=service).headers["Location"]
    upper = location.rsplit("/", 1)[0] + "/" + location.rsplit("/", 1)[1].upper()
    assert v2.get(upper, headers=service).json()["id"] == location.rsplit("/", 1)[1]
    assert v2.delete(upper, headers=service).status_code == 204
    assert v2.get(location, headers=service).status_code == 404


def test_an_unknown_member_of_a_subject_entity_is_ignored(v2, service):
    body = subscription() | {"subject": {"entities": [{"id": "E1", "type": "T", "isPattern": "false"}]}}
    assert made(v2, service, "subscriptions", body)["subject"]["entities"] == [{"id": "E1", "type": "T"}]


def test_an_unknown_member_of_a_registration_entity_is_ignored(v2, service):
    body = REG | {"dataProvided": {"entities": [{"id": "E1", "isPattern": "false"}], "attrs": []}}
    assert made(v2, service, "registrations", body)["dataProvided"]["entities"] == [{"id": "E1"}]
