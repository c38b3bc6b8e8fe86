"""Orion's identifier syntax rules (the manual's "Identifiers syntax restrictions": plain ASCII without
control characters, whitespace, `&?/#` and the general `<>"'=;()`; 1 to 256 characters) for entity id
and type, attribute name and type, metadata name and type, with Orion's texts, in every payload that
carries them (POST /v2/entities, POST .../attrs, op/update, op/query) and in the URL path."""

from __future__ import annotations

import pytest

LONG = "x" * 257
# what is wrong -> the value, and the description's form (`{what}`: "entity id", "attribute name", ...)
CASES = {
    "general forbidden character": ("a<b", "Invalid characters in {what}"),
    "ampersand": ("a&b", "Invalid characters in {what}"),
    "hash": ("a#b", "Invalid characters in {what}"),
    "space": ("a b", "Invalid characters in {what}"),
    "tab": ("a\tb", "Invalid characters in {what}"),
    "not ASCII": ("aé", "Invalid characters in {what}"),
    "too long": (LONG, "{what} length: 257, max length supported: 256"),
    "empty": ("", "{what} length: 0, min length supported: 1"),
}


def entity(field: str, value: str) -> dict:
    attribute = {"value": 1, "type": "Number", "metadata": {"m": {"value": 1, "type": "Number"}}}
    if field == "attribute type":
        attribute["type"] = value
    if field == "metadata name":
        attribute["metadata"] = {value: {"value": 1}}
    if field == "metadata type":
        attribute["metadata"]["m"]["type"] = value
    body = {"id": value if field == "entity id" else "N", "type": value if field == "entity type" else "T"}
    body[value if field == "attribute name" else "a"] = attribute
    return body


def writes(client, body: dict, attributes_only: bool) -> list:
    """Every write that carries the payload's identifiers."""
    answers = [client.post("/v2/entities", json=body),
               client.post("/v2/op/update", json={"actionType": "append", "entities": [body]})]
    if attributes_only:
        attrs = {k: v for k, v in body.items() if k not in ("id", "type")}
        answers += [client.post("/v2/entities/E/attrs", json=attrs), client.patch("/v2/entities/E/attrs", json=attrs),
                    client.put("/v2/entities/E/attrs", json=attrs)]
    return answers


@pytest.mark.parametrize("field", ["entity id", "entity type", "attribute name", "attribute type", "metadata name",
                                   "metadata type"])
def test_every_payload_applies_the_rules_with_orions_texts(client, field):
    client.post("/v2/entities", json={"id": "E", "type": "T", "a": {"value": 0}})
    for case, (value, text) in CASES.items():
        expected = (400, {"error": "BadRequest", "description": text.format(what=field)})
        for response in writes(client, entity(field, value), field not in ("entity id", "entity type")):
            assert (response.status_code, response.json()) == expected, (case, response.request.url)
    assert client.get("/v2/entities").json() == [{"id": "E", "type": "T", "a": {
        "type": "Number", "value": 0, "metadata": {}}}]  # nothing written


@pytest.mark.parametrize("field", ["id", "type"])
def test_op_query_entities_apply_the_rules(client, field):
    for case, (value, text) in CASES.items():
        if field == "type" and case == "empty":
            text = "entity type length: 0, min length supported: 1"
        selector = {"id": value} if field == "id" else {"id": "E", "type": value}
        response = client.post("/v2/op/query", json={"entities": [selector]})
        assert (response.status_code, response.json()) == (400, {
            "error": "BadRequest", "description": text.format(what=f"entity {field}")}), case


def test_op_query_measures_patterns_as_ids_and_types(client):
    # Orion keeps a pattern in the entity's id / type field, whose lengths Entity::check measures
    for selector, description in (({"idPattern": LONG}, "entity id length: 257, max length supported: 256"),
                                  ({"idPattern": ""}, "entity id length: 0, min length supported: 1"),
                                  ({"id": "E", "typePattern": LONG}, "entity type length: 257, max length supported: 256")):
        response = client.post("/v2/op/query", json={"entities": [selector]})
        assert (response.status_code, response.json()) == (400, {"error": "BadRequest", "description": description})


def test_an_entity_ids_characters_are_checked_before_its_length(client):
    # parseEntity checks the characters as it reads the member, Entity::check the length afterwards
    response = client.post("/v2/entities", json={"id": "&" * 257})
    assert response.json()["description"] == "Invalid characters in entity id"


def test_an_attribute_names_length_is_checked_before_its_characters(client):
    # ContextAttribute::check: the name's lengths, then its characters, then the type's
    response = client.post("/v2/entities", json={"id": "N", "&" * 257: {"value": 1, "type": "a b"}})
    assert response.json()["description"] == "attribute name length: 257, max length supported: 256"
    response = client.post("/v2/entities", json={"id": "N", "a b": {"value": 1, "type": LONG}})
    assert response.json()["description"] == "Invalid characters in attribute name"


@pytest.mark.parametrize("name", ["a%20b", "a%09b", "a%26b", "a%23b", "a%3Fb", "a%C3%A9"])
def test_the_url_path_applies_the_characters_rule(client, name):
    client.post("/v2/entities", json={"id": "E", "type": "T", "a": {"value": 0}})
    refused = (400, {"error": "BadRequest", "description": "invalid character in URI"})
    for response in (client.get(f"/v2/entities/{name}"), client.delete(f"/v2/entities/{name}"),
                     client.patch(f"/v2/entities/{name}/attrs", json={"a": {"value": 1}}),
                     client.get(f"/v2/entities/E/attrs/{name}"),
                     client.put(f"/v2/entities/E/attrs/{name}", json={"value": 1}),
                     client.put(f"/v2/entities/E/attrs/{name}/value", content=b"1",
                                headers={"Content-Type": "text/plain"}),
                     client.delete(f"/v2/entities/E/attrs/{name}")):
        assert (response.status_code, response.json()) == refused, response.request.url


def test_lists_of_attribute_names_are_not_checked(client):
    # Orion reads them with parseStringVector, which refuses only non-strings and empty strings
    names = ["a b", "a&b", LONG]
    registration = {"dataProvided": {"entities": [{"id": "E"}], "attrs": names},
                    "provider": {"http": {"url": "http://localhost:1/provider"}}}
    created = client.post("/v2/registrations", json=registration)
    assert created.status_code == 201
    assert client.get(created.headers["Location"]).json()["dataProvided"]["attrs"] == names
    assert client.post("/v2/op/query", json={"attrs": names}).status_code == 200
