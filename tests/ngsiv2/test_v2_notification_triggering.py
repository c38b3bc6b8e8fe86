"""The manual's "Notification Triggering": with `condition.attrs`, a notification is sent whenever one
of the listed attributes changes *or is deleted*; deleting an attribute that is not listed sends none.
One app and one receiver for the module."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import Receiver

from toshi.app import create_app
from toshi.config import Settings


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=str(tmp_path_factory.mktemp("trig") / "data")))) as client:
        yield client


def test_deleting_a_watched_attribute_notifies_and_deleting_another_does_not(v2, receiver):
    room = {"id": "Room1", "type": "Room", "temperature": {"value": 21}, "humidity": {"value": 40}}
    assert v2.post("/v2/entities", json=room).status_code == 201
    subscription = {"subject": {"entities": [{"id": "Room1"}], "condition": {"attrs": ["temperature"]}},
                    "notification": {"http": {"url": receiver.url}, "attrsFormat": "keyValues"}}
    assert v2.post("/v2/subscriptions", json=subscription).status_code == 201
    assert v2.delete("/v2/entities/Room1/attrs/humidity").status_code == 204     # not watched: nothing
    assert v2.delete("/v2/entities/Room1/attrs/temperature").status_code == 204  # watched: notified
    assert v2.post("/v2/entities/Room1/attrs", json={"temperature": {"value": 22}}).status_code == 204
    bodies = sorted((r["body"]["data"][0] for r in receiver.wait_for(2)), key=len)
    assert bodies == [{"id": "Room1", "type": "Room"}, {"id": "Room1", "type": "Room", "temperature": 22}]
