"""One attribute of a v2 payload read as Orion's parseContextAttribute reads it, member by member and then
checked as its ContextAttribute::check does (the texts of both; the metadata's structure too). `value` given twice in
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


# -- the attribute's members in Orion's order (parseContextAttributeObject, then ContextAttribute::check)

def create_refusal(v2, entity: dict) -> tuple[int, dict]:
    return refused(v2.post("/v2/entities", json=entity))


def bad(description: str) -> tuple[int, dict]:
    return 400, {"error": "BadRequest", "description": description}


@pytest.mark.parametrize(("metadata", "description"), [
    (1, "metadata not a JSON object"),
    ({"m": 1}, "metadata must be a JSON object"),
    ({"m": {"value": 1, "type": 1}}, "invalid JSON type for attribute metadata type"),
    ({"m": {"value": 1, "unit": "C"}}, "invalid JSON field for attribute metadata"),
    ({"m": {"value": "soon", "type": "DateTime"}}, "date has invalid format"),
])
def test_a_badly_formed_metadata_member_is_refused_with_orions_text(v2, metadata, description):
    assert create_refusal(v2, {"id": "Meta1", "A": {"value": 1, "metadata": metadata}}) == bad(description)


def test_the_attribute_members_are_read_in_their_order(v2):
    assert create_refusal(v2, {"id": "Order1", "A": {"type": 1, "unit": "C"}}) == bad(
        "invalid JSON type for attribute type")


def test_an_unknown_member_comes_before_the_attribute_name(v2):
    assert create_refusal(v2, {"id": "Order2", "A B": {"value": 1, "unit": "C"}}) == bad(
        "unrecognized property for context attribute")


def test_the_attribute_name_comes_before_its_value(v2):
    assert create_refusal(v2, {"id": "Order3", "A B": {"value": "<"}}) == bad("Invalid characters in attribute name")


def test_the_attribute_type_comes_before_its_value(v2):
    assert create_refusal(v2, {"id": "Order4", "A": {"value": "<", "type": "T T"}}) == bad(
        "Invalid characters in attribute type")


def test_the_attribute_value_comes_before_its_metadata_names(v2):
    assert create_refusal(v2, {"id": "Order5", "A": {"value": "<", "metadata": {"m m": {"value": 1}}}}) == bad(
        "Invalid characters in attribute value")
