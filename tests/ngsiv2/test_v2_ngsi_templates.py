"""`httpCustom.ngsi` (the manual's "NGSI payload patching") as Orion sends it: the patched entity is
rendered normalized whatever `attrsFormat` says (but the simplified formats), with the subscription's
`Ngsiv2-AttrsFormat`; its attributes come in `evalPriority` order before the entity's own, and a listed
`notification.attrs` (without `*`) orders them as listed (Orion's setNgsiPayload / filterAndOrderAttrs).
One app and one receiver for the module; each test watches an entity of its own."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import Receiver, wait_until

from toshi.app import create_app
from toshi.config import Settings

NGSI = {"B": {"value": "${x}"}, "A": {"value": 2}}


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("ngsi") / "data")))) as client:
        yield client


def notified(client, receiver, entity_id: str, custom: dict, **notification) -> dict:
    """The notification of creating `entity_id` (attributes y: 0, x: 1) under such a subscription."""
    response = client.post("/v2/subscriptions", json={
        "subject": {"entities": [{"id": entity_id}]},
        "notification": {"httpCustom": {"url": receiver.url, **custom}, **notification}})
    assert response.status_code == 201, response.text
    created = client.post("/v2/entities", json={"id": entity_id, "type": "T", "y": {"value": 0}, "x": {"value": 1}})
    assert created.status_code == 201, created.text

    def mine():
        return [r for r in receiver.requests if entity_id in r["raw"].decode()]
    assert wait_until(mine)
    return mine()[0]


def attribute(value) -> dict:
    return {"type": "Number", "value": value, "metadata": {}}


@pytest.mark.parametrize("attrs_format", ["keyValues", "values"])
def test_a_patched_entity_is_sent_normalized_whatever_the_attrs_format(v2, receiver, attrs_format):
    request = notified(v2, receiver, f"F-{attrs_format}", {"ngsi": NGSI}, attrsFormat=attrs_format)
    assert request["body"]["data"] == [{"id": f"F-{attrs_format}", "type": "T", "B": attribute(1), "A": attribute(2),
                                        "y": attribute(0), "x": attribute(1)}]
    assert request["headers"]["Ngsiv2-AttrsFormat"] == attrs_format


def test_a_simplified_format_applies_to_the_patched_entity(v2, receiver):
    request = notified(v2, receiver, "S1", {"ngsi": NGSI}, attrsFormat="simplifiedKeyValues")
    assert request["body"] == {"id": "S1", "type": "T", "B": 1, "A": 2, "y": 0, "x": 1}


def test_listed_attributes_come_in_the_listed_order(v2, receiver):
    request = notified(v2, receiver, "O1", {"ngsi": NGSI}, attrs=["x", "A", "B"])
    assert list(request["body"]["data"][0]) == ["id", "type", "x", "A", "B"]


def test_the_patched_attributes_come_first_in_priority_order(v2, receiver):
    ngsi = {"B": {"value": 1}, "A": {"value": 2, "metadata": {"evalPriority": {"value": 1}}}}
    request = notified(v2, receiver, "P1", {"ngsi": ngsi})
    assert list(request["body"]["data"][0]) == ["id", "type", "A", "B", "y", "x"]
