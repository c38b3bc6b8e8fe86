"""The v2 Simple Query Language checked as Orion's StringFilter parses `q` and `mq`: the order of the
checks and their texts (400 BadRequest, the bare parser text as description). One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("qerrors") / "data")))) as client:
        assert client.post("/v2/entities", json={
            "id": "R1", "type": "Room", "temperature": {"value": 21.5, "metadata": {"unit": {"value": "C"}}},
            "name": {"value": "x"}}).status_code == 201
        yield client


def refusal(v2, **params) -> tuple[int, dict]:
    response = v2.get("/v2/entities", params=params)
    return response.status_code, response.json()


def bad(description: str) -> tuple[int, dict]:
    return 400, {"error": "BadRequest", "description": description}


def ids(v2, **params) -> list[str]:
    response = v2.get("/v2/entities", params=params)
    assert response.status_code == 200, response.text
    return [entity["id"] for entity in response.json()]


@pytest.mark.parametrize(("q", "description"), [
    (";", "empty q"),
    ("temperature>1;;name", "empty q-item"),
    ("name; ;temperature", "empty q-item (only whitespace)"),
    ("==21.5", "empty left-hand-side in q-item"),
    (">20", "empty left-hand-side in q-item"),
    ("temperature>", "empty right-hand-side in q-item"),
    ("!", "empty right-hand-side in q-item"),
    ("a=b", "invalid character found in URI param /q/"),
    ("name==a<b", "forbidden characters in String Filter"),
    ("temperature~=(a", "forbidden characters in String Filter"),
    ("temperature~=[", "error compiling filter regex: '['"),
    ("name=='x", "non-terminated forced string"),
    ("name=='x'y'", "quote in forced string"),
    ("temperature==1..", "empty item in range"),
    ("temperature==1..x", "invalid range: types mixed"),
    ("temperature==true..x", "invalid data type for /range-from/"),
    ("temperature==1,", "empty item in list"),
    ("temperature==1,x", "invalid JSON value type in list"),
    ("temperature==true,false", "invalid JSON value type in list"),
    ("temperature>true", "values of type /Bool/ not supported for operator /GreaterThan/"),
    ("temperature<=null", "values of type /Null/ not supported for operator /LessThanOrEqual/"),
    ("temperature>20..30", "ranges only valid for equal and not equal ops"),
    ("temperature<20,30", "lists only valid for equal and not equal ops"),
])
def test_a_bad_q_is_refused_with_orions_text(v2, q, description):
    assert refusal(v2, q=q) == bad(description)


@pytest.mark.parametrize(("mq", "description"), [
    ("temperature", "no metadata in right-hand-side of q-item"),
    ("temperature==C", "no metadata name - not valid for metadata filters"),
    (".unit==C", "no attribute name - not valid for metadata filters"),
    ("temperature.unit=C", "invalid character found in URI param /mq/"),
])
def test_a_bad_mq_is_refused_with_orions_text(v2, mq, description):
    assert refusal(v2, mq=mq) == bad(description)


def test_a_single_trailing_semicolon_is_dropped(v2):
    assert ids(v2, q="temperature>20;") == ["R1"]


def test_a_number_with_a_plus_sign_compares_as_a_number(v2):
    assert ids(v2, q="temperature>+20") == ["R1"]


def test_a_number_list_matches_any_of_its_numbers(v2):
    assert ids(v2, q="temperature==3,21.5") == ["R1"]
