"""Partial and refused updates with the manual's errors ("Update or Append Entity Attributes", "Update
Existing Entity Attributes", "Update operation" of op/update): which status, which error name, which
entities and attributes the description lists."""

from __future__ import annotations

E = {"id": "E", "type": "T", "A": {"value": 1}, "B": {"value": 2}}
F = {"id": "F", "type": "T", "A": {"value": 1}}


def setup(client, *entities) -> None:
    for entity in entities:
        assert client.post("/v2/entities", json=entity).status_code == 201


def error_of(response) -> tuple[int, dict]:
    return response.status_code, response.json()


def test_strict_append_of_only_existing_attributes_is_unprocessable(client):
    setup(client, E)
    response = client.post("/v2/entities/E/attrs?options=append&type=T", json={"A": {"value": 5}, "B": {"value": 6}})
    assert error_of(response) == (422, {"error": "Unprocessable", "description":
                                        "one or more of the attributes in the request already exist: E/T - [ A, B ]"})
    assert client.get("/v2/entities/E?options=keyValues").json()["A"] == 1


def test_strict_append_of_some_existing_attributes_is_partial(client):
    setup(client, E)
    response = client.post("/v2/entities/E/attrs?options=append&type=T", json={"B": {"value": 6}, "C": {"value": 7}})
    assert error_of(response) == (422, {"error": "PartialUpdate", "description":
                                        "one or more of the attributes in the request already exist: E/T - [ B ]"})
    assert client.get("/v2/entities/E?options=keyValues").json()["C"] == 7


def test_the_type_is_shown_only_when_the_request_gives_it(client):
    setup(client, E)
    response = client.post("/v2/entities/E/attrs?options=append", json={"B": {"value": 6}, "C": {"value": 7}})
    assert response.json()["description"] == "one or more of the attributes in the request already exist: E - [ B ]"


def test_patch_of_only_missing_attributes_is_unprocessable(client):
    setup(client, E)
    response = client.patch("/v2/entities/E/attrs?type=T", json={"C": {"value": 1}, "D": {"value": 2}})
    assert error_of(response) == (422, {"error": "Unprocessable", "description": "do not exist: E/T - [ C, D ]"})


def test_patch_of_some_missing_attributes_is_partial(client):
    setup(client, E)
    response = client.patch("/v2/entities/E/attrs?type=T", json={"A": {"value": 9}, "C": {"value": 1}})
    assert error_of(response) == (422, {"error": "PartialUpdate", "description": "do not exist: E/T - [ C ]"})
    assert client.get("/v2/entities/E?options=keyValues").json()["A"] == 9


def test_patch_that_writes_nothing_does_not_touch_the_entity(client):
    setup(client, E)
    before = client.get("/v2/entities/E?attrs=dateModified&options=keyValues").json()
    client.patch("/v2/entities/E/attrs", json={"C": {"value": 1}})
    assert client.get("/v2/entities/E?attrs=dateModified&options=keyValues").json() == before


def batch(client, action: str, *entities):
    return client.post("/v2/op/update", json={"actionType": action, "entities": list(entities)})


def test_batch_replace_of_no_existing_entity_is_not_found(client):
    response = batch(client, "replace", {"id": "F", "type": "T"}, {"id": "G", "type": "T"})
    assert error_of(response) == (404, {"error": "NotFound", "description":
                                        "do not exist: F/T - [entity itself], G/T [entity itself]"})


def test_batch_replace_of_some_missing_entities_is_partial(client):
    setup(client, F)
    response = batch(client, "replace", {"id": "F", "type": "T", "Z": {"value": 1}}, {"id": "G", "type": "T"})
    assert error_of(response) == (422, {"error": "PartialUpdate", "description": "do not exist: G/T - [entity itself]"})
    assert client.get("/v2/entities/F?options=keyValues").json() == {"id": "F", "type": "T", "Z": 1}


def test_batch_update_where_existing_entities_fully_fail_is_unprocessable(client):
    setup(client, E)
    response = batch(client, "update", {"id": "E", "type": "T", "C": {"value": 1}, "D": {"value": 1}},
                     {"id": "G", "type": "T", "A": {"value": 1}})
    assert error_of(response) == (422, {"error": "Unprocessable", "description":
                                        "do not exist: E/T - [ C, D ], G/T [entity itself]"})


def test_batch_update_with_some_success_is_partial(client):
    setup(client, E)
    response = batch(client, "update", {"id": "E", "type": "T", "A": {"value": 5}, "D": {"value": 1}},
                     {"id": "G", "type": "T", "A": {"value": 1}})
    assert error_of(response) == (422, {"error": "PartialUpdate", "description":
                                        "do not exist: E/T - [ D ], G/T [entity itself]"})
    assert client.get("/v2/entities/E?options=keyValues").json()["A"] == 5


def test_batch_delete_of_missing_attributes_is_reported(client):
    setup(client, E)
    response = batch(client, "delete", {"id": "E", "type": "T", "A": {}, "C": {}})
    assert error_of(response) == (422, {"error": "PartialUpdate", "description": "do not exist: E/T - [ C ]"})
    assert "A" not in client.get("/v2/entities/E").json()


def test_batch_append_strict_full_fail_lists_every_entity(client):
    setup(client, E, {"id": "E2", "type": "T", "A": {"value": 1}, "B": {"value": 2}})
    response = batch(client, "appendStrict", {"id": "E", "type": "T", "A": {"value": 1}, "B": {"value": 1}},
                     {"id": "E2", "type": "T", "A": {"value": 1}, "B": {"value": 1}})
    assert error_of(response) == (422, {"error": "Unprocessable", "description":
                                        "one or more of the attributes in the request already exist: "
                                        "E/T - [ A, B ], E2/T - [ A, B ]"})


def test_batch_append_strict_partial_lists_the_failing_entity(client):
    setup(client, {"id": "E2", "type": "T", "A": {"value": 1}, "B": {"value": 2}})
    response = batch(client, "appendStrict", {"id": "E1", "type": "T", "A": {"value": 1}},
                     {"id": "E2", "type": "T", "A": {"value": 1}, "B": {"value": 1}})
    assert error_of(response) == (422, {"error": "PartialUpdate", "description":
                                        "one or more of the attributes in the request already exist: E2/T - [ A, B ]"})
    assert client.get("/v2/entities/E1").status_code == 200
