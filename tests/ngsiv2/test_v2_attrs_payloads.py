"""The payload of POST / PATCH / PUT /v2/entities/{id}/attrs checked as Orion's entity parser checks one
for an entity in the URL: `{}` is 400 BadRequest "empty payload", anything but an object is 400
ParseError, and the entity is left as it was; POST /v2/entities with anything but an object is 400
ParseError too. One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

ROOM = {"id": "Room1", "type": "Room", "temperature": {"type": "Number", "value": 21, "metadata": {}}}


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("attrs") / "data")))) as client:
        assert client.post("/v2/entities", json=ROOM).status_code == 201
        yield client


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT"])
def test_an_empty_attributes_payload_is_refused(v2, method):
    response = v2.request(method, "/v2/entities/Room1/attrs", json={})
    assert (response.status_code, response.json()) == (400, {"error": "BadRequest", "description": "empty payload"})
    assert v2.get("/v2/entities/Room1").json() == ROOM


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT"])
def test_an_attributes_payload_that_is_not_an_object_is_a_parse_error(v2, method):
    response = v2.request(method, "/v2/entities/Room1/attrs", json=[{"temperature": {"value": 30}}])
    assert (response.status_code, response.json()) == (
        400, {"error": "ParseError", "description": "Errors found in incoming JSON buffer"})
    assert v2.get("/v2/entities/Room1").json() == ROOM


def test_an_entity_that_is_not_an_object_is_a_parse_error(v2):
    response = v2.post("/v2/entities", json=[{"id": "Room2", "type": "Room"}])
    assert (response.status_code, response.json()) == (
        400, {"error": "ParseError", "description": "Errors found in incoming JSON buffer"})
    assert v2.get("/v2/entities/Room2").status_code == 404
