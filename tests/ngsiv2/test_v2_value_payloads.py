"""The body of PUT /v2/entities/{id}/attrs/{attr}/value read as Orion reads it: as JSON only an object
or an array (the manual's "the JSON object or array coded in the payload"; Orion's parseAttributeValue:
400 "Neither JSON Object nor JSON Array for attribute::value"), as text a quoted string that must close
("Missing citation-mark at end of string"), true / false / null in Orion's spellings, else a number
(textParseAttributeValue). One app for the module; nothing is written on a refusal."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

TEXT = {"Content-Type": "text/plain"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("valuepl") / "data")))) as client:
        yield client


@pytest.fixture
def entity(v2, request):
    entity_id = f"V{abs(hash(request.node.name))}"
    assert v2.post("/v2/entities", json={"id": entity_id, "A": {"value": 1}}).status_code == 201
    return entity_id


def put(v2, entity_id: str, body: bytes, headers: dict):
    return v2.put(f"/v2/entities/{entity_id}/attrs/A/value", content=body, headers=headers)


def value(v2, entity_id: str):
    return v2.get(f"/v2/entities/{entity_id}/attrs/A/value").json()


@pytest.mark.parametrize("body", [b"5", b'"text"', b"true", b"null"])
def test_a_json_value_that_is_no_object_or_array_is_refused(v2, entity, body):
    response = put(v2, entity, body, JSON)
    assert (response.status_code, response.json()) == (
        400, {"error": "BadRequest", "description": "Neither JSON Object nor JSON Array for attribute::value"})
    assert value(v2, entity) == 1


@pytest.mark.parametrize("body", [b'{"a": 1}', b"[1, 2]"])
def test_a_json_object_or_array_is_the_new_value(v2, entity, body):
    assert put(v2, entity, body, JSON).status_code == 204
    assert v2.get(f"/v2/entities/{entity}/attrs/A/value", headers={"Accept": "application/json"}).content \
        == body.replace(b" ", b"")


def test_a_text_string_without_its_closing_quote_is_refused(v2, entity):
    response = put(v2, entity, b'"open', TEXT)
    assert (response.status_code, response.json()) == (
        400, {"error": "BadRequest", "description": "Missing citation-mark at end of string"})
    assert value(v2, entity) == 1


@pytest.mark.parametrize(("body", "expected"), [
    (b"True", True), (b"TRUE", True), (b"False", False), (b"FALSE", False), (b"Null", None), (b"NULL", None)])
def test_orions_other_spellings_of_booleans_and_null_are_read(v2, entity, body, expected):
    assert put(v2, entity, body, TEXT).status_code == 204
    assert v2.get(f"/v2/entities/{entity}/attrs/A").json()["value"] == expected


def test_a_mixed_case_spelling_orion_does_not_know_is_refused(v2, entity):
    response = put(v2, entity, b"tRue", TEXT)
    assert (response.status_code, response.json()["description"]) == (400, "attribute value type not recognized")


# -- numbers: Orion keeps doubles and renders a whole one without a fraction -----------------------

def test_a_whole_number_written_with_a_fraction_is_rendered_whole(v2):
    body = {"id": "Whole1", "A": {"value": 1.0}, "B": {"value": 2.5}, "C": {"value": {"x": 3.0, "y": [1.0, 2]}},
            "D": {"value": 0.1, "metadata": {"m": {"value": 5.0}}}}
    assert v2.post("/v2/entities", json=body).status_code == 201
    assert v2.get("/v2/entities/Whole1?options=keyValues").content == (
        b'{"id":"Whole1","type":"Thing","A":1,"B":2.5,"C":{"x":3,"y":[1,2]},"D":0.1}')
    assert v2.get("/v2/entities/Whole1/attrs/D?metadata=m").json()["metadata"]["m"]["value"] == 5
    assert v2.get("/v2/entities/Whole1/attrs/A/value").text == "1"


def test_a_whole_number_in_a_json_value_update_is_rendered_whole(v2, entity):
    assert put(v2, entity, b'{"n": 4.0}', JSON).status_code == 204
    assert v2.get(f"/v2/entities/{entity}/attrs/A/value", headers={"Accept": "application/json"}).content == b'{"n":4}'


def test_an_increment_giving_a_whole_number_is_rendered_whole(v2):
    assert v2.post("/v2/entities", json={"id": "Whole2", "A": {"value": 1.5}}).status_code == 201
    assert v2.patch("/v2/entities/Whole2/attrs", json={"A": {"value": {"$inc": 1.5}}}).status_code == 204
    assert v2.get("/v2/entities/Whole2/attrs/A/value").text == "3"
