"""Query Entities (ETSI GS CIM 009 v1.8 clause 5.7.2 / 6.4.3.2; ordering v1.9 clause 4.23)."""

from __future__ import annotations

import pytest

ENTITIES = "/ngsi-ld/v1/entities"
TOWN = "https://example.org/town/"


def shelter(n: int, occupancy: float, name: str, lon: float = 135.0, **more) -> dict:
    return {"id": f"urn:ngsi-ld:Shelter:{n}", "type": "Shelter",
            TOWN + "occupancy": {"type": "Property", "value": occupancy},
            "name": {"type": "Property", "value": name},
            "address": {"type": "Property", "value": {"city": name}},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, 34.0]}}, **more}


@pytest.fixture
def town(client):
    for n, (occupancy, name, lon) in enumerate([(40, "Émile", 135.02), (60, "Zoe", 135.0), (55, "eva", 135.01)]):
        assert client.post(ENTITIES, json=shelter(n, occupancy, name, lon)).status_code == 201
    return client


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def test_q_with_an_absolute_iri(town):
    assert ids(town.get(ENTITIES, params={"q": TOWN + "occupancy>50"})) == ["urn:ngsi-ld:Shelter:1",
                                                                           "urn:ngsi-ld:Shelter:2"]


def test_attrs_and_pick_with_an_absolute_iri(town):
    body = town.get(ENTITIES, params={"type": "Shelter", "pick": f"id,{TOWN}occupancy"}).json()
    assert body[0] == {"id": "urn:ngsi-ld:Shelter:0", TOWN + "occupancy": {"type": "Property", "value": 40}}
    assert len(ids(town.get(ENTITIES, params={"attrs": TOWN + "occupancy"}))) == 3


def test_an_id_list(town):
    found = ids(town.get(ENTITIES, params={"id": "urn:ngsi-ld:Shelter:0,urn:ngsi-ld:Shelter:2", "local": "true"}))
    assert found == ["urn:ngsi-ld:Shelter:0", "urn:ngsi-ld:Shelter:2"]


def test_id_takes_precedence_over_id_pattern(town):
    found = ids(town.get(ENTITIES, params={"id": "urn:ngsi-ld:Shelter:0", "idPattern": ".*:2$", "local": "true"}))
    assert found == ["urn:ngsi-ld:Shelter:0"]


def test_type_wildcard_selects_every_type(town):
    town.post(ENTITIES, json={"id": "urn:ngsi-ld:Park:1", "type": "Park"})
    assert len(ids(town.get(ENTITIES, params={"type": "*"}))) == 4


def test_type_wildcard_with_local_false_is_bad_request(town):
    response = town.get(ENTITIES, params={"type": "*", "local": "false"})
    assert response.status_code == 400


def test_an_ordering_operator_never_matches_a_relationship(client):
    client.post(ENTITIES, json={"id": "urn:ngsi-ld:Car:1", "type": "Car",
                                "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:b"}})
    assert ids(client.get(ENTITIES, params={"q": "owner>urn:ngsi-ld:Person:a"})) == []
    assert ids(client.get(ENTITIES, params={"q": "owner==urn:ngsi-ld:Person:b"})) == ["urn:ngsi-ld:Car:1"]


@pytest.mark.parametrize("georel", ["near", "near;maxDistance==100;minDistance==10"])
def test_near_needs_exactly_one_distance(town, georel):
    response = town.get(ENTITIES, params={"georel": georel, "geometry": "Point", "coordinates": "[135,34]"})
    assert response.status_code == 400
    assert response.json()["type"].endswith("BadRequestData")


def test_order_by_an_attribute_ascending(town):
    found = ids(town.get(ENTITIES, params={"type": "Shelter", "orderBy": TOWN + "occupancy"}))
    assert found == ["urn:ngsi-ld:Shelter:0", "urn:ngsi-ld:Shelter:2", "urn:ngsi-ld:Shelter:1"]


def test_order_by_descending(town):
    found = ids(town.get(ENTITIES, params={"type": "Shelter", "orderBy": f"{TOWN}occupancy;desc"}))
    assert found == ["urn:ngsi-ld:Shelter:1", "urn:ngsi-ld:Shelter:2", "urn:ngsi-ld:Shelter:0"]


def test_order_by_a_value_path(town):
    found = ids(town.get(ENTITIES, params={"type": "Shelter", "orderBy": "address[city];desc"}))
    assert found == ["urn:ngsi-ld:Shelter:1", "urn:ngsi-ld:Shelter:2", "urn:ngsi-ld:Shelter:0"]


def test_root_collation_ranks_accents_with_their_base_letter(town):
    found = ids(town.get(ENTITIES, params={"type": "Shelter", "orderBy": "name"}))
    assert found == ["urn:ngsi-ld:Shelter:0", "urn:ngsi-ld:Shelter:2", "urn:ngsi-ld:Shelter:1"]  # Émile eva Zoe


def test_german_phonebook_collation_expands_umlauts(client):
    for n, name in enumerate(["Mutter", "Müller", "Mum"]):
        client.post(ENTITIES, json=shelter(n, 1, name))
    found = ids(client.get(ENTITIES, params={"type": "Shelter", "orderBy": "name", "collation": "de-u-co-phonebk"}))
    assert found == ["urn:ngsi-ld:Shelter:1", "urn:ngsi-ld:Shelter:2", "urn:ngsi-ld:Shelter:0"]  # Mueller Mum Mutter


def test_an_invalid_collation_is_bad_request(town):
    response = town.get(ENTITIES, params={"type": "Shelter", "orderBy": "name", "collation": "not a tag"})
    assert response.status_code == 400


def test_order_by_distance_from_order_from(town):
    found = ids(town.get(ENTITIES, params={"type": "Shelter", "orderBy": "location;dist-asc",
                                           "orderFrom": "[135,34]"}))
    assert found == ["urn:ngsi-ld:Shelter:1", "urn:ngsi-ld:Shelter:2", "urn:ngsi-ld:Shelter:0"]


def test_geo_distance_descending(town):
    found = ids(town.get(ENTITIES, params={"type": "Shelter", "orderBy": "geo:distance;desc",
                                           "orderFrom": "[135,34]"}))
    assert found == ["urn:ngsi-ld:Shelter:0", "urn:ngsi-ld:Shelter:2", "urn:ngsi-ld:Shelter:1"]


def test_order_by_distance_without_order_from_is_bad_request(town):
    assert town.get(ENTITIES, params={"type": "Shelter", "orderBy": "location;dist-asc"}).status_code == 400


def test_order_by_then_pages(town):
    found = ids(town.get(ENTITIES, params={"type": "Shelter", "orderBy": "name", "limit": 1, "offset": 1}))
    assert found == ["urn:ngsi-ld:Shelter:2"]


def test_missing_attributes_sort_last_in_both_directions(town):
    town.post(ENTITIES, json={"id": "urn:ngsi-ld:Shelter:9", "type": "Shelter"})
    for direction in ("asc", "desc"):
        found = ids(town.get(ENTITIES, params={"type": "Shelter", "orderBy": f"name;{direction}"}))
        assert found[-1] == "urn:ngsi-ld:Shelter:9"


def test_pagination_links_carry_the_request_then_limit_and_offset(town):
    response = town.get(ENTITIES, params={"type": "Shelter", "limit": 1, "offset": 1})
    links = [link.strip() for link in response.headers["link"].split(", ") if 'rel="p' in link or 'rel="n' in link]
    assert links == ['</ngsi-ld/v1/entities?type=Shelter&limit=1&offset=0>;rel="prev";type="application/json"',
                     '</ngsi-ld/v1/entities?type=Shelter&limit=1&offset=2>;rel="next";type="application/json"']


def test_pagination_links_of_an_ordered_query_keep_the_page_asked_for(town):
    response = town.get(ENTITIES, params={"type": "Shelter", "orderBy": "name", "limit": 1, "offset": 1})
    links = [link.strip() for link in response.headers["link"].split(", ") if 'rel="p' in link or 'rel="n' in link]
    assert links == ['</ngsi-ld/v1/entities?type=Shelter&orderBy=name&limit=1&offset=0>;rel="prev";type="application/json"',
                     '</ngsi-ld/v1/entities?type=Shelter&orderBy=name&limit=1&offset=2>;rel="next";type="application/json"']


def test_no_next_link_on_the_last_full_page(town):
    response = town.get(ENTITIES, params={"type": "Shelter", "limit": 3})
    assert 'rel="next"' not in response.headers["link"] and 'rel="prev"' not in response.headers["link"]


def test_expand_values_expands_the_compared_strings(client):
    client.post(ENTITIES, json={"id": "urn:ngsi-ld:Shop:1", "type": "Shop",
                                "category": {"type": "VocabProperty", "vocab": "commercial"}})
    assert ids(client.get(ENTITIES, params={"q": 'category=="commercial"'})) == []
    found = ids(client.get(ENTITIES, params={"q": 'category=="commercial"', "expandValues": "category"}))
    assert found == ["urn:ngsi-ld:Shop:1"]


def test_local_that_is_no_boolean_is_bad_request_data(client):
    """local is a boolean URL parameter of Query Entities: a value other than true or false is 400."""
    response = client.get("/ngsi-ld/v1/entities", params={"type": "Shelter", "local": "maybe"})
    assert response.status_code == 400 and response.json()["type"].endswith("BadRequestData")
