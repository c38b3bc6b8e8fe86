"""POST /v2/op/update `actionType` as Orion reads it: the NGSIv2 names, and as its last resort the NGSIv1
names in any case (`APPEND`, `APPEND_STRICT`, `UPDATE`, `DELETE`, `REPLACE`). One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("opu") / "data")))) as client:
        yield client


def batch(v2, action: str, *entities: dict):
    return v2.post("/v2/op/update", json={"actionType": action, "entities": list(entities)})


def test_ngsiv1_action_names_in_any_case_are_understood(v2):
    assert batch(v2, "APPEND", {"id": "Room1", "type": "Room", "temperature": {"value": 21}}).status_code == 204
    assert batch(v2, "Update", {"id": "Room1", "type": "Room", "temperature": {"value": 22}}).status_code == 204
    assert v2.get("/v2/entities/Room1/attrs/temperature/value").json() == 22
    refused = batch(v2, "APPEND_STRICT", {"id": "Room1", "type": "Room", "temperature": {"value": 23}})
    assert refused.status_code == 422  # appendStrict: the attribute exists
    assert batch(v2, "DELETE", {"id": "Room1", "type": "Room"}).status_code == 204
    assert v2.get("/v2/entities/Room1").status_code == 404


def test_an_unknown_action_is_refused_with_orions_text(v2):
    response = batch(v2, "upsert", {"id": "Room2", "type": "Room"})
    assert (response.status_code, response.json()) == (400, {
        "error": "BadRequest",
        "description": "invalid update action type: right ones are: append, appendStric, delete, replace, update"})
