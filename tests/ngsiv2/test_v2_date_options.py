"""The deprecated `options=dateCreated` / `options=dateModified` of entity reads, which Orion still
honours (its setAttrsFilter; functional test 0000_deprecated_checkings/get_entity_dates_with_options):
each adds that builtin attribute to `attrs`, after all the entity's attributes when `attrs` is not
given. One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("dateopts") / "data")))) as client:
        assert client.post("/v2/entities?options=keyValues", json={"id": "E", "type": "T", "A": "foo"}).status_code == 201
        yield client


def got(v2, path: str, **params):
    response = v2.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_both_options_add_both_dates_after_the_attributes(v2):
    body = got(v2, "/v2/entities/E", options="dateCreated,dateModified")
    assert list(body) == ["id", "type", "A", "dateCreated", "dateModified"]
    assert body["dateCreated"]["type"] == "DateTime" and body["dateCreated"]["metadata"] == {}


def test_the_option_works_with_key_values(v2):
    body = got(v2, "/v2/entities/E", options="dateModified,keyValues")
    assert list(body) == ["id", "type", "A", "dateModified"]
    assert body["dateModified"].endswith("Z")


def test_with_attrs_only_the_listed_attributes_and_the_date_are_given(v2):
    body = got(v2, "/v2/entities", options="dateCreated,keyValues", attrs="A")
    assert [list(entity) for entity in body] == [["id", "type", "A", "dateCreated"]]


def test_a_date_already_listed_in_attrs_is_not_repeated(v2):
    values = got(v2, "/v2/entities/E", options="dateCreated,dateModified,values", attrs="dateCreated,dateModified,A")
    assert len(values) == 3 and values[2] == "foo"


def test_the_attributes_endpoint_takes_the_option_too(v2):
    assert list(got(v2, "/v2/entities/E/attrs", options="dateCreated,keyValues")) == ["A", "dateCreated"]
