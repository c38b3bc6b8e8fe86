"""The manual's "Geospatial properties of entities": Orion limits the location attributes of an entity to
one; an attempt to have a second is 413 NoResourcesAvailable and changes nothing, while an attribute with
`ignoreType` metadata is an informative location that does not count. One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

POINT = {"type": "geo:json", "value": {"type": "Point", "coordinates": [-3.68666, 40.48108]}}
TOO_MANY = {"error": "NoResourcesAvailable",
            "description": "You cannot use more than one geo location attribute when creating an entity "
                           "[see Orion user manual]"}


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("geo") / "data")))) as client:
        yield client


def test_creating_an_entity_with_two_locations_is_refused(v2):
    response = v2.post("/v2/entities", json={"id": "Hospital1", "type": "Hospital", "location": POINT,
                                             "entrance": {"type": "geo:point", "value": "40.48, -3.68"}})
    assert (response.status_code, response.json()) == (413, TOO_MANY)
    assert v2.get("/v2/entities/Hospital1").status_code == 404


def test_adding_a_second_location_is_refused_and_changes_nothing(v2):
    assert v2.post("/v2/entities", json={"id": "Hospital2", "type": "Hospital", "location": POINT}).status_code == 201
    response = v2.post("/v2/entities/Hospital2/attrs", json={"entrance": {"type": "geo:point", "value": "40.4, -3.6"}})
    assert (response.status_code, response.json()) == (413, TOO_MANY)
    assert list(v2.get("/v2/entities/Hospital2?options=keyValues").json()) == ["id", "type", "location"]


def test_the_one_location_may_be_updated(v2):
    assert v2.post("/v2/entities", json={"id": "Hospital3", "type": "Hospital", "location": POINT}).status_code == 201
    moved = {"location": {"type": "geo:point", "value": "40.5, -3.7"}}
    assert v2.patch("/v2/entities/Hospital3/attrs", json=moved).status_code == 204


def test_an_informative_location_with_ignore_type_does_not_count(v2):
    informative = {**POINT, "metadata": {"ignoreType": {"type": "Boolean", "value": True}}}
    response = v2.post("/v2/entities", json={"id": "Hospital4", "type": "Hospital", "location": POINT,
                                             "ambulances": informative})
    assert response.status_code == 201
