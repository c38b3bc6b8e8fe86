"""unitCode, TimeInstant and observedAt metadata render back exactly as given (the manual's metadata are
`{type, value}` as written): Toshi keeps them as the instance's own members (NGSI-LD unitCode /
observedAt) only when that renders them back unchanged (unitCode as Text, the times as DateTime), and
as ordinary metadata otherwise; mq finds them either way. One app for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("membermd") / "data")))) as client:
        assert client.post("/v2/entities", json={"id": "M1", "A": {"value": 1, "metadata": {
            "TimeInstant": {"value": "2020-01-01T00:00:00Z"}, "unitCode": {"value": "CEL", "type": "Code"}}},
            "B": {"value": 2, "metadata": {"TimeInstant": {"type": "DateTime", "value": "2020-01-01T00:00:00Z"},
                                           "observedAt": {"type": "DateTime", "value": "2021-01-01T00:00:00Z"}}},
        }).status_code == 201
        yield client


def metadata(v2, attr: str) -> dict:
    return v2.get(f"/v2/entities/M1/attrs/{attr}").json()["metadata"]


def test_a_time_instant_without_type_is_text_as_written(v2):
    assert metadata(v2, "A")["TimeInstant"] == {"type": "Text", "value": "2020-01-01T00:00:00Z"}


def test_a_unit_code_of_another_type_keeps_its_type(v2):
    assert metadata(v2, "A")["unitCode"] == {"type": "Code", "value": "CEL"}


def test_time_instant_and_observed_at_together_are_both_kept(v2):
    assert metadata(v2, "B") == {"observedAt": {"type": "DateTime", "value": "2021-01-01T00:00:00.000Z"},
                                 "TimeInstant": {"type": "DateTime", "value": "2020-01-01T00:00:00.000Z"}}


def ids(v2, mq: str) -> list[str]:
    return [e["id"] for e in v2.get("/v2/entities", params={"mq": mq, "attrs": "none"}).json()]


def test_mq_finds_a_time_instant_kept_as_ordinary_metadata(v2):
    assert ids(v2, "A.TimeInstant=='2020-01-01T00:00:00Z'") == ["M1"]


def test_mq_finds_a_unit_code_kept_as_ordinary_metadata(v2):
    assert ids(v2, "A.unitCode==CEL") == ["M1"]


def test_mq_negated_existence_needs_neither(v2):
    assert ids(v2, "!A.TimeInstant") == []
