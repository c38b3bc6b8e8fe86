"""URI parameters without a value, as Orion reads them (every /v2 URL): `?attrs=` or `?attrs` is 400
BadRequest "Empty right-hand-side for URI param /attrs/" and nothing is done; a list of names that holds
no name (`?attrs=,`) selects no attribute. One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("uri") / "data")))) as client:
        assert client.post("/v2/entities", json={"id": "Room1", "type": "Room", "temperature": {"value": 21}}
                           ).status_code == 201
        yield client


def empty(name: str) -> dict:
    return {"error": "BadRequest", "description": f"Empty right-hand-side for URI param /{name}/"}


@pytest.mark.parametrize(("method", "url", "name"), [
    ("GET", "/v2/entities?attrs=", "attrs"),
    ("GET", "/v2/entities?type=Room&limit=", "limit"),
    ("GET", "/v2/entities/Room1?type", "type"),
    ("GET", "/v2/types?options=", "options"),
    ("GET", "/v2/subscriptions?offset=", "offset"),
])
def test_a_parameter_without_a_value_is_refused(v2, method, url, name):
    response = v2.request(method, url)
    assert (response.status_code, response.json()) == (400, empty(name))


def test_a_refused_update_changes_nothing(v2):
    response = v2.patch("/v2/entities/Room1/attrs?options=", json={"temperature": {"value": 30}})
    assert (response.status_code, response.json()) == (400, empty("options"))
    assert v2.get("/v2/entities/Room1/attrs/temperature/value").json() == 21


def test_a_list_without_names_selects_no_attribute(v2):
    assert v2.get("/v2/entities?attrs=,").json() == [{"id": "Room1", "type": "Room"}]
    assert v2.get("/v2/entities/Room1?attrs=,").json() == {"id": "Room1", "type": "Room"}
