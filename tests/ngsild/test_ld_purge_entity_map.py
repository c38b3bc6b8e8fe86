"""Purge Entities (DELETE /entities, v1.9 5.6.21) with an NGSILD-EntityMap header: only the live map's
entities are purged (the query's filters still apply to them); a map unknown or expired purges nothing."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, error_type, module_settings

from toshi.app import create_app

LD = "/ngsi-ld/v1"
ENTITIES = f"{LD}/entities"
HEADER = "NGSILD-EntityMap"


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "purge-entity-map")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def bins(client, kind: str, fills: list[int]) -> list[str]:
    """Entities of type `kind` with the given `fill` values (made afresh)."""
    made = []
    for n, fill in enumerate(fills):
        entity_id = f"urn:ngsi-ld:{kind}:{n}"
        client.delete(f"{ENTITIES}/{entity_id}")
        body = {"id": entity_id, "type": kind, "fill": {"type": "Property", "value": fill}}
        assert client.post(ENTITIES, json=body).status_code == 201
        made.append(entity_id)
    return made


def left(client, kind: str) -> list[str]:
    return [e["id"] for e in client.get(ENTITIES, params={"type": kind}).json()]


def mapped(client, kind: str, **params) -> str:
    made = client.get(f"{LD}/entityMaps", params={"type": kind, **params})
    assert made.status_code == 201, made.text
    return made.headers[HEADER]


def test_a_purge_with_a_live_map_purges_only_its_entities(client):
    ids = bins(client, "BinA", [10, 80, 90])
    location = mapped(client, "BinA", q="fill>50")
    response = client.delete(ENTITIES, params={"type": "BinA"}, headers={HEADER: location})
    assert response.status_code == 204 and left(client, "BinA") == ids[:1]


def test_a_purge_with_a_live_map_answers_its_location(client):
    bins(client, "BinB", [10])
    location = mapped(client, "BinB")
    response = client.delete(ENTITIES, params={"type": "BinB"}, headers={HEADER: location})
    assert response.headers[HEADER] == location


def test_the_purges_filters_still_apply_to_the_mapped_entities(client):
    ids = bins(client, "BinC", [10, 80, 90])
    location = mapped(client, "BinC")
    assert client.delete(ENTITIES, params={"type": "BinC", "q": "fill==80"}, headers={HEADER: location}).status_code == 204
    assert left(client, "BinC") == [ids[0], ids[2]]


def test_an_entity_created_after_the_map_is_not_purged(client):
    ids = bins(client, "BinD", [10])
    location = mapped(client, "BinD")
    later = {"id": "urn:ngsi-ld:BinD:later", "type": "BinD", "fill": {"type": "Property", "value": 1}}
    assert client.post(ENTITIES, json=later).status_code == 201
    client.delete(ENTITIES, params={"type": "BinD"}, headers={HEADER: location})
    assert left(client, "BinD") == [later["id"]] and ids[0] not in left(client, "BinD")


def test_a_purge_with_an_empty_map_purges_nothing(client):
    ids = bins(client, "BinE", [10, 20])
    location = mapped(client, "BinE", q="fill>100")
    assert client.delete(ENTITIES, params={"type": "BinE"}, headers={HEADER: location}).status_code == 204
    assert left(client, "BinE") == ids


def test_a_purge_with_an_unknown_map_is_not_found_and_purges_nothing(client):
    ids = bins(client, "BinF", [10])
    unknown = f"{LD}/entityMaps/urn:ngsi-ld:EntityMap:unknown"
    response = client.delete(ENTITIES, params={"type": "BinF"}, headers={HEADER: unknown})
    assert response.status_code == 404 and error_type(response) == "ResourceNotFound"
    assert left(client, "BinF") == ids
