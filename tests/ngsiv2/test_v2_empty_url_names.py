"""An empty entity id or attribute name in an entity URL is 400 with the payload checks' length text, as
Orion's compErrorDetect answers (`/v2/entities//attrs`, `/v2/entities/E/attrs//value`), whatever the
method. One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

EMPTY_ID = {"error": "BadRequest", "description": "entity id length: 0, min length supported: 1"}
EMPTY_NAME = {"error": "BadRequest", "description": "attribute name length: 0, min length supported: 1"}


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("emptyurl") / "data")))) as client:
        assert client.post("/v2/entities", json={"id": "E1", "A": {"value": 1}}).status_code == 201
        yield client


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v2/entities//attrs"),
    ("PATCH", "/v2/entities//attrs"),
    ("GET", "/v2/entities//attrs/A"),
    ("DELETE", "/v2/entities//attrs/A"),
    ("GET", "/v2/entities//attrs/A/value"),
])
def test_an_empty_entity_id_in_the_url_is_refused(v2, method, path):
    response = v2.request(method, path)
    assert (response.status_code, response.json()) == (400, EMPTY_ID)


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_an_empty_attribute_name_before_value_is_refused(v2, method):
    response = v2.request(method, "/v2/entities/E1/attrs//value")
    assert (response.status_code, response.json()) == (400, EMPTY_NAME)


def test_a_trailing_slash_after_attrs_is_still_the_attributes(v2):
    assert v2.get("/v2/entities/E1/attrs/").json() == {"A": {"type": "Number", "value": 1, "metadata": {}}}
