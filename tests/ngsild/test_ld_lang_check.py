"""`lang` (ETSI GS CIM 009 v1.9.1 clause 4.15: `lang = langtag`, RFC 5646 tags with RFC 3282 lists and
weights) is checked on every request that takes it: a value that is no such list is 400 BadRequestData
whether or not the answer holds a LanguageProperty (4.15 names no error of its own; BadRequestData is
the house's answer for an invalid parameter)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, module_settings

from toshi.app import create_app

LD = "/ngsi-ld/v1"
ROOM_ID = "urn:ngsi-ld:Room:1"
ROOM = {"id": ROOM_ID, "type": "Room", "temperature": {"type": "Property", "value": 21}}
INVALID = "12!"
VALID = "fr-CH,fr;q=0.9,*;q=0.5"


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "langcheck")
    with TestClient(create_app(settings)) as test_client:
        assert test_client.post(f"{LD}/entities", json=ROOM).status_code == 201
        yield test_client


def bad_request_data(response) -> bool:
    return response.status_code == 400 and response.json()["type"].endswith("BadRequestData")


def test_retrieve_of_an_entity_without_language_property(client):
    assert bad_request_data(client.get(f"{LD}/entities/{ROOM_ID}", params={"lang": INVALID}))


def test_retrieve_of_an_entity_that_does_not_exist(client):
    assert bad_request_data(client.get(f"{LD}/entities/urn:ngsi-ld:Room:none", params={"lang": INVALID}))


def test_query_matching_nothing(client):
    assert bad_request_data(client.get(f"{LD}/entities", params={"type": "Nothing", "lang": INVALID}))


def test_query_of_ids_only(client):
    response = client.get(f"{LD}/entities", params={"type": "Room", "options": "idsOnly", "lang": INVALID})
    assert bad_request_data(response)


def test_post_query_with_lang_in_the_url(client):
    response = client.post(f"{LD}/entityOperations/query", params={"lang": INVALID},
                           json={"type": "Query", "entities": [{"type": "Nothing"}]})
    assert bad_request_data(response)


def test_post_query_with_lang_in_the_body(client):
    response = client.post(f"{LD}/entityOperations/query",
                           json={"type": "Query", "entities": [{"type": "Nothing"}], "lang": INVALID})
    assert bad_request_data(response)


def test_temporal_retrieve(client):
    assert bad_request_data(client.get(f"{LD}/temporal/entities/{ROOM_ID}", params={"lang": INVALID}))


def test_a_valid_range_list_on_an_entity_without_language_property_is_taken(client):
    response = client.get(f"{LD}/entities/{ROOM_ID}", params={"lang": VALID})
    assert response.status_code == 200
    assert response.json()["temperature"]["value"] == 21
