"""A too wide query (ETSI GS CIM 009 v1.9.1 clauses 5.7.2.4, 5.7.4.4, 5.6.21.4): Query Entities, its POST
binding, the temporal query and Purge Entities need a type selector, attrs, q, a geoquery or local
scope (`local=true`); ids, an idPattern or a scopeQ alone are 400 BadRequestData (5.7.2.3: "it is not
possible to retrieve a set of entities by only specifying desired Entity identifiers")."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, module_settings

from toshi.app import create_app

ENTITIES = "/ngsi-ld/v1/entities"
QUERY = "/ngsi-ld/v1/entityOperations/query"
TEMPORAL = "/ngsi-ld/v1/temporal/entities"
TEMPORAL_QUERY = "/ngsi-ld/v1/temporal/entityOperations/query"
SHOP = "urn:ngsi-ld:Shop:1"
WINDOW = {"timerel": "after", "timeAt": "2000-01-01T00:00:00Z"}


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "toowide")
    with TestClient(create_app(settings)) as test_client:
        entity = {"id": SHOP, "type": "Shop", "rank": {"type": "Property", "value": 1}, "scope": "/Toyono"}
        assert test_client.post(ENTITIES, json=entity).status_code == 201
        yield test_client


def bad_request_data(response) -> bool:
    return response.status_code == 400 and response.json()["type"].endswith("/BadRequestData")


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def test_a_query_without_any_selection_is_too_wide(client):
    assert bad_request_data(client.get(ENTITIES))


@pytest.mark.parametrize("selection", [{"id": SHOP}, {"idPattern": "Shop"}, {"scopeQ": "/Toyono"}])
def test_ids_an_id_pattern_or_a_scope_query_alone_are_too_wide(client, selection):
    assert bad_request_data(client.get(ENTITIES, params=selection))


def test_attrs_naming_only_system_attributes_are_too_wide(client):
    assert bad_request_data(client.get(ENTITIES, params={"attrs": "createdAt,modifiedAt", "id": SHOP}))
    assert bad_request_data(client.post(QUERY, json={"type": "Query", "attrs": ["expiresAt"]}))


@pytest.mark.parametrize("selection", [{"type": "Shop"}, {"type": "*"}, {"attrs": "rank"}, {"q": "rank==1"},
                                       {"georel": "near;maxDistance==10", "geometry": "Point",
                                        "coordinates": "[0,0]", "id": SHOP}])
def test_a_type_attrs_q_or_a_geoquery_is_enough(client, selection):
    assert client.get(ENTITIES, params=selection).status_code == 200


def test_local_scope_lifts_the_rule(client):
    assert ids(client.get(ENTITIES, params={"id": SHOP, "local": "true"})) == [SHOP]


@pytest.mark.parametrize("body", [{"type": "Query"}, {"type": "Query", "entities": [{"id": SHOP}]},
                                  {"type": "Query", "scopeQ": "/Toyono"}])
def test_a_post_query_without_a_selection_is_too_wide(client, body):
    assert bad_request_data(client.post(QUERY, json=body))


@pytest.mark.parametrize("body", [{"type": "Query", "entities": [{"id": SHOP, "type": "Shop"}]},
                                  {"type": "Query", "entities": [{"type": "*"}]},
                                  {"type": "Query", "attrs": ["rank"]}, {"type": "Query", "q": "rank==1"}])
def test_a_post_query_with_a_type_attrs_or_q_is_answered(client, body):
    assert ids(client.post(QUERY, json=body)) == [SHOP]


def test_a_post_query_with_local_true_in_the_url_needs_no_selection(client):
    assert ids(client.post(QUERY, params={"local": "true"}, json={"type": "Query", "entities": [{"id": SHOP}]})) == [SHOP]


def test_a_temporal_query_by_ids_alone_is_too_wide(client):
    assert bad_request_data(client.get(TEMPORAL, params={"id": SHOP, **WINDOW}))
    body = {"type": "Query", "entities": [{"id": SHOP}], "temporalQ": WINDOW}
    assert bad_request_data(client.post(TEMPORAL_QUERY, json=body))


def test_a_purge_by_ids_alone_is_too_wide_and_purges_nothing(client):
    assert bad_request_data(client.delete(ENTITIES, params={"id": SHOP}))
    assert client.get(f"{ENTITIES}/{SHOP}").status_code == 200


def test_a_selector_of_every_type_cannot_be_combined_with_local_false(client):
    body = {"type": "Query", "entities": [{"type": "*"}]}
    assert bad_request_data(client.post(QUERY, params={"local": "false"}, json=body))
    assert bad_request_data(client.get(ENTITIES, params={"type": "*", "local": "false"}))
