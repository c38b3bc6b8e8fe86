"""POST /v2/op/update, every actionType with its options (Orion manual, "Update operation": append =
POST /v2/entities or POST .../attrs, appendStrict = ... ?options=append, update = PATCH .../attrs,
replace = PUT .../attrs, delete = DELETE of the attributes or the entity; the payload as Orion's parser
checks it)."""

from __future__ import annotations

ROOM = {"id": "R", "type": "T", "a": {"type": "Number", "value": 1,
                                      "metadata": {"unit": {"type": "Text", "value": "C"}}},
        "b": {"type": "Number", "value": 2}}


def op(client, action: str, entities: list, options: str | None = None):
    params = {"options": options} if options else None
    return client.post("/v2/op/update", json={"actionType": action, "entities": entities}, params=params)


def get(client, entity_id: str = "R", options: str | None = None) -> dict:
    return client.get(f"/v2/entities/{entity_id}", params={"options": options} if options else None).json()


def error(response) -> tuple[int, dict]:
    return response.status_code, response.json()


def seed(client) -> None:
    assert client.post("/v2/entities", json=ROOM).status_code == 201


# -- append ---------------------------------------------------------------------------------------

def test_append_creates_a_missing_entity(client):
    assert op(client, "append", [{"id": "N", "type": "T", "x": {"value": 3}}]).status_code == 204
    assert get(client, "N", "keyValues") == {"id": "N", "type": "T", "x": 3}


def test_append_updates_and_adds_attributes(client):
    seed(client)
    assert op(client, "append", [{"id": "R", "type": "T", "a": {"value": 5}, "c": {"value": 6}}]).status_code == 204
    assert get(client, "R", "keyValues") == {"id": "R", "type": "T", "a": 5, "b": 2, "c": 6}


def test_append_without_type_appends_to_the_entity_of_that_id(client):
    seed(client)
    assert op(client, "append", [{"id": "R", "c": {"value": 6}}]).status_code == 204
    assert get(client, "R", "keyValues") == {"id": "R", "type": "T", "a": 1, "b": 2, "c": 6}


def test_append_keeps_metadata_the_request_does_not_mention(client):
    seed(client)
    op(client, "append", [{"id": "R", "type": "T", "a": {"type": "Number", "value": 5}}])
    assert get(client)["a"] == {"type": "Number", "value": 5, "metadata": {"unit": {"type": "Text", "value": "C"}}}


def test_append_with_override_metadata_replaces_them(client):
    seed(client)
    op(client, "append", [{"id": "R", "type": "T", "a": {"type": "Number", "value": 5}}], "overrideMetadata")
    assert get(client)["a"] == {"type": "Number", "value": 5, "metadata": {}}


def test_append_with_key_values(client):
    seed(client)
    assert op(client, "append", [{"id": "R", "type": "T", "b": {"x": 1}}], "keyValues").status_code == 204
    assert get(client)["b"] == {"type": "StructuredValue", "value": {"x": 1}, "metadata": {}}


# -- appendStrict ---------------------------------------------------------------------------------

def test_append_strict_adds_new_attributes(client):
    seed(client)
    assert op(client, "appendStrict", [{"id": "R", "type": "T", "c": {"value": 3}}]).status_code == 204
    assert get(client, "R", "keyValues")["c"] == 3


def test_append_strict_creates_a_missing_entity(client):
    assert op(client, "appendStrict", [{"id": "N", "x": {"value": 3}}]).status_code == 204
    assert get(client, "N", "keyValues") == {"id": "N", "type": "Thing", "x": 3}


def test_append_strict_all_existing_is_unprocessable(client):
    seed(client)
    assert error(op(client, "appendStrict", [{"id": "R", "type": "T", "a": {"value": 9}}])) == (422, {
        "error": "Unprocessable",
        "description": "one or more of the attributes in the request already exist: R/T - [ a ]"})
    assert get(client, "R", "keyValues")["a"] == 1


def test_append_strict_some_existing_is_partial(client):
    seed(client)
    response = op(client, "appendStrict", [{"id": "R", "a": {"value": 9}, "c": {"value": 3}}])
    assert error(response) == (422, {
        "error": "PartialUpdate",
        "description": "one or more of the attributes in the request already exist: R - [ a ]"})
    assert get(client, "R", "keyValues") == {"id": "R", "type": "T", "a": 1, "b": 2, "c": 3}


# -- update ---------------------------------------------------------------------------------------

def test_update_changes_existing_attributes(client):
    seed(client)
    assert op(client, "update", [{"id": "R", "type": "T", "b": {"value": 7}}]).status_code == 204
    assert get(client, "R", "keyValues") == {"id": "R", "type": "T", "a": 1, "b": 7}


def test_update_of_a_missing_attribute_is_unprocessable(client):
    seed(client)
    assert error(op(client, "update", [{"id": "R", "type": "T", "c": {"value": 7}}])) == (422, {
        "error": "Unprocessable", "description": "do not exist: R/T - [ c ]"})
    assert "c" not in get(client)


def test_update_of_missing_entities_is_not_found(client):
    response = op(client, "update", [{"id": "F", "type": "T", "x": {"value": 1}},
                                     {"id": "G", "type": "T", "x": {"value": 1}}])
    assert error(response) == (404, {
        "error": "NotFound", "description": "do not exist: F/T - [entity itself], G/T [entity itself]"})


def test_update_with_a_missing_entity_and_a_written_one_is_partial(client):
    seed(client)
    response = op(client, "update", [{"id": "R", "type": "T", "a": {"value": 4}, "d": {"value": 1}},
                                     {"id": "G", "type": "T", "x": {"value": 1}}])
    assert error(response) == (422, {
        "error": "PartialUpdate", "description": "do not exist: R/T - [ d ], G/T [entity itself]"})
    assert get(client, "R", "keyValues")["a"] == 4


def test_update_with_a_different_type_does_not_find_the_entity(client):
    seed(client)
    assert error(op(client, "update", [{"id": "R", "type": "Other", "a": {"value": 4}}])) == (404, {
        "error": "NotFound", "description": "do not exist: R/Other - [entity itself]"})


def test_update_with_override_metadata(client):
    seed(client)
    op(client, "update", [{"id": "R", "a": {"value": 4, "metadata": {"m": {"value": 1}}}}], "overrideMetadata")
    assert get(client)["a"]["metadata"] == {"m": {"type": "Number", "value": 1}}


def test_update_merges_metadata_by_default(client):
    seed(client)
    op(client, "update", [{"id": "R", "a": {"value": 4, "metadata": {"m": {"value": 1}}}}])
    assert get(client)["a"]["metadata"] == {"unit": {"type": "Text", "value": "C"},
                                             "m": {"type": "Number", "value": 1}}


# -- replace --------------------------------------------------------------------------------------

def test_replace_leaves_only_the_given_attributes(client):
    seed(client)
    assert op(client, "replace", [{"id": "R", "type": "T", "c": {"value": 3}}]).status_code == 204
    assert get(client, "R", "keyValues") == {"id": "R", "type": "T", "c": 3}


def test_replace_with_key_values(client):
    seed(client)
    assert op(client, "replace", [{"id": "R", "c": "x"}], "keyValues").status_code == 204
    assert get(client) == {"id": "R", "type": "T", "c": {"type": "Text", "value": "x", "metadata": {}}}


def test_replace_of_a_missing_entity_is_not_found(client):
    assert error(op(client, "replace", [{"id": "F", "type": "T", "c": {"value": 3}}])) == (404, {
        "error": "NotFound", "description": "do not exist: F/T - [entity itself]"})


def test_replace_with_one_missing_entity_is_partial(client):
    seed(client)
    response = op(client, "replace", [{"id": "R", "type": "T", "c": {"value": 3}},
                                      {"id": "G", "type": "T", "c": {"value": 3}}])
    assert error(response) == (422, {"error": "PartialUpdate", "description": "do not exist: G/T - [entity itself]"})


# -- delete ---------------------------------------------------------------------------------------

def test_delete_removes_the_listed_attributes(client):
    seed(client)
    assert op(client, "delete", [{"id": "R", "type": "T", "a": {}}]).status_code == 204
    assert get(client, "R", "keyValues") == {"id": "R", "type": "T", "b": 2}


def test_delete_without_attributes_removes_the_entity(client):
    seed(client)
    assert op(client, "delete", [{"id": "R", "type": "T"}]).status_code == 204
    assert client.get("/v2/entities/R").status_code == 404


def test_delete_of_missing_attributes_lists_them(client):
    seed(client)
    response = op(client, "delete", [{"id": "R", "a": {}, "z": {}}])
    assert error(response) == (422, {"error": "PartialUpdate", "description": "do not exist: R - [ z ]"})
    assert "a" not in get(client)


def test_delete_of_a_missing_entity_is_not_found(client):
    assert error(op(client, "delete", [{"id": "F", "type": "T"}])) == (404, {
        "error": "NotFound", "description": "do not exist: F/T - [entity itself]"})


# -- options and payload --------------------------------------------------------------------------

def test_options_orion_knows_but_the_operation_ignores_are_accepted(client):
    seed(client)
    assert op(client, "update", [{"id": "R", "a": {"value": 3}}], "upsert,skipForwarding,flowControl").status_code == 204
    assert get(client, "R", "keyValues")["a"] == 3


def test_unknown_option_is_refused(client):
    assert error(op(client, "append", [{"id": "R"}], "sideways")) == (400, {
        "error": "BadRequest", "description": "Invalid value for URI param /options/"})


def test_id_pattern_is_not_implemented(client):
    seed(client)
    assert error(op(client, "update", [{"idPattern": "R.*", "a": {"value": 3}}])) == (501, {
        "error": "NotImplemented", "description": "NotImplemented"})
    assert get(client, "R", "keyValues")["a"] == 1


def test_id_and_id_pattern_together_are_refused(client):
    assert error(op(client, "append", [{"id": "R", "idPattern": "R.*"}])) == (400, {
        "error": "BadRequest", "description": "both /id/ and /idPattern/ present"})


def test_entity_without_id_is_refused(client):
    assert error(op(client, "append", [{"type": "T"}])) == (400, {
        "error": "BadRequest", "description": "nor /id/ nor /idPattern/ present"})


def test_entity_that_is_not_an_object_is_refused(client):
    assert error(op(client, "append", ["R"])) == (400, {"error": "BadRequest",
                                                        "description": "entity is not a JSON object"})


def test_unknown_action_type_has_orions_text(client):
    assert error(op(client, "upsert", [{"id": "R"}])) == (400, {
        "error": "BadRequest",
        "description": "invalid update action type: right ones are: append, appendStric, delete, replace, update"})


def test_missing_action_type(client):
    response = client.post("/v2/op/update", json={"entities": [{"id": "R"}]})
    assert error(response) == (400, {"error": "BadRequest",
                                     "description": "Invalid JSON payload, mandatory field /actionType/ not found"})


def test_missing_entities(client):
    response = client.post("/v2/op/update", json={"actionType": "append"})
    assert error(response) == (400, {"error": "BadRequest",
                                     "description": "Invalid JSON payload, mandatory field /entities/ not found"})


def test_unknown_member_is_refused(client):
    response = client.post("/v2/op/update", json={"actionType": "append", "entities": [{"id": "R"}], "x": 1})
    assert error(response) == (400, {"error": "BadRequest", "description": "Unrecognized field in JSON payload: /x/"})


def test_entities_must_be_an_array(client):
    response = client.post("/v2/op/update", json={"actionType": "append", "entities": {"id": "R"}})
    assert error(response) == (400, {"error": "BadRequest", "description": "not a JSON array"})


def test_payload_that_is_not_an_object_is_a_parse_error(client):
    assert error(client.post("/v2/op/update", json=[])) == (400, {
        "error": "ParseError", "description": "Errors found in incoming JSON buffer"})


def test_empty_payload(client):
    assert error(client.post("/v2/op/update", json={})) == (400, {"error": "BadRequest", "description": "empty payload"})
