"""POST /v2/registrations checked as Orion's registration parser checks it: each malformed member is 400
BadRequest with Orion's text and creates nothing; `dataProvided.expression` is ignored (the manual's
"Registration implementation differences"); an empty `expires` is a permanent registration. One app for
the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

DATA = {"entities": [{"id": "Room1", "type": "Room"}], "attrs": ["humidity"]}
HTTP = {"url": "http://127.0.0.1:9/v2"}


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("regs") / "data")))) as client:
        yield client


def registration(data=DATA, provider=None, **extra) -> dict:
    return {"dataProvided": data, "provider": {"http": HTTP} if provider is None else provider, **extra}


CASES = [
    ([], "not a JSON object"),
    ({}, "empty payload"),
    (registration(description=7), "invalid description"),
    (registration(description="x" * 1025), "max description length exceeded"),
    (registration(description="a (b)"), "forbidden characters in description"),
    ({"provider": {"http": HTTP}}, "the field /dataProvided/ is missing in payload"),
    (registration(data=[]), "/dataProvided/ must be a JSON object"),
    (registration(data={}), "/dataProvided/ is empty"),
    (registration(data={"entities": {}}), "/entities/ is not an array"),
    (registration(data={"entities": ["Room1"]}), "/entities/ vector item is not an object"),
    (registration(data={"entities": [{"type": "Room"}]}), "/entities/ vector item does not have /id/ nor /idPattern/"),
    (registration(data={"entities": [{"id": "R", "idPattern": "R.*"}]}),
     "/entities/ vector item has both /id/ and /idPattern/"),
    (registration(data={"entities": [{"id": "R", "type": "T", "typePattern": "T.*"}]}),
     "/entities/ element has both /type/ and /typePattern/"),
    (registration(data={"entities": [{"id": ""}]}), "/entities/ element id is empty"),
    (registration(data={"entities": [{"id": "R#1"}]}), "forbidden characters in /entities/ vector item /id/"),
    (registration(data={"entities": [{"id": "R" * 257}]}), "max id length exceeded in /entities/ vector item /id/"),
    (registration(data={"entities": [{"idPattern": ""}]}), "/entities/ vector item /idPattern/ is empty"),
    (registration(data={"entities": [{"id": "R", "type": ""}]}), "entity type length: 0, min length supported: 1"),
    (registration(data={"entities": [{"id": "R"}], "attrs": "humidity"}), "the field /attrs/ must be a JSON array"),
    (registration(data={"entities": [{"id": "R"}], "attrs": [1]}), "only JSON Strings allowed in string vector /attrs/"),
    (registration(data={"entities": [{"id": "R"}], "attrs": [""]}), "empty string found in string vector /attrs/"),
    ({"dataProvided": DATA}, "the field /provider/ is missing in payload"),
    (registration(provider="http://x"), "/provider/ must be a JSON object"),
    (registration(provider={}), "/provider/ empty"),
    (registration(provider={"supportedForwardingMode": "all"}), "/provider/ must contain a field /http/"),
    (registration(provider={"http": "http://x"}), "/http/ must be a JSON object"),
    (registration(provider={"http": {}}), "/http/ must contain a field /url/"),
    (registration(provider={"http": {"url": 9}}), "/url/ field of /http/ must be a JSON string"),
    (registration(provider={"http": {"url": ""}}), "/url/ field of /http/ cannot be the empty string"),
    (registration(provider={"http": {"url": "provider"}}), "/url/ field of /http/ is invalid"),
    (registration(provider={"http": HTTP, "supportedForwardingMode": 1}),
     "/supportedForwardingMode/ must be a JSON string"),
    (registration(provider={"http": HTTP, "supportedForwardingMode": "some"}),
     "invalid value of /supportedForwardingMode/"),
    (registration(provider={"http": HTTP, "legacyForwarding": "no"}), "the field /legacyForwarding/ must be a boolean"),
    (registration(expires=2099), "expires is not a string"),
    (registration(expires="tomorrow"), "the field /expires/ has an invalid format"),
    (registration(status=True), "/status/ must be a string"),
    (registration(status="sleeping"), "invalid value for /status/"),
]


@pytest.mark.parametrize(("body", "description"), CASES, ids=[text for _, text in CASES])
def test_a_malformed_registration_is_refused_with_orions_text(v2, body, description):
    response = v2.post("/v2/registrations", json=body)
    assert (response.status_code, response.json()) == (400, {"error": "BadRequest", "description": description})
    assert v2.get("/v2/registrations").json() == []


def created(v2, body: dict) -> dict:
    response = v2.post("/v2/registrations", json=body)
    assert response.status_code == 201, response.text
    location = response.headers["Location"]
    registration = v2.get(location).json()
    assert v2.delete(location).status_code == 204
    return registration


def test_an_expression_in_data_provided_is_ignored(v2):
    body = registration(data={**DATA, "expression": {"q": "humidity>40"}})
    assert created(v2, body)["dataProvided"] == DATA


def test_an_empty_expires_is_a_permanent_registration(v2):
    rendered = created(v2, registration(expires=""))
    assert "expires" not in rendered and rendered["status"] == "active"


def test_expires_is_rendered_as_orion_renders_it(v2):
    assert created(v2, registration(expires="2099-01-01T10:00:00.75+02:00"))["expires"] == "2099-01-01T08:00:00.000Z"


def test_an_empty_description_is_not_rendered(v2):
    assert "description" not in created(v2, registration(description=""))
