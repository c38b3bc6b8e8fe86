"""GET /v2/entities filters, paging, forms, ordering; POST /v2/op/query; the v2 q language."""

from __future__ import annotations

import pytest

from toshi.ngsiv2.errors import V2Error
from toshi.ngsiv2.q import parse_v2_q


def seed(client):
    rooms = [
        {"id": "Room1", "type": "Room", "temperature": {"value": 18}, "color": {"value": "black"},
         "info": {"value": {"floor": 1, "name": "a.b"}}, "seen": {"value": "2026-01-01T10:00:00Z", "type": "DateTime"}},
        {"id": "Room2", "type": "Room", "temperature": {"value": 25}, "color": {"value": "light,green"},
         "info": {"value": {"floor": 2}}, "seen": {"value": "2026-03-01T10:00:00Z", "type": "DateTime"}},
        {"id": "Room3", "type": "Room", "temperature": {"value": 31}, "color": {"value": "yellow"},
         "code": {"value": "20"}},
        {"id": "Car1", "type": "Car", "speed": {"value": 90}, "tags": {"value": ["red", "fast"]}},
    ]
    for room in rooms:
        assert client.post("/v2/entities", json=room).status_code == 201


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


@pytest.mark.parametrize("q, expected", [
    ("temperature>20", ["Room2", "Room3"]),
    ("temperature>=25;temperature<=31", ["Room2", "Room3"]),
    ("temperature==18..25", ["Room1", "Room2"]),
    ("temperature!=18..25", ["Room3"]),
    ("temperature==18,31", ["Room1", "Room3"]),
    ("temperature:31", ["Room3"]),
    ("temperature!=18", ["Room2", "Room3"]),
    ("color=='light,green'", ["Room2"]),
    ("color~=ow", ["Room3"]),
    ("temperature", ["Room1", "Room2", "Room3"]),
    ("!temperature", ["Car1"]),
    ("info.floor==2", ["Room2"]),
    ("info.floor", ["Room1", "Room2"]),
    ("info.name=='a.b'", ["Room1"]),
    ("tags==fast", ["Car1"]),
    ("code=='20'", ["Room3"]),
    ("code==20", []),
    ("seen>2026-02-01T00:00:00Z", ["Room2"]),
])
def test_q(client, q, expected):
    seed(client)
    assert ids(client.get("/v2/entities", params={"q": q})) == expected


def test_id_type_and_patterns(client):
    seed(client)
    assert ids(client.get("/v2/entities?id=Room1,Car1")) == ["Room1", "Car1"]
    assert ids(client.get("/v2/entities?type=Car")) == ["Car1"]
    assert ids(client.get("/v2/entities?idPattern=^Room[12]")) == ["Room1", "Room2"]
    assert ids(client.get("/v2/entities?typePattern=^C")) == ["Car1"]
    assert client.get("/v2/entities?id=a&idPattern=b").status_code == 400
    assert client.get("/v2/entities?type=a&typePattern=b").status_code == 400


def test_paging_and_count(client):
    seed(client)
    page = client.get("/v2/entities?limit=2&offset=1&options=count")
    assert ids(page) == ["Room2", "Room3"]
    assert page.headers["Fiware-Total-Count"] == "4"
    assert "Fiware-Total-Count" not in client.get("/v2/entities").headers
    assert client.get("/v2/entities?limit=1001").json() == {
        "error": "BadRequest", "description": "Bad pagination limit: /1001/ [max: 1000]"}
    assert client.get("/v2/entities?limit=0").status_code == 400
    assert client.get("/v2/entities?offset=-1").status_code == 400


def test_forms_and_attrs(client):
    seed(client)
    kv = client.get("/v2/entities?type=Room&options=keyValues&attrs=temperature").json()
    assert kv[0] == {"id": "Room1", "type": "Room", "temperature": 18}
    values = client.get("/v2/entities?type=Room&options=values&attrs=temperature,color").json()
    assert values == [[18, "black"], [25, "light,green"], [31, "yellow"]]
    client.post("/v2/entities", json={"id": "Room4", "type": "Room", "temperature": {"value": 18},
                                      "color": {"value": "black"}})
    unique = client.get("/v2/entities?type=Room&options=unique&attrs=temperature,color").json()
    assert unique == [[18, "black"], [25, "light,green"], [31, "yellow"]]


def test_order_by(client):
    seed(client)
    assert ids(client.get("/v2/entities?type=Room&orderBy=!temperature")) == ["Room3", "Room2", "Room1"]
    assert ids(client.get("/v2/entities?orderBy=id&limit=2")) == ["Car1", "Room1"]
    assert ids(client.get("/v2/entities?orderBy=type,!id")) == ["Car1", "Room3", "Room2", "Room1"]


def test_geo_query_is_answered(client):  # the geo-queries themselves: test_v2_geo_mq.py
    response = client.get("/v2/entities?georel=near;maxDistance:1000&geometry=point&coords=1,2")
    assert response.status_code == 200 and response.json() == []


def test_bad_q_is_400(client):
    response = client.get("/v2/entities", params={"q": "temperature=="})
    assert response.status_code == 400 and response.json()["error"] == "BadRequest"


def test_op_query(client):
    seed(client)
    body = {"entities": [{"idPattern": ".*", "type": "Room"}, {"id": "Car1"}],
            "attrs": ["temperature", "speed"], "expression": {"q": "temperature>20|speed"}}
    # '|' is not v2 syntax: the whole right-hand side is the string "20|speed", so nothing matches
    assert client.post("/v2/op/query", json=body).json() == []
    body["expression"] = {"q": "temperature>20"}
    got = client.post("/v2/op/query?options=keyValues,count", json=body)
    assert got.json() == [{"id": "Room2", "type": "Room", "temperature": 25},
                          {"id": "Room3", "type": "Room", "temperature": 31}]
    assert got.headers["Fiware-Total-Count"] == "2"
    everything = client.post("/v2/op/query", json={"entities": [{"idPattern": "^Car"}]})
    assert ids(everything) == ["Car1"]
    assert client.post("/v2/op/query", json={"entities": [{"type": "Room"}]}).status_code == 400


def test_q_parser_shapes():
    expand = str
    node = parse_v2_q("'a.b'.w=='x,y';!c", expand)
    first, second = node.children
    assert first.path.attr == "a.b" and first.path.keys == ("w",)
    assert [v.value for v in first.values] == ["x,y"]
    assert second.negated
    assert parse_v2_q("t==1.5", expand).values[0].value == 1.5
    assert parse_v2_q("t==true", expand).values[0].kind == "boolean"
    with pytest.raises(V2Error):
        parse_v2_q(";", expand)
