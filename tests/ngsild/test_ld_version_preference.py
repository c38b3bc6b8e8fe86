"""The version preference `Prefer: ngsi-ld=<version>` (ETSI GS CIM 009 v1.8 clause 4.3.6.8, 6.3.6): the
answer names the version it conforms to in Preference-Applied; entities holding attribute types newer
than the preferred version come back as the Property / Relationship those types specialise, with 203."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, module_settings

from toshi.app import create_app

ENTITIES = "/ngsi-ld/v1/entities"
QUERY = "/ngsi-ld/v1/entityOperations/query"
NEW = "urn:ngsi-ld:Kiosk:new"
PLAIN = "urn:ngsi-ld:Kiosk:plain"


@pytest.fixture(scope="module", params=BACKENDS[:1])
def town(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "prefer")
    with TestClient(create_app(settings)) as client:
        kiosk = {"id": NEW, "type": "Kiosk",
                 "name": {"type": "LanguageProperty", "languageMap": {"en": "Kiosk", "ja": "売店"}},
                 "menu": {"type": "JsonProperty", "json": {"tea": 2}},
                 "kind": {"type": "VocabProperty", "vocab": "shop"},
                 "prices": {"type": "ListProperty", "valueList": [1, 2]},
                 "staff": {"type": "ListRelationship", "objectList": [{"object": "urn:ngsi-ld:Person:1"}]},
                 "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:2", "objectType": "Person"}}
        assert client.post(ENTITIES, json=kiosk).status_code == 201
        plain = {"id": PLAIN, "type": "Kiosk", "seats": {"type": "Property", "value": 3}}
        assert client.post(ENTITIES, json=plain).status_code == 201
        yield client


def retrieve(town, entity_id, prefer, **params):
    return town.get(f"{ENTITIES}/{entity_id}", params=params, headers={"Prefer": prefer})


def test_an_older_version_gets_new_types_as_property_with_203(town):
    response = retrieve(town, NEW, "ngsi-ld=1.6")
    assert response.status_code == 203
    body = response.json()
    assert body["menu"] == {"type": "Property", "value": {"tea": 2}}
    assert body["kind"] == {"type": "Property", "value": "shop"}
    assert body["prices"] == {"type": "Property", "value": [1, 2]}


def test_a_list_relationship_falls_back_to_a_relationship(town):
    body = retrieve(town, NEW, "ngsi-ld=1.6").json()
    assert body["staff"] == {"type": "Relationship", "object": ["urn:ngsi-ld:Person:1"]}


def test_object_type_is_left_out_before_1_8(town):
    assert retrieve(town, NEW, "ngsi-ld=1.6").json()["owner"] == {
        "type": "Relationship", "object": "urn:ngsi-ld:Person:2"}


def test_a_language_property_stays_for_1_4_and_later(town):
    body = retrieve(town, NEW, "ngsi-ld=1.4").json()
    assert body["name"] == {"type": "LanguageProperty", "languageMap": {"en": "Kiosk", "ja": "売店"}}


def test_a_language_property_falls_back_before_1_4(town):
    body = retrieve(town, NEW, "ngsi-ld=1.3").json()
    assert body["name"] == {"type": "Property", "value": {"en": "Kiosk", "ja": "売店"}}


def test_preference_applied_names_the_preferred_older_version(town):
    assert retrieve(town, NEW, "ngsi-ld=1.6").headers["Preference-Applied"] == "ngsi-ld=1.6"


def test_a_newer_version_is_answered_as_1_8_unamended(town):
    response = retrieve(town, NEW, "ngsi-ld=1.9")
    assert response.status_code == 200
    assert response.headers["Preference-Applied"] == "ngsi-ld=1.8"
    assert response.json()["menu"] == {"type": "JsonProperty", "json": {"tea": 2}}


def test_nothing_to_amend_is_200_with_preference_applied(town):
    response = retrieve(town, PLAIN, "ngsi-ld=1.3")
    assert response.status_code == 200
    assert response.headers["Preference-Applied"] == "ngsi-ld=1.3"


def test_no_version_preference_has_no_preference_applied(town):
    response = retrieve(town, NEW, "body=json")
    assert response.status_code == 200 and "Preference-Applied" not in response.headers


def test_an_unreadable_version_is_ignored(town):
    response = retrieve(town, NEW, "ngsi-ld=latest")
    assert response.status_code == 200 and "Preference-Applied" not in response.headers


def test_key_values_unwraps_new_types(town):
    body = retrieve(town, NEW, "ngsi-ld=1.6", options="keyValues").json()
    assert body["menu"] == {"tea": 2} and body["kind"] == "shop"


def test_query_amends_every_entity(town):
    response = town.get(ENTITIES, params={"type": "Kiosk"}, headers={"Prefer": "ngsi-ld=1.6"})
    assert response.status_code == 203
    menus = [e.get("menu") for e in response.json()]
    assert {"type": "Property", "value": {"tea": 2}} in menus


def test_post_query_amends_too(town):
    response = town.post(QUERY, json={"type": "Query", "entities": [{"type": "Kiosk"}]},
                         headers={"Prefer": "ngsi-ld=1.6"})
    assert response.status_code == 203 and response.headers["Preference-Applied"] == "ngsi-ld=1.6"


def test_the_version_is_found_among_other_preferences(town):
    response = retrieve(town, NEW, "return=minimal, NGSI-LD=1.6;strict")
    assert response.status_code == 203 and response.headers["Preference-Applied"] == "ngsi-ld=1.6"
