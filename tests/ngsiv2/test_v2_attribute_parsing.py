"""One attribute of a v2 payload read as Orion's parseContextAttribute reads it: `value` given twice in
an attribute object is 400 "duplicated value key in attribute" (JSON parsers keep the last one; Orion
refuses it), and the body of PUT /v2/entities/{id}/attrs/{attr} must be an object (else 400 ParseError).
Nothing is written in either case. One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

JSON = {"Content-Type": "application/json"}
TWICE = {"error": "BadRequest", "description": "duplicated value key in attribute"}


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("attrparse") / "data")))) as client:
        assert client.post("/v2/entities", json={"id": "Room1", "type": "Room", "name": {"value": "a"}}).status_code == 201
        yield client


def refused(response) -> tuple[int, dict]:
    return response.status_code, response.json()


def test_an_entity_attribute_giving_value_twice_is_refused(v2):
    body = b'{"id": "Twice1", "A": {"value": 1, "value": 2}}'
    assert refused(v2.post("/v2/entities", content=body, headers=JSON)) == (400, TWICE)
    assert v2.get("/v2/entities/Twice1").status_code == 404


def test_a_put_attribute_giving_value_twice_is_refused(v2):
    body = b'{"value": "b", "value": "c"}'
    assert refused(v2.put("/v2/entities/Room1/attrs/name", content=body, headers=JSON)) == (400, TWICE)
    assert v2.get("/v2/entities/Room1/attrs/name/value").json() == "a"


def test_a_batch_entity_attribute_giving_value_twice_is_refused(v2):
    body = b'{"actionType": "append", "entities": [{"id": "Twice2", "A": {"value": 1, "value": 2}}]}'
    assert refused(v2.post("/v2/op/update", content=body, headers=JSON)) == (400, TWICE)
    assert v2.get("/v2/entities/Twice2").status_code == 404


def test_a_compound_value_with_a_repeated_key_is_kept_with_its_last_member(v2):
    body = b'{"id": "Twice3", "A": {"value": {"value": 1, "value": 2}}, "B": {"value": "value"}}'
    assert v2.post("/v2/entities", content=body, headers=JSON).status_code == 201
    assert v2.get("/v2/entities/Twice3/attrs/A/value").json() == {"value": 2}


def test_a_key_values_object_with_a_repeated_value_key_is_a_value(v2):
    body = b'{"id": "Twice4", "A": {"value": 1, "value": 2}}'
    assert v2.post("/v2/entities?options=keyValues", content=body, headers=JSON).status_code == 201
    assert v2.get("/v2/entities/Twice4/attrs/A/value").json() == {"value": 2}


@pytest.mark.parametrize("body", [[1], "text", 5])
def test_a_put_attribute_body_that_is_not_an_object_is_a_parse_error(v2, body):
    response = v2.put("/v2/entities/Room1/attrs/name", json=body)
    assert refused(response) == (400, {"error": "ParseError", "description": "Errors found in incoming JSON buffer"})
    assert v2.get("/v2/entities/Room1/attrs/name/value").json() == "a"
