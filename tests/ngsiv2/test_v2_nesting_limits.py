"""The nesting limit of compound attribute and metadata values, as Orion's "Known limitations" states it
(50) and its parseCompoundValue counts it (the outermost object / array is level 0, a level greater than
50 is refused: 51 nest, 52 do not); deeper is 400 `{"error": "ParseError", "description": "attribute or metadata value has
overpassed maximum nesting limit: 50"}` and nothing is written. One app for the module; each test has an
entity of its own."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

TOO_DEEP = {"error": "ParseError", "description": "attribute or metadata value has overpassed maximum nesting limit: 50"}


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("nesting") / "data")))) as client:
        yield client


def nested(levels: int):
    """`levels` objects / arrays one inside the other, alternating, around the number 1."""
    value = 1
    for level in range(levels):
        value = {"a": value} if level % 2 else [value]
    return value


def refused(response) -> tuple[int, dict]:
    return response.status_code, response.json()


def test_a_value_with_a_container_at_level_fifty_is_kept(v2):
    # Orion's parseCompoundValue: the outermost container is level 0, `deep > 50` is refused
    assert v2.post("/v2/entities", json={"id": "N50", "A": {"value": nested(51)}}).status_code == 201
    assert v2.get("/v2/entities/N50/attrs/A/value").json() == nested(51)


def test_a_value_nested_deeper_is_refused_and_nothing_written(v2):
    assert refused(v2.post("/v2/entities", json={"id": "N51", "A": {"value": nested(52)}})) == (400, TOO_DEEP)
    assert v2.get("/v2/entities/N51").status_code == 404


def test_a_metadata_value_nested_deeper_is_refused(v2):
    response = v2.post("/v2/entities", json={"id": "M51", "A": {"value": 1, "metadata": {
        "source": {"value": nested(52)}}}})
    assert refused(response) == (400, TOO_DEEP)
    assert v2.get("/v2/entities/M51").status_code == 404


def test_a_key_values_value_nested_deeper_is_refused(v2):
    assert refused(v2.post("/v2/entities?options=keyValues", json={"id": "K51", "A": nested(52)})) == (400, TOO_DEEP)


def test_a_batch_with_a_value_nested_deeper_is_refused(v2):
    response = v2.post("/v2/op/update", json={"actionType": "append", "entities": [
        {"id": "B51", "type": "T", "A": {"value": nested(52)}}]})
    assert refused(response) == (400, TOO_DEEP)
    assert v2.get("/v2/entities/B51").status_code == 404


def test_a_json_value_nested_deeper_is_refused_and_the_old_one_kept(v2):
    assert v2.post("/v2/entities", json={"id": "V51", "A": {"value": 7}}).status_code == 201
    assert refused(v2.put("/v2/entities/V51/attrs/A/value", json=nested(52))) == (400, TOO_DEEP)
    assert v2.get("/v2/entities/V51/attrs/A/value").json() == 7


def test_a_body_nested_far_deeper_is_refused_with_the_same_error(v2):
    assert refused(v2.post("/v2/entities", json={"id": "D", "A": {"value": nested(500)}})) == (400, TOO_DEEP)


def test_a_metadata_value_with_a_container_at_level_fifty_is_kept(v2):
    response = v2.post("/v2/entities", json={"id": "M50", "A": {"value": 1, "metadata": {
        "source": {"value": nested(51)}}}})
    assert response.status_code == 201, response.text
