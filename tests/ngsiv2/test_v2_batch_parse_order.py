"""POST /v2/op/update read in the order of Orion's parseBatchUpdate / parseEntityVector: the members in
the order the payload gives them, and each entity whole (its id / type and its attributes) before the
next, so the first error met is the one reported; nothing is written. One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

NOT_AN_OBJECT = "attribute must be a JSON object, unless keyValues option is used"


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("batchorder") / "data")))) as client:
        yield client


def refusal(v2, body: dict) -> tuple[int, dict]:
    response = v2.post("/v2/op/update", json=body)
    return response.status_code, response.json()


def bad(description: str) -> tuple[int, dict]:
    return 400, {"error": "BadRequest", "description": description}


def test_an_entity_attribute_error_comes_before_a_later_action_type_error(v2):
    body = {"entities": [{"id": "Order1", "A": 1}], "actionType": "foo"}
    assert refusal(v2, body) == bad(NOT_AN_OBJECT)


def test_an_action_type_error_comes_before_a_later_entities_error(v2):
    body = {"actionType": "foo", "entities": [{"id": "Order2", "A": 1}]}
    assert refusal(v2, body) == bad("invalid update action type: right ones are: append, appendStric, delete, replace, update")


def test_an_attribute_error_in_an_entity_comes_before_a_later_entity_without_id(v2):
    body = {"actionType": "append", "entities": [{"id": "Order3", "A": 1}, {"type": "T"}]}
    assert refusal(v2, body) == bad(NOT_AN_OBJECT)
    assert v2.get("/v2/entities/Order3").status_code == 404


def test_an_entity_without_id_comes_before_a_later_attribute_error(v2):
    body = {"actionType": "append", "entities": [{"type": "T"}, {"id": "Order4", "A": 1}]}
    assert refusal(v2, body) == bad("nor /id/ nor /idPattern/ present")


def test_a_good_entity_before_a_bad_one_is_not_written(v2):
    body = {"actionType": "append", "entities": [{"id": "Order5", "A": {"value": 1}}, {"id": "Order6", "A": 1}]}
    assert refusal(v2, body) == bad(NOT_AN_OBJECT)
    assert v2.get("/v2/entities/Order5").status_code == 404
