"""Purge Entities: DELETE /entities (ETSI GS CIM 009 v1.9 clauses 5.6.21, 6.4.3.3)."""

from __future__ import annotations

import pytest

ENTITIES = "/ngsi-ld/v1/entities"


@pytest.fixture
def town(client):
    for n, kind in enumerate(["Shelter", "Shelter", "Park"]):
        client.post(ENTITIES, json={"id": f"urn:ngsi-ld:{kind}:{n}", "type": kind, "scope": f"/Toyono/{n}",
                                    "occupancy": {"type": "Property", "value": 10 * n},
                                    "name": {"type": "Property", "value": f"place {n}"}})
    return client


def ids(client, **params) -> list[str]:
    return [e["id"] for e in client.get(ENTITIES, params={"type": "Shelter,Park", **params}).json()]


def test_purge_by_type(town):
    assert town.delete(ENTITIES, params={"type": "Shelter"}).status_code == 204
    assert ids(town) == ["urn:ngsi-ld:Park:2"]


def test_purge_by_q(town):
    assert town.delete(ENTITIES, params={"type": "Shelter", "q": "occupancy>5"}).status_code == 204
    assert ids(town) == ["urn:ngsi-ld:Shelter:0", "urn:ngsi-ld:Park:2"]


def test_purge_by_scope(town):
    assert town.delete(ENTITIES, params={"scopeQ": "/Toyono/0", "local": "true"}).status_code == 204
    assert ids(town) == ["urn:ngsi-ld:Shelter:1", "urn:ngsi-ld:Park:2"]


def test_purge_dropping_attributes_keeps_the_entities(town):
    assert town.delete(ENTITIES, params={"type": "Shelter", "drop": "occupancy"}).status_code == 204
    shelter = town.get(f"{ENTITIES}/urn:ngsi-ld:Shelter:1").json()
    assert "occupancy" not in shelter and shelter["name"]["value"] == "place 1"


def test_purge_keeping_attributes_removes_the_others(town):
    assert town.delete(ENTITIES, params={"type": "Park", "keep": "occupancy"}).status_code == 204
    park = town.get(f"{ENTITIES}/urn:ngsi-ld:Park:2").json()
    assert park["occupancy"]["value"] == 20 and "name" not in park


def test_drop_and_keep_together_are_bad_request(town):
    assert town.delete(ENTITIES, params={"type": "Park", "keep": "a", "drop": "b"}).status_code == 400
    assert len(ids(town)) == 3


def test_purge_without_a_filter_is_bad_request(town):
    assert town.delete(ENTITIES).status_code == 400
    assert len(ids(town)) == 3
