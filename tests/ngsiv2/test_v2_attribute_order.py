"""The order of attributes an `attrs` list selects, as Orion's filterAndOrderAttrs gives it (it shows in
`options=values` and `attrsFormat: values`, where the order is the data): the listed order, or, when the
list holds `*`, the entity's attributes in their order and then the builtins listed. One app and one
receiver for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import Receiver, wait_until

from toshi.app import create_app
from toshi.config import Settings


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("order") / "data")))) as client:
        assert client.post("/v2/entities", json={"id": "E", "type": "T", "A": {"value": 1},
                                                 "B": {"value": 2}}).status_code == 201
        yield client


def values(client, attrs: str) -> list:
    response = client.get(f"/v2/entities/E?attrs={attrs}&options=values")
    assert response.status_code == 200, response.text
    return response.json()


def test_listed_attributes_come_in_the_listed_order(v2):
    assert values(v2, "B,servicePath,A") == [2, "/", 1]


def test_with_a_star_the_entitys_attributes_come_before_the_listed_builtins(v2):
    assert values(v2, "servicePath,*") == [1, 2, "/"]


def test_a_notification_orders_its_attributes_the_same_way(v2):
    receiver = Receiver()
    try:
        response = v2.post("/v2/subscriptions", json={
            "subject": {"entities": [{"id": "N"}]},
            "notification": {"http": {"url": receiver.url}, "attrs": ["servicePath", "*"], "attrsFormat": "values"}})
        assert response.status_code == 201, response.text
        assert v2.post("/v2/entities", json={"id": "N", "A": {"value": 1}, "B": {"value": 2}}).status_code == 201
        assert wait_until(lambda: receiver.requests)
        assert receiver.requests[0]["body"]["data"] == [[1, 2, "/"]]
    finally:
        receiver.close()
