"""The entity payload of POST /v2/entities read in the order of Orion's parseEntity: `id` must be
there; then the members in the order the payload gives them (the JSON type and the characters of `id`,
of `type` and its emptiness, each attribute with its own checks); the empty id and the lengths only
after that (Orion's later Entity::check). An attributes-only payload (`/attrs`) naming `id` or `type`
is refused before its attributes are read. One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

JSON = {"Content-Type": "application/json"}
LONG = "a" * 257


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("entparse") / "data")))) as client:
        assert client.post("/v2/entities", json={"id": "Room1", "type": "Room"}).status_code == 201
        yield client


def refusal(v2, body: bytes, path: str = "/v2/entities") -> tuple[int, str]:
    response = v2.post(path, content=body, headers=JSON)
    assert response.json()["error"] == "BadRequest"
    return response.status_code, response.json()["description"]


def test_an_attribute_before_a_bad_id_is_checked_first(v2):
    assert refusal(v2, b'{"A": 1, "id": "E 1"}') == (
        400, "attribute must be a JSON object, unless keyValues option is used")


def test_a_bad_id_before_an_attribute_is_checked_first(v2):
    assert refusal(v2, b'{"id": "E 1", "A": 1}') == (400, "Invalid characters in entity id")


def test_the_length_of_the_id_is_checked_after_the_attributes(v2):
    body = b'{"id": "' + LONG.encode() + b'", "A": 1}'
    assert refusal(v2, body) == (400, "attribute must be a JSON object, unless keyValues option is used")


def test_an_empty_id_is_checked_after_the_members(v2):
    assert refusal(v2, b'{"id": "", "type": "T T"}') == (400, "Invalid characters in entity type")


def test_an_empty_type_is_refused_where_it_stands(v2):
    assert refusal(v2, b'{"type": "", "A": 1, "id": "E"}') == (400, "entity type length: 0, min length supported: 1")


def test_a_type_that_is_no_string_after_an_attribute_is_refused(v2):
    assert refusal(v2, b'{"A": {"value": 1}, "type": 3, "id": "E"}') == (400, "Invalid JSON type for entity type")


@pytest.mark.parametrize("member", ["id", "type"])
def test_an_attributes_payload_naming_id_or_type_is_refused_before_its_attributes(v2, member):
    body = b'{"A": {"value": "<"}, "' + member.encode() + b'": "x"}'
    assert refusal(v2, body, "/v2/entities/Room1/attrs") == (400, f"entity {member} specified in payload")
