"""GET /entities and POST /entityOperations/query through the real app."""

from __future__ import annotations

import pytest
from support import error_type


def sensor(n: int, **extra) -> dict:
    entity = {
        "id": f"urn:ngsi-ld:WaterLevel:{n:03d}",
        "type": "WaterLevelObserved",
        "level": {"type": "Property", "value": n * 10, "unitCode": "CMT",
                  "observedAt": f"2026-11-{n % 28 + 1:02d}T00:00:00Z"},
        "status": {"type": "Property", "value": "alert" if n % 3 == 0 else "ok"},
        "river": {"type": "Relationship", "object": f"urn:ngsi-ld:River:{n % 2}"},
        "address": {"type": "Property", "value": {"city": "Toyono" if n % 2 else "Osaka", "zip": f"563-{n:04d}"}},
        "location": {"type": "GeoProperty",
                     "value": {"type": "Point", "coordinates": [135.40 + n * 0.01, 34.80]}},
    }
    entity.update(extra)
    return entity


@pytest.fixture
def town(client):
    response = client.post("/ngsi-ld/v1/entityOperations/create", json=[sensor(n) for n in range(1, 13)])
    assert response.status_code == 201, response.text
    client.post("/ngsi-ld/v1/entities", json={"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter",
                                              "scope": "/Osaka/Toyono",
                                              "capacity": {"type": "Property", "value": 50}})
    return client


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def query(client, **params):
    return client.get("/ngsi-ld/v1/entities", params=params)


def test_query_by_type_with_paging_and_count(town):
    response = query(town, type="WaterLevelObserved", limit=5, count="true")
    assert len(ids(response)) == 5
    assert response.headers["NGSILD-Results-Count"] == "12"
    second = ids(query(town, type="WaterLevelObserved", limit=5, offset=5))
    assert second[0] == "urn:ngsi-ld:WaterLevel:006"
    only_count = query(town, type="WaterLevelObserved", limit=0, count="true")
    assert ids(only_count) == [] and only_count.headers["NGSILD-Results-Count"] == "12"


def test_query_needs_a_filter(town):
    response = town.get("/ngsi-ld/v1/entities")
    assert response.status_code == 400
    assert error_type(response) == "BadRequestData"


def test_limit_bounds(town):
    assert query(town, type="Shelter", limit=100000).status_code == 403
    assert query(town, type="Shelter", limit=-1).status_code == 400
    assert query(town, type="Shelter", limit="abc").status_code == 400


def test_type_expressions(town):
    assert len(ids(query(town, type="WaterLevelObserved,Shelter", limit=100))) == 13
    assert len(ids(query(town, type="WaterLevelObserved|Shelter", limit=100))) == 13
    assert ids(query(town, type="(Shelter)")) == ["urn:ngsi-ld:Shelter:1"]
    assert ids(query(town, type="WaterLevelObserved;Shelter")) == []


def test_id_and_id_pattern(town):
    assert ids(query(town, id="urn:ngsi-ld:WaterLevel:002,urn:ngsi-ld:WaterLevel:003", local="true")) == [
        "urn:ngsi-ld:WaterLevel:002", "urn:ngsi-ld:WaterLevel:003"]
    assert ids(query(town, idPattern="^urn:ngsi-ld:WaterLevel:01[01]$", local="true")) == [
        "urn:ngsi-ld:WaterLevel:010", "urn:ngsi-ld:WaterLevel:011"]
    assert query(town, idPattern="(unclosed", local="true").status_code == 400


def test_hostile_regex_returns(town):
    response = query(town, idPattern="(a+)+$", type="WaterLevelObserved")
    assert response.status_code == 200


def test_q_comparisons(town):
    assert len(ids(query(town, type="WaterLevelObserved", q="level>100"))) == 2
    assert len(ids(query(town, type="WaterLevelObserved", q="level>=30;level<=50"))) == 3
    assert len(ids(query(town, type="WaterLevelObserved", q="level==10..30"))) == 3
    assert len(ids(query(town, type="WaterLevelObserved", q='status=="alert"'))) == 4
    assert len(ids(query(town, type="WaterLevelObserved", q='status!="alert"'))) == 8
    assert len(ids(query(town, type="WaterLevelObserved", q='level==10,20,120'))) == 3
    assert len(ids(query(town, type="WaterLevelObserved", q='status=="alert"|level<20', limit=50))) == 5


def test_q_paths_relationships_patterns(town):
    assert len(ids(query(town, type="WaterLevelObserved", q='address[city]=="Toyono"'))) == 6
    assert len(ids(query(town, type="WaterLevelObserved", q='river=="urn:ngsi-ld:River:0"'))) == 6
    assert len(ids(query(town, type="WaterLevelObserved", q='address[zip]~="563-000[1-3]"'))) == 3
    assert len(ids(query(town, type="WaterLevelObserved", q="level.observedAt>=2026-11-10T00:00:00Z"))) == 4
    assert ids(query(town, q="capacity")) == ["urn:ngsi-ld:Shelter:1"]


def test_bad_q_is_rejected(town):
    response = query(town, type="WaterLevelObserved", q="level>>")
    assert response.status_code == 400
    assert error_type(response) == "BadRequestData"


def test_attrs_filter(town):
    assert ids(query(town, attrs="capacity")) == ["urn:ngsi-ld:Shelter:1"]
    body = query(town, type="WaterLevelObserved", attrs="level", limit=1).json()[0]
    assert set(body) == {"id", "type", "level"}


def test_geo_near(town):
    # sensor n sits at lon 135.40 + n*0.01 (~915 m per 0.01 deg at lat 34.8)
    found = ids(query(town, type="WaterLevelObserved", georel="near;maxDistance==2000", geometry="Point",
                      coordinates="[135.45,34.80]"))
    assert found == ["urn:ngsi-ld:WaterLevel:003", "urn:ngsi-ld:WaterLevel:004", "urn:ngsi-ld:WaterLevel:005",
                     "urn:ngsi-ld:WaterLevel:006", "urn:ngsi-ld:WaterLevel:007"]


def test_geo_within_polygon(town):
    polygon = "[[[135.405,34.7],[135.435,34.7],[135.435,34.9],[135.405,34.9],[135.405,34.7]]]"
    found = ids(query(town, type="WaterLevelObserved", georel="within", geometry="Polygon", coordinates=polygon))
    assert found == ["urn:ngsi-ld:WaterLevel:001", "urn:ngsi-ld:WaterLevel:002", "urn:ngsi-ld:WaterLevel:003"]


def test_bad_geo_query(town):
    assert query(town, type="WaterLevelObserved", georel="near", geometry="Point",
                 coordinates="[135.45,34.80]").status_code == 400
    assert query(town, type="WaterLevelObserved", georel="within", geometry="Polygon",
                 coordinates="[1,2").status_code == 400


def test_scope_q(town):
    assert ids(query(town, scopeQ="/Osaka/#", local="true")) == ["urn:ngsi-ld:Shelter:1"]
    assert ids(query(town, scopeQ="/Kyoto", local="true")) == []


def test_geojson_collection(town):
    response = town.get("/ngsi-ld/v1/entities", params={"type": "WaterLevelObserved", "limit": 3},
                        headers={"Accept": "application/geo+json"})
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 3


def test_post_query(town):
    response = town.post("/ngsi-ld/v1/entityOperations/query", params={"count": "true"}, json={
        "type": "Query", "entities": [{"type": "WaterLevelObserved"}], "q": "level>60",
        "geoQ": {"georel": "near;maxDistance==3000", "geometry": "Point", "coordinates": [135.50, 34.80]},
        "attrs": ["level"]})
    found = ids(response)
    assert found == ["urn:ngsi-ld:WaterLevel:007", "urn:ngsi-ld:WaterLevel:008", "urn:ngsi-ld:WaterLevel:009",
                     "urn:ngsi-ld:WaterLevel:010", "urn:ngsi-ld:WaterLevel:011", "urn:ngsi-ld:WaterLevel:012"]
    assert response.headers["NGSILD-Results-Count"] == "6"
    assert set(response.json()[0]) == {"id", "type", "level"}
    assert town.post("/ngsi-ld/v1/entityOperations/query", json={"entities": []}).status_code == 400


def test_pagination_links(town):
    first = query(town, type="WaterLevelObserved", limit=5)
    assert 'rel="next"' in first.headers["link"] and "offset=5" in first.headers["link"]
    assert 'rel="prev"' not in first.headers["link"]
    assert "json-ld#context" in first.headers["link"]
    last = query(town, type="WaterLevelObserved", limit=5, offset=10, count="true")
    assert 'rel="prev"' in last.headers["link"] and "offset=5" in last.headers["link"]
    assert 'rel="next"' not in last.headers["link"]
