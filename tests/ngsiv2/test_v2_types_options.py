"""`options=noAttrDetail` of GET /v2/types and GET /v2/types/{type} (the manual: "the request does not
provide attribute type details, i.e. `types` list associated to each attribute name is set to `[]`").
One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("types") / "data")))) as client:
        for entity in ({"id": "Car1", "type": "Car", "speed": {"value": 80}, "fuel": {"value": "x", "type": "gasoline"}},
                       {"id": "Car2", "type": "Car", "fuel": {"value": "y", "type": "diesel"}}):
            assert client.post("/v2/entities", json=entity).status_code == 201
        yield client


def test_no_attr_detail_empties_the_types_of_every_listed_type(v2):
    assert v2.get("/v2/types?options=noAttrDetail").json() == [
        {"type": "Car", "attrs": {"fuel": {"types": []}, "speed": {"types": []}}, "count": 2}]


def test_no_attr_detail_empties_the_types_of_one_type(v2):
    assert v2.get("/v2/types/Car?options=noAttrDetail").json() == {
        "attrs": {"fuel": {"types": []}, "speed": {"types": []}}, "count": 2}


def test_without_no_attr_detail_a_type_lists_its_attribute_types(v2):
    assert v2.get("/v2/types/Car").json()["attrs"] == {"fuel": {"types": ["diesel", "gasoline"]},
                                                      "speed": {"types": ["Number"]}}
