"""POST /v2/op/query checked as Orion's batch-query parser checks it, member by member, with its texts
(400; the payload is not an object: ParseError). One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("opq") / "data")))) as client:
        assert client.post("/v2/entities", json={"id": "Room1", "type": "Room", "temperature": {"value": 21}}
                           ).status_code == 201
        yield client


CASES = [
    ({}, "empty payload"),
    ({"metadata": ["accuracy"]}, "Invalid JSON payload, no relevant fields found"),
    ({"entities": [{"id": "Room1"}], "filter": {}}, "Unrecognized field in JSON payload: /filter/"),
    ({"entities": {"id": "Room1"}}, "not a JSON array"),
    ({"entities": ["Room1"]}, "entity is not a JSON object"),
    ({"entities": [{"id": "Room1", "idPattern": "R.*"}]}, "both /id/ and /idPattern/ present"),
    ({"entities": [{"type": "Room"}]}, "nor /id/ nor /idPattern/ present"),
    ({"entities": [{"id": 1}]}, "Invalid JSON type for entity id"),
    ({"entities": [{"idPattern": "("}]}, "Invalid regex for entity idPattern"),
    ({"entities": [{"id": "Room1", "type": ""}]}, "entity type length: 0, min length supported: 1"),
    ({"entities": [{"id": "Room1", "temperature": {"value": 1}}]}, "no attributes allowed in Entity in this payload"),
    ({"attrs": "temperature"}, "the field /attrs/ must be a JSON array"),
    ({"attrs": [1]}, "only JSON Strings allowed in attrs list"),
    ({"attrs": ["temperature"], "metadata": [True]}, "only JSON Strings allowed in metadata list"),
    ({"expression": "temperature>1"}, "expression is not an object"),
    ({"expression": {}}, "expression is empty"),
    ({"expression": {"q": 1}}, "q is not a string"),
    ({"expression": {"mq": ""}}, "mq is empty"),
    ({"expression": {"georel": "near;maxDistance:10", "geometry": 1, "coords": "1,2"}}, "geometry is not a string"),
]


@pytest.mark.parametrize(("body", "description"), CASES, ids=[text for _, text in CASES])
def test_a_malformed_query_is_refused_with_orions_text(v2, body, description):
    response = v2.post("/v2/op/query", json=body)
    assert (response.status_code, response.json()) == (400, {"error": "BadRequest", "description": description})


def test_a_query_that_is_not_an_object_is_a_parse_error(v2):
    response = v2.post("/v2/op/query", json=[{"id": "Room1"}])
    assert (response.status_code, response.json()) == (
        400, {"error": "ParseError", "description": "Errors found in incoming JSON buffer"})


def test_a_well_formed_query_answers(v2):
    body = {"entities": [{"idPattern": "Room.*", "type": "Room"}], "attrs": ["temperature"],
            "expression": {"q": "temperature>20"}}
    assert v2.post("/v2/op/query?options=keyValues", json=body).json() == [
        {"id": "Room1", "type": "Room", "temperature": 21}]
