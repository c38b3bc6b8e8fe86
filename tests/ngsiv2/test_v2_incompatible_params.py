"""GET /v2/entities: `id` with `idPattern` and `type` with `typePattern` are 400, checked first, in the
order of Orion's getEntities (before the geo-query, q and mq)."""

from __future__ import annotations

import pytest

ID_AND_PATTERN = (400, {"error": "BadRequest", "description": "Incompatible parameters: id, IdPattern"})
TYPE_AND_PATTERN = (400, {"error": "BadRequest", "description": "Incompatible parameters: type, typePattern"})


def answer(response):
    return response.status_code, response.json()


@pytest.mark.parametrize("ids", ["R1", "R1,R2"])
def test_id_list_with_id_pattern(client, ids):
    client.post("/v2/entities", json={"id": "R1", "type": "Room"})
    assert answer(client.get(f"/v2/entities?id={ids}&idPattern=R.*")) == ID_AND_PATTERN


def test_type_with_type_pattern(client):
    assert answer(client.get("/v2/entities?type=Room&typePattern=R.*")) == TYPE_AND_PATTERN


def test_id_is_checked_before_type(client):
    assert answer(client.get("/v2/entities?type=Room&typePattern=R.*&id=R1&idPattern=R.*")) == ID_AND_PATTERN


@pytest.mark.parametrize("bad", ["georel=near;maxDistance:10", "q=t>>1", "mq=t.x>>1"])
def test_selectors_are_checked_before_geo_q_and_mq(client, bad):
    assert client.get(f"/v2/entities?{bad}").status_code == 400  # an error of its own
    assert answer(client.get(f"/v2/entities?{bad}&id=R1&idPattern=R.*")) == ID_AND_PATTERN
    assert answer(client.get(f"/v2/entities?{bad}&type=Room&typePattern=R.*")) == TYPE_AND_PATTERN
