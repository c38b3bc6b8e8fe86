"""NGSI-v2 geo-queries (georel / geometry / coords) and metadata queries (mq), as Orion."""

from __future__ import annotations

import pytest

SOL = "40.4168,-3.7038"  # lat,lon (v2 order)


def seed(client):
    places = [
        {"id": "Sol", "type": "Place", "location": {"type": "geo:point", "value": "40.4168, -3.7038"}},
        # any attribute name: the entity's location is its GeoProperty attribute
        {"id": "Retiro", "type": "Place",
         "position": {"type": "geo:json", "value": {"type": "Point", "coordinates": [-3.6883, 40.4153]}}},
        {"id": "Barcelona", "type": "Place", "location": {"type": "geo:point", "value": "41.3851, 2.1734"}},
        {"id": "Road", "type": "Road",
         "location": {"type": "geo:line", "value": ["40.40, -3.80", "40.45, -3.60"]}},
        {"id": "Nowhere", "type": "Place", "name": {"value": "no location"}},
    ]
    for place in places:
        assert client.post("/v2/entities", json=place).status_code == 201, place


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


@pytest.mark.parametrize("georel, geometry, coords, expected", [
    ("near;maxDistance:2000", "point", SOL, ["Sol", "Retiro", "Road"]),
    ("near;minDistance:100000", "point", SOL, ["Barcelona"]),
    ("near;minDistance:500;maxDistance:2000", "point", SOL, ["Retiro", "Road"]),
    ("coveredBy", "box", "40,-4;41,-3", ["Sol", "Retiro", "Road"]),
    ("coveredBy", "box", "40.41,-3.71;40.42,-3.70", ["Sol"]),
    ("coveredBy", "polygon", "40,-4;41,-4;41,-3;40,-3;40,-4", ["Sol", "Retiro", "Road"]),
    ("intersects", "line", "40.43,-3.9;40.43,-3.5", ["Road"]),
    ("intersects", "box", "41,2;42,3", ["Barcelona"]),
    ("equals", "point", "40.4168,-3.7038", ["Sol"]),
    ("disjoint", "box", "40,-4;41,-3", ["Barcelona"]),
])
def test_georel(client, georel, geometry, coords, expected):
    seed(client)
    got = ids(client.get("/v2/entities", params={"georel": georel, "geometry": geometry, "coords": coords}))
    assert sorted(got) == sorted(expected)
    body = {"expression": {"georel": georel, "geometry": geometry, "coords": coords}}
    assert sorted(ids(client.post("/v2/op/query", json=body))) == sorted(expected)


def test_near_ordered_by_distance(client):
    seed(client)
    params = {"type": "Place", "georel": "near;maxDistance:1000000", "geometry": "point", "coords": SOL}
    assert ids(client.get("/v2/entities", params={**params, "orderBy": "geo:distance"})) == \
        ["Sol", "Retiro", "Barcelona"]
    assert ids(client.get("/v2/entities", params={**params, "orderBy": "!geo:distance"})) == \
        ["Barcelona", "Retiro", "Sol"]
    assert ids(client.get("/v2/entities", params={**params, "orderBy": "geo:distance", "limit": 1,
                                                  "offset": 1})) == ["Retiro"]


def test_geo_combines_with_type_and_q(client):
    seed(client)
    client.post("/v2/entities/Sol/attrs", json={"visitors": {"value": 10}})
    params = {"georel": "near;maxDistance:2000", "geometry": "point", "coords": SOL}
    assert ids(client.get("/v2/entities", params={**params, "type": "Place"})) == ["Sol", "Retiro"]
    assert ids(client.get("/v2/entities", params={**params, "q": "visitors>5"})) == ["Sol"]


@pytest.mark.parametrize("params, description", [
    ({"coords": SOL}, "Invalid query: URI param /coords/ used without /geometry/"),
    ({"geometry": "point"}, "Invalid query: URI param /geometry/ used without /coords/"),
    ({"georel": "near;maxDistance:10"}, "Invalid query: URI param /georel/ used without /geometry/"),
    ({"georel": "near;maxDistance:10", "geometry": "polygon", "coords": "1,1;1,2;2,2;1,1"},
     "Invalid query: georel /near/ used with geometry different than point"),
    ({"georel": "coveredBy", "geometry": "point", "coords": SOL},
     "Invalid query: point geometry cannot be used with coveredBy georel"),
    ({"georel": "coveredBy", "geometry": "line", "coords": "1,1;2,2"},
     "Invalid query: line geometry cannot be used with coveredBy georel"),
    ({"georel": "near", "geometry": "point", "coords": SOL},
     "Invalid query: georel /near/ without either minDistance nor maxDistance"),
    ({"georel": "near;maxDistance:x", "geometry": "point", "coords": SOL},
     "Invalid query: invalid number for maxDistance"),
    ({"georel": "near;maxDistance==10", "geometry": "point", "coords": SOL},
     "Invalid query: Invalid modifier in georel parameter"),
    ({"georel": "intersects;maxDistance:10", "geometry": "point", "coords": SOL},
     "Invalid query: maxDistance erroneously used with georel /intersects/"),
    ({"georel": "within", "geometry": "point", "coords": SOL}, "Invalid query: Invalid modifier in georel parameter"),
    ({"georel": "intersects", "geometry": "circle", "coords": SOL},
     "Invalid query: error parsing geometry: Invalid selector in geometry specification"),
    ({"georel": "intersects", "geometry": "point", "coords": "1,2,3"},
     "Invalid query: invalid point in URI param /coords/"),
    ({"georel": "intersects", "geometry": "point", "coords": "a,2"}, "Invalid query: invalid coordinates"),
    ({"georel": "intersects", "geometry": "point", "coords": "1,2;3,4"},
     "Invalid query: invalid number of coordinates for /point/"),
    ({"georel": "intersects", "geometry": "box", "coords": "1,2"},
     "Invalid query: invalid number of coordinates for /box/"),
    ({"georel": "intersects", "geometry": "box", "coords": "1,2;1,4"},
     "Invalid query: box coordinates are not defining an actual box"),
    ({"georel": "intersects", "geometry": "line", "coords": "1,2"},
     "Invalid query: invalid number of coordinates for /line/"),
    ({"georel": "intersects", "geometry": "polygon", "coords": "1,2;3,4;5,5"},
     "Invalid query: Too few coordinates for polygon"),
    ({"georel": "intersects", "geometry": "polygon", "coords": "1,2;3,4;5,5;1,3"},
     "Invalid query: First and last point in polygon not the same"),
    ({"geometry": "point", "coords": SOL},
     "Invalid query: partial geo expression: geometry, georel and coords have to be provided together"),
    ({"georel": "intersects", "geometry": "point", "coords": SOL, "orderBy": "geo:distance"},
     "orderBy=geo:distance can only be used with georel=near"),
])
def test_geo_errors(client, params, description):
    response = client.get("/v2/entities", params=params)
    assert response.status_code == 400
    assert response.json() == {"error": "BadRequest", "description": description}


def test_op_query_geo_errors(client):
    partial = client.post("/v2/op/query", json={"expression": {"georel": "near;maxDistance:5"}})
    assert partial.status_code == 400
    assert partial.json()["description"] == \
        "partial geo expression: geometry, georel and coords have to be provided together"
    bad = client.post("/v2/op/query", json={"expression": {"georel": "near", "geometry": "point", "coords": SOL}})
    assert bad.json() == {"error": "BadRequest", "description": "error parsing geo-query fields: "
                          "georel /near/ without either minDistance nor maxDistance"}


def test_geo_sees_ngsild_geoproperty(client):
    ld = {"id": "urn:ngsi-ld:Place:ld", "type": "Place",
          "where": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [-3.7038, 40.4168]}}}
    assert client.post("/ngsi-ld/v1/entities", json=ld,
                       headers={"Content-Type": "application/json"}).status_code == 201
    params = {"georel": "near;maxDistance:10", "geometry": "point", "coords": SOL}
    assert ids(client.get("/v2/entities", params=params)) == ["urn:ngsi-ld:Place:ld"]


# -- mq ---------------------------------------------------------------------------------------------

def seed_metadata(client):
    sensors = [
        {"id": "S1", "type": "Sensor", "temperature": {"value": 20, "metadata": {
            "accuracy": {"type": "Number", "value": 0.9}, "unitCode": {"value": "CEL"},
            "TimeInstant": {"type": "DateTime", "value": "2026-01-01T10:00:00Z"},
            "source": {"value": {"vendor": "acme", "model": "t1"}}}}},
        {"id": "S2", "type": "Sensor", "temperature": {"value": 21, "metadata": {
            "accuracy": {"type": "Number", "value": 0.5}, "unitCode": {"value": "FAH"},
            "TimeInstant": {"type": "DateTime", "value": "2026-03-01T10:00:00Z"},
            "source": {"value": {"vendor": "other"}}}}},
        {"id": "S3", "type": "Sensor", "temperature": {"value": 22}},
    ]
    for sensor in sensors:
        assert client.post("/v2/entities", json=sensor).status_code == 201


@pytest.mark.parametrize("mq, expected", [
    ("temperature.accuracy>0.8", ["S1"]),
    ("temperature.accuracy==0.5", ["S2"]),
    ("temperature.accuracy==0.4..0.95", ["S1", "S2"]),
    ("temperature.accuracy!=0.5", ["S1"]),
    ("temperature.accuracy", ["S1", "S2"]),
    ("!temperature.accuracy", ["S3"]),
    ("temperature.unitCode==CEL", ["S1"]),
    ("temperature.unitCode==CEL,FAH", ["S1", "S2"]),
    ("temperature.TimeInstant>2026-02-01T00:00:00Z", ["S2"]),
    ("temperature.source.vendor==acme", ["S1"]),
    ("temperature.source.vendor~=^o", ["S2"]),
    ("temperature.accuracy>0.1;temperature.unitCode==FAH", ["S2"]),
])
def test_mq(client, mq, expected):
    seed_metadata(client)
    assert ids(client.get("/v2/entities", params={"mq": mq})) == expected
    assert ids(client.post("/v2/op/query", json={"expression": {"mq": mq}})) == expected


def test_mq_with_q_and_builtin_metadata(client):
    seed_metadata(client)
    assert ids(client.get("/v2/entities", params={"q": "temperature<21", "mq": "temperature.accuracy"})) == ["S1"]
    assert ids(client.get("/v2/entities", params={"mq": "temperature.dateCreated>2000-01-01T00:00:00Z"})) == \
        ["S1", "S2", "S3"]


def test_mq_needs_a_metadata_name(client):
    response = client.get("/v2/entities", params={"mq": "temperature>1"})
    assert response.status_code == 400
    assert response.json()["error"] == "BadRequest"
