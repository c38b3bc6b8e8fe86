"""`typePattern` in the entities of POST /v2/op/update and /v2/op/query, as Orion reads them: op/query
matches types by the pattern; op/update checks it (string, regex) and then compares it literally, as
Orion's batch update looks the entity up by a type equal to the pattern's text."""

from __future__ import annotations


def update(client, action: str, entities: list):
    return client.post("/v2/op/update", json={"actionType": action, "entities": entities})


def query(client, entities: list) -> list:
    response = client.post("/v2/op/query?options=keyValues", json={"entities": entities})
    assert response.status_code == 200
    return sorted(e["id"] for e in response.json())


def error(response):
    return response.status_code, response.json()


def seed(client):
    for entity in ({"id": "R1", "type": "Room"}, {"id": "R2", "type": "RoomXL"}, {"id": "C1", "type": "Car"}):
        assert client.post("/v2/entities", json={**entity, "t": {"value": 1}}).status_code == 201


# -- op/query -------------------------------------------------------------------------------------

def test_query_matches_types_by_the_pattern(client):
    seed(client)
    assert query(client, [{"idPattern": ".*", "typePattern": "^Room"}]) == ["R1", "R2"]
    assert query(client, [{"id": "R2", "typePattern": "XL$"}]) == ["R2"]


def test_query_with_type_and_type_pattern_takes_the_later_as_the_pattern(client):
    seed(client)
    assert query(client, [{"idPattern": ".*", "type": "Car", "typePattern": "^Room"}]) == ["R1", "R2"]
    assert query(client, [{"idPattern": ".*", "typePattern": "^Car", "type": "Room"}]) == ["R1", "R2"]


def test_query_refuses_a_bad_type_pattern(client):
    response = client.post("/v2/op/query", json={"entities": [{"idPattern": ".*", "typePattern": "Room["}]})
    assert error(response) == (400, {"error": "BadRequest", "description": "Invalid regex for entity typePattern"})


# -- op/update ------------------------------------------------------------------------------------

def test_update_compares_the_pattern_literally(client):
    seed(client)
    assert update(client, "update", [{"id": "R1", "typePattern": "Room", "t": {"value": 2}}]).status_code == 204
    assert client.get("/v2/entities/R1/attrs/t/value").json() == 2
    assert error(update(client, "update", [{"id": "R1", "typePattern": "Ro.*", "t": {"value": 3}}])) == (404, {
        "error": "NotFound", "description": "do not exist: R1/Ro.* - [entity itself]"})
    assert client.get("/v2/entities/R1/attrs/t/value").json() == 2


def test_append_creates_an_entity_of_the_patterns_text(client):
    assert update(client, "append", [{"id": "N1", "typePattern": "Room.*", "t": {"value": 1}}]).status_code == 204
    assert client.get("/v2/entities/N1?options=keyValues").json() == {"id": "N1", "type": "Room.*", "t": 1}


def test_update_with_type_and_type_pattern_takes_the_later(client):
    seed(client)
    assert update(client, "update", [{"id": "R1", "type": "Car", "typePattern": "Room", "t": {"value": 4}}]
                  ).status_code == 204
    assert update(client, "update", [{"id": "R1", "typePattern": "Room", "type": "Car", "t": {"value": 5}}]
                  ).status_code == 404
    assert client.get("/v2/entities/R1/attrs/t/value").json() == 4


def test_an_empty_type_pattern_is_no_type(client):
    seed(client)
    assert update(client, "update", [{"id": "R1", "typePattern": "", "t": {"value": 6}}]).status_code == 204
    assert client.get("/v2/entities/R1/attrs/t/value").json() == 6


def test_update_checks_the_pattern_as_orions_parser(client):
    seed(client)
    for pattern, description in ((1, "Invalid JSON type for entity typePattern"),
                                 ("Room[", "Invalid regex for entity typePattern"),
                                 ("R" * 257, "entity type length: 257, max length supported: 256")):
        response = update(client, "append", [{"id": "R1", "typePattern": pattern, "t": {"value": 7}}])
        assert error(response) == (400, {"error": "BadRequest", "description": description})
    assert client.get("/v2/entities/R1/attrs/t/value").json() == 1


def test_update_reads_type_pattern_where_it_stands(client):
    # parseEntityObject reads the members in order: a bad type before the pattern is reported even
    # though the pattern overwrites it, and an attribute before a bad pattern is reported first
    seed(client)
    response = update(client, "update", [{"id": "R1", "type": 1, "typePattern": "Room", "t": {"value": 8}}])
    assert error(response) == (400, {"error": "BadRequest", "description": "Invalid JSON type for entity type"})
    response = update(client, "update", [{"id": "R1", "t": 8, "typePattern": 1}])
    assert error(response) == (400, {"error": "BadRequest",
                                     "description": "attribute must be a JSON object, unless keyValues option is used"})
