"""Temporal paths whose segments are IRIs holding a slash (ETSI GS CIM 009 v1.8 clause 6.18-6.22:
`{entityId}` and `{attrId}` are URIs, percent-encoded by the client): the encoded slash (%2F) stays
inside its segment, as on /entities (toshi.core.routing.SegmentRoute)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, module_settings

from toshi.app import create_app

TEMPORAL = "/ngsi-ld/v1/temporal/entities"
ENTITY = "urn:a:b/c"
ENCODED = f"{TEMPORAL}/urn:a:b%2Fc"
WEIGHT = "https://example.org/props/weight"
WEIGHT_ENCODED = "https%3A%2F%2Fexample.org%2Fprops%2Fweight"


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "temporal-iri-paths")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def temporal(client):
    """A temporal entity `urn:a:b/c` with two instances of an attribute named by an IRI."""
    client.delete(ENCODED)
    body = {"id": ENTITY, "type": "Thing", WEIGHT: [
        {"type": "Property", "value": 1, "observedAt": "2026-01-01T00:00:00Z"},
        {"type": "Property", "value": 2, "observedAt": "2026-01-01T01:00:00Z"}]}
    assert client.post(TEMPORAL, json=body).status_code == 201
    return client


def weights(client) -> list:
    response = client.get(ENCODED)
    assert response.status_code == 200, response.text
    return response.json().get(WEIGHT, [])


def test_a_temporal_entity_whose_id_has_a_slash_is_retrieved(temporal):
    body = temporal.get(ENCODED).json()
    assert body["id"] == ENTITY and [i["value"] for i in body[WEIGHT]] == [1, 2]


def test_attributes_are_appended_to_it(temporal):
    more = {WEIGHT: {"type": "Property", "value": 3, "observedAt": "2026-01-01T02:00:00Z"}}
    assert temporal.post(f"{ENCODED}/attrs", json=more).status_code == 204
    assert [i["value"] for i in weights(temporal)] == [1, 2, 3]


def test_an_attribute_named_by_an_encoded_iri_is_deleted(temporal):
    assert temporal.delete(f"{ENCODED}/attrs/{WEIGHT_ENCODED}").status_code == 204
    assert weights(temporal) == []


def test_an_instance_is_modified(temporal):
    instance = weights(temporal)[0]["instanceId"]
    patch = {WEIGHT: {"type": "Property", "value": 10, "observedAt": "2026-01-01T00:00:00Z"}}
    response = temporal.patch(f"{ENCODED}/attrs/{WEIGHT_ENCODED}/{instance}", json=patch)
    assert response.status_code == 204, response.text
    assert [i["value"] for i in weights(temporal)] == [10, 2]


def test_an_instance_is_deleted(temporal):
    instance = weights(temporal)[0]["instanceId"]
    assert temporal.delete(f"{ENCODED}/attrs/{WEIGHT_ENCODED}/{instance}").status_code == 204
    assert [i["value"] for i in weights(temporal)] == [2]


def test_the_temporal_entity_is_deleted(temporal):
    assert temporal.delete(ENCODED).status_code == 204
    assert temporal.get(ENCODED).status_code == 404
