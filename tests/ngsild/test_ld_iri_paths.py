"""Path segments that are IRIs (ETSI GS CIM 009 v1.8 clause 6: `{entityId}`, `{type}`, `{attrId}` are
URIs, percent-encoded by the client): an encoded slash stays inside its segment."""

from __future__ import annotations

import pytest

ENTITIES = "/ngsi-ld/v1/entities"
THING = "https://example.org/things/a"
ENCODED = f"{ENTITIES}/https%3A%2F%2Fexample.org%2Fthings%2Fa"
WEIGHT = "https://example.org/props/weight"


@pytest.fixture
def thing(client):
    entity = {"id": THING, "type": "Thing", WEIGHT: {"type": "Property", "value": 3}}
    assert client.post(ENTITIES, json=entity).status_code == 201
    return client


def test_an_entity_whose_id_has_slashes_is_retrieved(thing):
    body = thing.get(ENCODED).json()
    assert body == {"id": THING, "type": "Thing", WEIGHT: {"type": "Property", "value": 3}}


def test_an_attribute_named_by_an_encoded_iri_is_deleted(thing):
    assert thing.delete(f"{ENCODED}/attrs/https%3A%2F%2Fexample.org%2Fprops%2Fweight").status_code == 204
    assert thing.get(ENCODED).json() == {"id": THING, "type": "Thing"}


def test_an_unknown_id_with_slashes_is_not_found(thing):
    response = thing.get(f"{ENTITIES}/https%3A%2F%2Fexample.org%2Fthings%2Fb")
    assert response.status_code == 404
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"


def test_the_type_info_of_an_iri_type(thing):
    body = thing.get("/ngsi-ld/v1/types/https%3A%2F%2Furi.etsi.org%2Fngsi-ld%2Fdefault-context%2FThing").json()
    assert (body["typeName"], body["entityCount"]) == ("Thing", 1)


def test_the_attribute_info_of_an_iri_attribute(thing):
    body = thing.get("/ngsi-ld/v1/attributes/https%3A%2F%2Fexample.org%2Fprops%2Fweight").json()
    assert (body["id"], body["attributeCount"]) == (WEIGHT, 1)
