"""The `ordering` member of a Query (ETSI GS CIM 009 v1.9.1 5.2.23; OrderingParams 5.2.43: `orderBy` an
array of 4.23 terms, `collation`, `coordinates`, `geometry`) orders POST /entityOperations/query as
`orderBy` / `collation` / `orderFrom` / `orderGeometry` order GET /entities; the URL's `orderBy` wins."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, module_settings

from toshi.app import create_app

ENTITIES = "/ngsi-ld/v1/entities"
QUERY = "/ngsi-ld/v1/entityOperations/query"
SHOPS = [f"urn:ngsi-ld:Shop:{n}" for n in range(3)]


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "ordermember")
    with TestClient(create_app(settings)) as test_client:
        for n, shop in enumerate(SHOPS):
            entity = {"id": shop, "type": "Shop", "rank": {"type": "Property", "value": n},
                      "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [135.0 + n, 34.0]}}}
            assert test_client.post(ENTITIES, json=entity).status_code == 201
        yield test_client


def ordered(client, ordering, **params):
    response = client.post(QUERY, params=params, json={"type": "Query", "entities": [{"type": "Shop"}],
                                                       "ordering": ordering})
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def test_order_by_an_attribute_descending(client):
    assert ordered(client, {"orderBy": ["rank;desc"]}) == SHOPS[::-1]


def test_order_by_distance_from_the_coordinates(client):
    assert ordered(client, {"orderBy": ["location;dist-asc"], "coordinates": [137.0, 34.0]}) == SHOPS[::-1]
    assert ordered(client, {"orderBy": ["location;dist-asc"], "coordinates": [135.0, 34.0],
                            "geometry": "Point", "collation": "und"}) == SHOPS


def test_the_url_order_by_wins_over_the_member(client):
    assert ordered(client, {"orderBy": ["rank;desc"]}, orderBy="rank") == SHOPS


@pytest.mark.parametrize("ordering", ["rank", {"orderBy": []}, {"orderBy": "rank"}, {"orderBy": ["rank;up"]},
                                      {"orderBy": ["location;dist-asc"]},
                                      {"orderBy": ["rank"], "coordinates": "[0,0]"}])
def test_a_malformed_ordering_is_bad_request_data(client, ordering):
    response = client.post(QUERY, json={"type": "Query", "entities": [{"type": "Shop"}], "ordering": ordering})
    assert response.status_code == 400 and response.json()["type"].endswith("/BadRequestData")


def test_an_entity_map_of_a_query_body_keeps_its_ordering(client):
    body = {"type": "Query", "entities": [{"type": "Shop"}], "ordering": {"orderBy": ["rank;desc"]}}
    response = client.post("/ngsi-ld/v1/entityMaps", json=body)
    assert response.status_code == 201, response.text
    assert list(response.json()["entityMap"]) == SHOPS[::-1]
