"""Location attributes read as Orion's getGeoJson (location.cpp) reads them: its 400 texts for simple
locations ("error parsing location attribute: " + the reason), and geo:json `Feature` /
`FeatureCollection` values (the manual's "Geospatial properties of entities": accepted, the geometry is
the location and what is rendered back; a FeatureCollection needs exactly one Feature). One app for
the module; nothing is written on a refusal."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

POINT = {"type": "Point", "coordinates": [135.5, 34.7]}


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("geoattrs") / "data")))) as client:
        yield client


def refusal(v2, entity_id: str, attribute: dict) -> tuple[int, dict]:
    response = v2.post("/v2/entities", json={"id": entity_id, "L": attribute})
    assert v2.get(f"/v2/entities/{entity_id}").status_code == 404
    return response.status_code, response.json()


def bad(reason: str) -> tuple[int, dict]:
    return 400, {"error": "BadRequest", "description": "error parsing location attribute: " + reason}


@pytest.mark.parametrize(("n", "attribute", "reason"), [
    (1, {"type": "geo:point", "value": "abc"}, "geo coordinates format error [see Orion user manual]: abc"),
    (2, {"type": "geo:point", "value": "91, 0"}, "geo coordinates format error [see Orion user manual]: 91, 0"),
    (3, {"type": "geo:point", "value": 1}, "geo coordinates format error [see Orion user manual]: "),
    (4, {"type": "geo:line", "value": "1,2"}, "geo:line, geo:box and geo:polygon needs array of strings as value"),
    (5, {"type": "geo:line", "value": [1, 2]},
     "geo:line, geo:box and geo:polygon needs array of strings but some element is not a string"),
    (6, {"type": "geo:line", "value": ["1,2", "x"]}, "geo coordinates format error [see Orion user manual]: x"),
    (7, {"type": "geo:line", "value": ["1,2"]}, "geo:line uses at least 2 coordinates"),
    (8, {"type": "geo:box", "value": ["1,2", "3,4", "5,6"]}, "geo:box uses exactly 2 coordinates"),
    (9, {"type": "geo:box", "value": ["1,2", "1,4"]}, "geo:box coordinates are not defining an actual box"),
    (10, {"type": "geo:polygon", "value": ["1,2", "3,4", "1,2"]}, "geo:polygon uses at least 4 coordinates"),
    (11, {"type": "geo:polygon", "value": ["1,2", "3,4", "5,6", "7,8"]},
     "geo:polygon first and last coordinates must match"),
])
def test_a_bad_simple_location_is_refused_with_orions_text(v2, n, attribute, reason):
    assert refusal(v2, f"Simple{n}", attribute) == bad(reason)


@pytest.mark.parametrize(("n", "value", "reason"), [
    (1, {"type": "Feature"}, "geometry in Feature not found"),
    (2, {"type": "Feature", "geometry": [1, 2]}, "geometry in Feature is not an object"),
    (3, {"type": "FeatureCollection"}, "features field not found in FeatureCollection"),
    (4, {"type": "FeatureCollection", "features": {}}, "features in FeatureCollection is not an array"),
    (5, {"type": "FeatureCollection", "features": []}, "features in FeatureCollection has 0 items"),
    (6, {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": POINT}] * 2},
     "features in FeatureCollection has more than 1 item"),
])
def test_a_bad_feature_is_refused_with_orions_text(v2, n, value, reason):
    assert refusal(v2, f"Feature{n}", {"type": "geo:json", "value": value}) == bad(reason)


def test_a_feature_gives_its_geometry_as_the_location_and_value(v2):
    feature = {"type": "Feature", "geometry": POINT, "properties": {"name": "x"}}
    assert v2.post("/v2/entities", json={"id": "FeatureOk", "L": {"type": "geo:json", "value": feature}}).status_code == 201
    assert v2.get("/v2/entities/FeatureOk/attrs/L/value").json() == POINT
    near = v2.get("/v2/entities", params={"georel": "near;maxDistance:1000", "geometry": "point",
                                          "coords": "34.7,135.5", "attrs": "none"})
    assert [entity["id"] for entity in near.json()] == ["FeatureOk"]


def test_a_feature_collection_of_one_feature_gives_that_geometry(v2):
    collection = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": POINT}]}
    assert v2.post("/v2/entities", json={"id": "CollectionOk", "L": {"type": "geo:json", "value": collection}}
                   ).status_code == 201
    assert v2.get("/v2/entities/CollectionOk/attrs/L/value").json() == POINT
