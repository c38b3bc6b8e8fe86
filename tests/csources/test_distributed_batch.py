"""Batch operations over exclusive and redirect registrations (CIM 009 v1.8 5.6.7-5.6.10 with context
sources): what a source owns goes to it as a batch of the same operation, the rest is done here; the
207 names what a source refused. The source is a Toshi in this process (federation_towns.py)."""

from __future__ import annotations

import pytest
from federation_towns import town

LD = "/ngsi-ld/v1"
REGS = LD + "/csourceRegistrations"
OPS = ["createBatch", "upsertBatch", "updateBatch", "mergeBatch", "deleteBatch"]
ONE, TWO = "urn:ngsi-ld:Shelter:1", "urn:ngsi-ld:Shelter:2"


@pytest.fixture(scope="module")
def source_app(tmp_path_factory, joined):
    app, url = town(joined, tmp_path_factory.mktemp("batch-source"), "batch-source.test")
    with app:
        yield app, url


@pytest.fixture
def source(source_app, request):
    app, url = source_app
    return app, url, "b" + str(abs(hash(request.node.name)) % 10**8)


def remote(source, entity_id: str):
    app, _, tenant = source
    return app.get(f"{LD}/entities/{entity_id}", params={"options": "keyValues"}, headers={"NGSILD-Tenant": tenant})


def local(client, entity_id: str):
    return client.get(f"{LD}/entities/{entity_id}", params={"options": "keyValues", "local": "true"})


def exclusive(client, source, ids=(ONE,), attrs=("occupancy",), operations=OPS) -> str:
    _, url, tenant = source
    body = {"type": "ContextSourceRegistration", "endpoint": url, "tenant": tenant, "mode": "exclusive",
            "operations": list(operations),
            "information": [{"entities": [{"type": "Shelter", "id": i} for i in ids], "propertyNames": list(attrs)}]}
    created = client.post(REGS, json=body)
    assert created.status_code == 201, created.text
    return created.headers["Location"].rsplit("/", 1)[1]


def shelter(entity_id: str, **values) -> dict:
    return {"id": entity_id, "type": "Shelter", **{k: {"type": "Property", "value": v} for k, v in values.items()}}


def test_batch_create_sends_the_owned_attributes_to_the_source(client, source):
    exclusive(client, source)
    answer = client.post(LD + "/entityOperations/create", json=[shelter(ONE, occupancy=4, capacity=100),
                                                                 shelter(TWO, occupancy=9)])
    assert answer.status_code == 201 and sorted(answer.json()) == [ONE, TWO]
    assert remote(source, ONE).json() == {"id": ONE, "type": "Shelter", "occupancy": 4}
    assert local(client, ONE).json() == {"id": ONE, "type": "Shelter", "capacity": 100}
    assert local(client, TWO).json()["occupancy"] == 9 and remote(source, TWO).status_code == 404


def test_batch_create_of_only_owned_attributes_writes_nothing_here(client, source):
    exclusive(client, source)
    assert client.post(LD + "/entityOperations/create", json=[shelter(ONE, occupancy=4)]).status_code == 201
    assert remote(source, ONE).json()["occupancy"] == 4
    assert local(client, ONE).status_code == 404


def test_batch_upsert_goes_to_the_source(client, source):
    exclusive(client, source)
    client.post(LD + "/entityOperations/create", json=[shelter(ONE, occupancy=4, capacity=100)])
    answer = client.post(LD + "/entityOperations/upsert?options=update", json=[shelter(ONE, occupancy=5, capacity=90)])
    assert answer.status_code == 204, answer.text
    assert remote(source, ONE).json()["occupancy"] == 5 and local(client, ONE).json()["capacity"] == 90


def test_batch_update_goes_to_the_source(client, source):
    exclusive(client, source)
    client.post(LD + "/entityOperations/create", json=[shelter(ONE, occupancy=4, capacity=100)])
    answer = client.post(LD + "/entityOperations/update", json=[{"id": ONE, "occupancy": {"value": 6}}])
    assert answer.status_code == 204, answer.text
    assert remote(source, ONE).json()["occupancy"] == 6


def test_batch_merge_sends_the_owned_attributes_to_the_source(client, source):
    exclusive(client, source)
    client.post(LD + "/entityOperations/create", json=[shelter(ONE, occupancy=4, capacity=100)])
    answer = client.post(LD + "/entityOperations/merge", json=[{"id": ONE, "type": "Shelter", "occupancy": 7,
                                                                "capacity": 80}])
    assert answer.status_code == 204, answer.text
    assert remote(source, ONE).json()["occupancy"] == 7
    assert local(client, ONE).json() == {"id": ONE, "type": "Shelter", "capacity": 80}


def test_batch_merge_null_deletes_the_attribute_at_the_source(client, source):
    exclusive(client, source, attrs=("occupancy", "status"))
    client.post(LD + "/entityOperations/create", json=[shelter(ONE, occupancy=4, status="open")])
    answer = client.post(LD + "/entityOperations/merge", json=[{"id": ONE, "status": "urn:ngsi-ld:null"}])
    assert answer.status_code == 204, answer.text
    assert remote(source, ONE).json() == {"id": ONE, "type": "Shelter", "occupancy": 4}


def test_batch_delete_deletes_at_the_source_and_here(client, source):
    exclusive(client, source)
    client.post(LD + "/entityOperations/create", json=[shelter(ONE, occupancy=4, capacity=100)])
    assert client.post(LD + "/entityOperations/delete", json=[ONE]).status_code == 204
    assert remote(source, ONE).status_code == 404 and local(client, ONE).status_code == 404


def test_batch_delete_of_an_entity_only_the_source_holds(client, source):
    exclusive(client, source)
    client.post(LD + "/entityOperations/create", json=[shelter(ONE, occupancy=4)])
    assert client.post(LD + "/entityOperations/delete", json=[ONE]).status_code == 204
    assert remote(source, ONE).status_code == 404


def test_what_the_source_refuses_is_reported_in_207(client, source):
    reg_id = exclusive(client, source)
    client.post(LD + "/entityOperations/create", json=[shelter(ONE, capacity=100)])  # the source has no ONE
    answer = client.post(LD + "/entityOperations/update", json=[{"id": ONE, "occupancy": {"value": 6}}])
    assert answer.status_code == 207
    [error] = answer.json()["errors"]
    assert error["entityId"] == ONE and error["error"]["detail"].startswith(f"context source {reg_id}: ")
    assert answer.json()["success"] == []


def test_an_unreachable_source_fails_only_its_entities(client):
    from support import free_port

    body = {"type": "ContextSourceRegistration", "endpoint": f"http://127.0.0.1:{free_port()}", "mode": "exclusive",
            "operations": OPS, "information": [{"entities": [{"type": "Shelter", "id": ONE}],
                                                 "propertyNames": ["occupancy"]}]}
    client.post(REGS, json=body)
    answer = client.post(LD + "/entityOperations/create", json=[shelter(ONE, occupancy=4), shelter(TWO, occupancy=9)])
    assert answer.status_code == 207
    assert answer.json()["success"] == [TWO]
    assert [(e["entityId"], e["error"]["status"]) for e in answer.json()["errors"]] == [(ONE, 502)]


def test_what_a_registration_without_the_batch_operation_owns_is_refused(client, source):
    # redirectionOps names the single operations, not the batch ones (Table 4.20-1): what the
    # exclusive registration owns is neither sent nor written here (4.3.6.3), the rest is written here
    reg = exclusive(client, source, operations=["redirectionOps"])
    answer = client.post(LD + "/entityOperations/create", json=[shelter(ONE, occupancy=4, capacity=100),
                                                                 shelter(TWO, occupancy=9)])
    assert answer.status_code == 207 and answer.json()["success"] == [TWO]
    [error] = answer.json()["errors"]
    assert error["entityId"] == ONE and error["error"]["status"] == 422
    assert error["error"]["type"].endswith("OperationNotSupported") and reg in error["error"]["detail"]
    assert remote(source, ONE).status_code == 404
    assert local(client, ONE).json() == {"id": ONE, "type": "Shelter", "capacity": 100}
    assert local(client, TWO).json()["occupancy"] == 9


def test_an_entity_all_owned_by_a_registration_without_the_batch_operation_is_not_created(client, source):
    exclusive(client, source, operations=["updateOps"])
    answer = client.post(LD + "/entityOperations/upsert", json=[shelter(ONE, occupancy=4)])
    assert answer.status_code == 207 and answer.json()["success"] == []
    assert [e["entityId"] for e in answer.json()["errors"]] == [ONE]
    assert local(client, ONE).status_code == 404 and remote(source, ONE).status_code == 404


def test_a_delete_an_owner_cannot_take_is_refused_and_done_here(client, source):
    client.post(LD + "/entities", json=shelter(ONE, capacity=100))
    exclusive(client, source, operations=["redirectionOps"])
    answer = client.post(LD + "/entityOperations/delete", json=[ONE])
    assert answer.status_code == 207
    assert [(e["entityId"], e["error"]["status"]) for e in answer.json()["errors"]] == [(ONE, 422)]
    assert local(client, ONE).status_code == 404


def test_an_inclusive_registration_without_the_batch_operation_leaves_the_batch_here(client, source):
    _, url, tenant = source
    client.post(REGS, json={"type": "ContextSourceRegistration", "endpoint": url, "tenant": tenant,
                            "operations": ["redirectionOps"],
                            "information": [{"entities": [{"type": "Shelter"}]}]}).raise_for_status()
    answer = client.post(LD + "/entityOperations/create", json=[shelter(ONE, occupancy=4)])
    assert answer.status_code == 201 and local(client, ONE).json()["occupancy"] == 4
    assert remote(source, ONE).status_code == 404


def test_local_true_keeps_the_batch_here(client, source):
    exclusive(client, source)
    client.post(LD + "/entityOperations/create?local=true", json=[shelter(ONE, occupancy=4)])
    assert remote(source, ONE).status_code == 404 and local(client, ONE).json()["occupancy"] == 4
