"""Update operators for attribute values (Orion manual, "Update operators for attribute values"): in
updates, creation, replace and batch, computed from the current value inside the write."""

from __future__ import annotations

import threading

import pytest
from support import wait_until


def make(client, **attrs) -> None:
    body = {"id": "E", "type": "T", **{name: {"value": value} for name, value in attrs.items()}}
    assert client.post("/v2/entities", json=body).status_code == 201


def put(client, attr: str, value, type_name: str = "Number"):
    return client.put(f"/v2/entities/E/attrs/{attr}", json={"value": value, "type": type_name})


def value(client, attr: str = "A", entity_id: str = "E"):
    return client.get(f"/v2/entities/{entity_id}?options=keyValues").json()[attr]


@pytest.mark.parametrize(("before", "operation", "after"), [
    (2, {"$inc": 2}, 4),
    (10, {"$inc": -2.5}, 7.5),
    (3, {"$mul": 2}, 6),
    (2, {"$min": 1}, 1),
    (2, {"$min": 5}, 2),
    (2, {"$max": 10}, 10),
    (2, {"$max": 1}, 2),
    ("b", {"$min": "a"}, "a"),
    ([1, 2, 3], {"$push": 3}, [1, 2, 3, 3]),
    ([1, 2, 3], {"$push": {"$each": [4, 5]}}, [1, 2, 3, 4, 5]),
    ([1, 2, 3], {"$push": {"$each": [-1, 0], "$position": 0}}, [-1, 0, 1, 2, 3]),
    ([1, 2, 3], {"$addToSet": 4}, [1, 2, 3, 4]),
    ([1, 2, 3], {"$addToSet": 3}, [1, 2, 3]),
    ([1, 2, 3, 2], {"$pull": 2}, [1, 3]),
    ([1, 2, 3], {"$pullAll": [2, 3]}, [1]),
    ({"X": 1, "Y": 2}, {"$set": {"Y": 20, "Z": 30}}, {"X": 1, "Y": 20, "Z": 30}),
    ({"X": 1, "Y": 2}, {"$set": "foo"}, "foo"),
    ({"X": 1, "Y": 2}, {"$unset": {"X": 1}}, {"Y": 2}),
    ({"X": 1, "Y": 2}, {"$unset": "X"}, {"X": 1, "Y": 2}),
    ({"X": 1, "Y": 2}, {"$set": {"Y": 20, "Z": 30}, "$unset": {"X": 1}}, {"Y": 20, "Z": 30}),
])
def test_operator_on_put_attribute(client, before, operation, after):
    make(client, A=before)
    assert put(client, "A", operation).status_code == 204
    assert value(client) == after


def test_operator_in_patch_of_attributes(client):
    make(client, A=10)
    assert client.patch("/v2/entities/E/attrs", json={"A": {"value": {"$inc": 5}}}).status_code == 204
    assert value(client) == 15


def test_operator_in_key_values_update(client):
    make(client, A=[1])
    response = client.post("/v2/entities/E/attrs?options=keyValues", json={"A": {"$push": 2}})
    assert response.status_code == 204
    assert value(client) == [1, 2]


def test_min_max_of_datetimes_compare_as_instants(client):
    body = {"id": "E", "type": "T", "A": {"value": "2020-01-01T10:00:00+02:00", "type": "DateTime"}}
    assert client.post("/v2/entities", json=body).status_code == 201
    assert put(client, "A", {"$min": "2020-01-01T09:00:00Z"}, "DateTime").status_code == 204
    assert value(client) == "2020-01-01T08:00:00.000Z"  # 08:00 UTC is earlier than 09:00 UTC (Orion's form)


def test_creation_takes_the_references(client):
    body = {"id": "E", "type": "T", "inc": {"value": {"$inc": 4}}, "mul": {"value": {"$mul": 1000}},
            "set": {"value": {"$set": {"X": 1}}}, "push": {"value": {"$push": 4}},
            "min": {"value": {"$min": 5}}}
    assert client.post("/v2/entities", json=body).status_code == 201
    got = client.get("/v2/entities/E?options=keyValues").json()
    assert got == {"id": "E", "type": "T", "inc": 4, "mul": 0, "set": {"X": 1}, "push": [4], "min": 0}


def test_creation_leaves_out_pull_and_unset_attributes(client):
    body = {"id": "E", "type": "T", "A": {"value": {"$unset": 1}}, "P": {"value": {"$pull": 1}},
            "B": {"value": 3}}
    assert client.post("/v2/entities", json=body).status_code == 201
    assert client.get("/v2/entities/E?options=keyValues").json() == {"id": "E", "type": "T", "B": 3}


def test_max_of_datetime_at_creation_takes_the_epoch(client):
    body = {"id": "E", "type": "T", "A": {"value": {"$max": "2020-01-01T00:00:00.000Z"}, "type": "DateTime"}}
    assert client.post("/v2/entities", json=body).status_code == 201
    assert value(client) == "2020-01-01T00:00:00.000Z"


def test_replace_all_attributes_takes_the_references(client):
    make(client, A=10)
    assert client.put("/v2/entities/E/attrs", json={"A": {"value": {"$inc": 1}}}).status_code == 204
    assert value(client) == 1


def test_batch_update_applies_operators(client):
    make(client, A=1)
    body = {"actionType": "update", "entities": [{"id": "E", "type": "T", "A": {"value": {"$inc": 2}}}]}
    assert client.post("/v2/op/update", json=body).status_code == 204
    assert value(client) == 3


def test_batch_append_of_a_new_entity_takes_the_references(client):
    body = {"actionType": "append", "entities": [{"id": "N", "type": "T", "A": {"value": {"$push": 1}}}]}
    assert client.post("/v2/op/update", json=body).status_code == 204
    assert value(client, "A", "N") == [1]


def test_inc_with_a_non_numeric_argument_is_a_database_error(client):
    make(client, A=1)
    response = put(client, "A", {"$inc": "foo"})
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "InternalServerError"
    assert "Cannot increment with non-numeric argument" in body["description"]
    assert value(client) == 1


def test_set_over_a_non_object_is_a_database_error(client):
    make(client, A="foo")
    response = put(client, "A", {"$set": {"X": 1}}, "Object")
    assert response.status_code == 500 and response.json()["error"] == "InternalServerError"
    assert value(client) == "foo"


def test_set_and_unset_of_the_same_key_is_an_error(client):
    make(client, A={"X": 1})
    response = put(client, "A", {"$set": {"X": 20, "Z": 30}, "$unset": {"X": 1}}, "Object")
    assert response.status_code == 500
    assert value(client) == {"X": 1}


def test_a_value_with_other_keys_is_an_ordinary_value(client):
    make(client, A=1)
    assert put(client, "A", {"x": 1, "$inc": 1}, "StructuredValue").status_code == 204
    assert value(client) == {"x": 1, "$inc": 1}


def test_concurrent_increments_all_count(settings):
    from starlette.testclient import TestClient

    from toshi.app import create_app

    with TestClient(create_app(settings)) as client:
        make(client, A=0)
        workers = [threading.Thread(target=lambda: [put(client, "A", {"$inc": 1}) for _ in range(5)])
                   for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert wait_until(lambda: value(client) == 20)


def test_notification_carries_the_computed_value(fast_client, receiver):
    make(fast_client, A=1)
    body = {"subject": {"entities": [{"id": "E"}]}, "notification": {"http": {"url": receiver.url},
                                                                      "attrsFormat": "keyValues"}}
    assert fast_client.post("/v2/subscriptions", json=body).status_code == 201
    put(fast_client, "A", {"$inc": 41})
    assert wait_until(lambda: receiver.requests)
    assert receiver.requests[0]["body"]["data"][0]["A"] == 42
