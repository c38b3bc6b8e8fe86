"""Values in q (ETSI GS CIM 009 v1.8 / v1.9 clause 4.9): which may stand unquoted, and how they compare;
DateTimes with a UTC offset compare as instants (observedAt and DateTime values)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, error_type, module_settings

from toshi.app import create_app

ENTITIES = "/ngsi-ld/v1/entities"
SHOP, PARK = "urn:ngsi-ld:Place:shop", "urn:ngsi-ld:Place:park"


@pytest.fixture(scope="module", params=BACKENDS)
def town(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "qv")
    with TestClient(create_app(settings)) as client:
        shop = {"id": SHOP, "type": "Place", "brand": {"type": "Property", "value": "Mercedes"},
                "category": {"type": "VocabProperty", "vocab": "commercial"},
                "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:ana"},
                "temperature": {"type": "Property", "value": 21, "observedAt": "2024-05-01T12:00:00+03:00"},
                "openedAt": {"type": "Property", "value": "2024-05-01T08:00:00+02:00"}}
        park = {"id": PARK, "type": "Place", "brand": {"type": "Property", "value": "Audi"},
                "temperature": {"type": "Property", "value": 19, "observedAt": "2024-05-01T10:00:00Z"},
                "openedAt": {"type": "Property", "value": "2024-05-01T07:00:00Z"}}
        for entity in (shop, park):
            response = client.post(ENTITIES, json=entity)
            assert response.status_code == 201, response.text
        yield client


def found(client, q: str, **more) -> list[str]:
    response = client.get(ENTITIES, params={"type": "Place", "q": q, **more})
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def test_an_unquoted_uri_matches_a_relationship_object(town):
    assert found(town, "owner==urn:ngsi-ld:Person:ana") == [SHOP]


def test_an_unquoted_word_after_equal_compares_as_a_string(town):
    assert found(town, "brand==Mercedes") == [SHOP]


def test_an_unquoted_word_after_unequal(town):
    assert found(town, "brand!=Mercedes") == [PARK]


def test_a_list_of_unquoted_words(town):
    assert found(town, "brand==Audi,Mercedes") == [SHOP, PARK]


def test_an_unquoted_term_does_not_meet_an_expanded_vocab_value(town):
    assert found(town, "category==commercial") == []


def test_an_unquoted_term_meets_it_with_expand_values(town):
    assert found(town, "category==commercial", expandValues="category") == [SHOP]


def test_an_unquoted_word_after_an_ordering_operator_is_bad_request(town):
    response = town.get(ENTITIES, params={"type": "Place", "q": "brand>Mercedes"})
    assert response.status_code == 400 and error_type(response) == "BadRequestData"


def test_observed_at_with_an_offset_compares_as_an_instant(town):
    # the shop's 12:00+03:00 is 09:00Z, before the park's 10:00Z
    assert found(town, "temperature.observedAt<2024-05-01T09:30:00Z") == [SHOP]


def test_a_query_instant_with_an_offset(town):
    # 12:30+03:00 is 09:30Z: after the shop's 09:00Z, before the park's 10:00Z
    assert found(town, "temperature.observedAt>2024-05-01T12:30:00+03:00") == [PARK]


def test_the_same_instant_in_another_offset_is_equal(town):
    assert found(town, "temperature.observedAt==2024-05-01T09:00:00Z") == [SHOP]


def test_a_datetime_value_with_an_offset_compares_as_an_instant(town):
    # the shop opened at 08:00+02:00 = 06:00Z, the park at 07:00Z
    assert found(town, "openedAt<2024-05-01T06:30:00Z") == [SHOP]


def test_an_offset_whose_plus_was_decoded_as_a_blank(town):
    assert found(town, "temperature.observedAt>2024-05-01T12:30:00 03:00") == [PARK]
