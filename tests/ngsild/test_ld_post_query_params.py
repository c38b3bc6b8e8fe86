"""URL parameters of Query Entities via POST (ETSI GS CIM 009 v1.9.1 clause 6.23.3.1, which "mirrors" the
GET binding of 6.4.3.2): paging, counting, the representation, `local`, and `expandValues` (also a
member of the Query, clause 5.2.23)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, module_settings

from toshi.app import create_app

ENTITIES = "/ngsi-ld/v1/entities"
QUERY = "/ngsi-ld/v1/entityOperations/query"
SHOPS = [f"urn:ngsi-ld:Shop:{n}" for n in range(3)]
BY_CATEGORY = {"type": "Query", "q": 'category=="commercial"'}


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "postparams")
    with TestClient(create_app(settings)) as test_client:
        for n, shop in enumerate(SHOPS):
            category = {"type": "VocabProperty", "vocab": "commercial" if n == 0 else "residential"}
            entity = {"id": shop, "type": "Shop", "category": category,
                      "rank": {"type": "Property", "value": n}}
            assert test_client.post(ENTITIES, json=entity).status_code == 201
        yield test_client


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def shops(client, **params):
    return client.post(QUERY, params=params, json={"type": "Query", "entities": [{"type": "Shop"}]})


def test_limit_and_offset_in_the_url_page_the_answer(client):
    assert ids(shops(client, limit=1, offset=1)) == SHOPS[1:2]


def test_count_in_the_url_gives_the_results_count(client):
    response = shops(client, count="true", limit=1)
    assert response.headers["NGSILD-Results-Count"] == "3"


def test_options_key_values_in_the_url_renders_key_values(client):
    response = shops(client, options="keyValues", limit=1)
    assert response.json()[0]["rank"] == 0


def test_format_in_the_url_renders_that_form(client):
    response = shops(client, format="concise", limit=1)
    assert response.json()[0]["category"] == {"vocab": "commercial"}


def test_local_true_in_the_url_is_taken(client):
    assert ids(shops(client, local="true")) == SHOPS


def test_local_that_is_no_boolean_is_bad_request_data(client):
    response = shops(client, local="maybe")
    assert response.status_code == 400
    assert response.json()["type"].endswith("BadRequestData")


def test_expand_values_in_the_url_expands_the_compared_strings(client):
    assert ids(client.post(QUERY, json=BY_CATEGORY)) == []
    assert ids(client.post(QUERY, params={"expandValues": "category"}, json=BY_CATEGORY)) == SHOPS[:1]


def test_expand_values_as_a_member_of_the_query(client):
    assert ids(client.post(QUERY, json={**BY_CATEGORY, "expandValues": "category"})) == SHOPS[:1]


def test_expand_values_that_is_no_list_of_names_is_bad_request_data(client):
    response = client.post(QUERY, json={**BY_CATEGORY, "expandValues": 5})
    assert response.status_code == 400
    assert response.json()["type"].endswith("BadRequestData")
