"""The entity selectors of a Query (ETSI GS CIM 009 v1.8 clause 5.2.23, POST /entityOperations/query):
alternatives, an entity matching one of them is selected."""

from __future__ import annotations

import pytest

ENTITIES = "/ngsi-ld/v1/entities"
QUERY = "/ngsi-ld/v1/entityOperations/query"
CITY1, CITY2, COUNTRY = "urn:ngsi-ld:City:1", "urn:ngsi-ld:City:2", "urn:ngsi-ld:Country:1"


@pytest.fixture
def places(client):
    for entity_id, kind in ((CITY1, "City"), (CITY2, "City"), (COUNTRY, "Country")):
        assert client.post(ENTITIES, json={"id": entity_id, "type": kind}).status_code == 201
    return client


def ids(client, *selectors) -> list[str]:
    response = client.post(QUERY, json={"type": "Query", "entities": list(selectors)})
    assert response.status_code == 200, response.text
    return sorted(e["id"] for e in response.json())


def test_selectors_of_different_types_select_either(places):
    assert ids(places, {"type": "Country"}, {"type": "City"}) == [CITY1, CITY2, COUNTRY]


def test_an_id_selects_only_within_its_own_selector(places):
    assert ids(places, {"type": "Country"}, {"id": CITY2, "type": "City"}) == [CITY2, COUNTRY]


def test_an_id_pattern_selects_only_within_its_own_selector(places):
    assert ids(places, {"type": "Country"}, {"idPattern": ":1$", "type": "City"}) == [CITY1, COUNTRY]


def test_a_selector_without_type_beside_one_with_a_type(places):
    assert ids(places, {"type": "Country"}, {"id": CITY1}) == [CITY1, COUNTRY]


def test_the_type_wildcard_selects_every_type(places):
    assert ids(places, {"type": "*"}) == [CITY1, CITY2, COUNTRY]


def test_the_type_wildcard_beside_an_id_selector(places):
    assert ids(places, {"type": "*"}, {"id": CITY1, "type": "City"}) == [CITY1, CITY2, COUNTRY]


def test_an_alternative_is_counted_like_any_query(places):
    response = places.post(QUERY, params={"count": "true", "limit": 1},
                           json={"type": "Query", "entities": [{"type": "Country"}, {"id": CITY1, "type": "City"}]})
    assert response.headers["NGSILD-Results-Count"] == "2"
    assert len(response.json()) == 1
