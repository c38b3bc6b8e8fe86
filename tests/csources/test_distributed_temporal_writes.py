"""Temporal writes at context sources (CIM 009 v1.8 5.6.11–5.6.16 with context sources, 4.3.6.2, 4.3.6.3):
the temporal API's writes are split by registration mode and operation as the entity writes are. A
second Toshi, in this process (federation_towns.py), is the source."""

from __future__ import annotations

import pytest
from federation_towns import town
from support import free_port

LD = "/ngsi-ld/v1"
REGS = LD + "/csourceRegistrations"
ID = "urn:ngsi-ld:Shelter:tw1"
TEMPORAL_WRITES = ["upsertTemporal", "appendAttrsTemporal", "deleteAttrsTemporal", "updateAttrsTemporal",
                   "deleteAttrInstanceTemporal", "deleteTemporal"]


def at(value, time: str) -> dict:
    return {"type": "Property", "value": value, "observedAt": time}


@pytest.fixture(scope="module")
def source_app(tmp_path_factory, joined):
    app, url = town(joined, tmp_path_factory.mktemp("temporal-source"), "temporal-source.test")
    with app:
        yield app, url


@pytest.fixture(autouse=True)
def forget(client):
    """The history a test left here (the broker's emptying deletes that of live entities only)."""
    yield
    assert client.delete(f"{LD}/temporal/entities/{ID}", params={"local": "true"}).status_code in (204, 404)


@pytest.fixture
def source(source_app, request):
    """The source, with a tenant of its own per test (the registration names it)."""
    tenant = "tw" + str(abs(hash(request.node.name)) % 10**8)
    return *source_app, tenant


def register(client, endpoint: str, tenant: str | None, mode: str, operations=TEMPORAL_WRITES,
             attrs=("occupancy",)) -> str:
    body = {"type": "ContextSourceRegistration", "endpoint": endpoint, "mode": mode, "operations": list(operations),
            "information": [{"entities": [{"type": "Shelter", "id": ID}], "propertyNames": list(attrs)}]}
    if tenant:
        body["tenant"] = tenant
    created = client.post(REGS, json=body)
    assert created.status_code == 201, created.text
    return created.headers["Location"].rsplit("/", 1)[1]


def exclusive(client, source, **kwargs) -> str:
    _, url, tenant = source
    return register(client, url, tenant, "exclusive", **kwargs)


def inclusive(client, source, **kwargs) -> str:
    _, url, tenant = source
    return register(client, url, tenant, "inclusive", **kwargs)


def there(source, path: str = "/temporal/entities/" + ID):
    app, _, tenant = source
    return app.get(LD + path, headers={"NGSILD-Tenant": tenant})


def here(client):
    return client.get(f"{LD}/temporal/entities/{ID}", params={"local": "true"})


def values(body: dict, attr: str) -> list:
    instances = body[attr] if isinstance(body[attr], list) else [body[attr]]
    return sorted(i["value"] for i in instances)


def upsert(client, **attrs):
    return client.post(LD + "/temporal/entities", json={"id": ID, "type": "Shelter", **attrs})


OCCUPANCY = [at(40, "2026-12-01T10:00:00Z"), at(41, "2026-12-01T11:00:00Z")]
CAPACITY = [at(100, "2026-12-01T10:00:00Z")]


def test_upsert_sends_owned_attributes_to_the_exclusive_source(client, source):
    exclusive(client, source)
    assert upsert(client, occupancy=OCCUPANCY, capacity=CAPACITY).status_code == 201
    remote = there(source).json()
    assert values(remote, "occupancy") == [40, 41] and "capacity" not in remote
    local = here(client).json()
    assert values(local, "capacity") == [100] and "occupancy" not in local


def test_upsert_of_only_owned_attributes_is_created_at_the_source(client, source):
    exclusive(client, source)
    created = upsert(client, occupancy=OCCUPANCY)
    assert created.status_code == 201
    assert created.headers["Location"] == f"{LD}/temporal/entities/{ID}"
    assert here(client).status_code == 404


def test_upsert_of_an_existing_entity_at_the_source_is_204(client, source):
    exclusive(client, source)
    upsert(client, occupancy=OCCUPANCY[:1])
    assert upsert(client, occupancy=OCCUPANCY[1:]).status_code == 204
    assert values(there(source).json(), "occupancy") == [40, 41]


def test_append_sends_owned_attributes_to_the_exclusive_source(client, source):
    exclusive(client, source, attrs=("occupancy",))
    upsert(client, occupancy=OCCUPANCY[:1], capacity=CAPACITY)
    appended = client.post(f"{LD}/temporal/entities/{ID}/attrs",
                           json={"occupancy": OCCUPANCY[1:], "capacity": [at(90, "2026-12-01T12:00:00Z")]})
    assert appended.status_code == 204, appended.text
    assert values(there(source).json(), "occupancy") == [40, 41]
    local = here(client).json()
    assert values(local, "capacity") == [90, 100] and "occupancy" not in local


def test_inclusive_upsert_is_written_here_and_at_the_source(client, source):
    inclusive(client, source)
    assert upsert(client, occupancy=OCCUPANCY, capacity=CAPACITY).status_code == 201
    remote, local = there(source).json(), here(client).json()
    assert values(remote, "occupancy") == [40, 41] and "capacity" not in remote
    assert values(local, "occupancy") == [40, 41] and values(local, "capacity") == [100]


def test_registration_without_the_temporal_operations_gets_no_temporal_write(client, source):
    inclusive(client, source, operations=["createEntity", "retrieveTemporal"])
    assert upsert(client, occupancy=OCCUPANCY).status_code == 201
    assert there(source).status_code == 404
    assert values(here(client).json(), "occupancy") == [40, 41]


def test_what_an_exclusive_registration_without_the_operation_owns_is_refused(client, source):
    exclusive(client, source, operations=["retrieveTemporal"])
    refused = upsert(client, occupancy=OCCUPANCY)
    assert refused.status_code == 422 and refused.json()["type"].endswith("OperationNotSupported")
    assert there(source).status_code == 404 and here(client).status_code == 404


def test_the_rest_of_a_refused_write_is_written_here_and_reported(client, source):
    registration = exclusive(client, source, operations=["retrieveTemporal"])
    answer = upsert(client, occupancy=OCCUPANCY, capacity=CAPACITY)
    assert answer.status_code == 207
    assert answer.json()["notUpdated"][0]["attributeName"] == "occupancy"
    assert answer.json()["notUpdated"][0]["registrationId"] == registration
    local = here(client).json()
    assert values(local, "capacity") == [100] and "occupancy" not in local


def test_delete_of_the_temporal_entity_is_done_at_the_source_and_here(client, source):
    exclusive(client, source)
    upsert(client, occupancy=OCCUPANCY, capacity=CAPACITY)
    assert client.delete(f"{LD}/temporal/entities/{ID}").status_code == 204
    assert there(source).status_code == 404 and here(client).status_code == 404


def test_delete_of_an_attribute_history_goes_to_the_owning_source(client, source):
    exclusive(client, source, attrs=("occupancy", "status"))
    upsert(client, occupancy=OCCUPANCY, status=[at("open", "2026-12-01T10:00:00Z")], capacity=CAPACITY)
    assert client.delete(f"{LD}/temporal/entities/{ID}/attrs/occupancy").status_code == 204
    remote = there(source).json()
    assert "occupancy" not in remote and remote["status"]
    assert values(here(client).json(), "capacity") == [100]


def test_modify_instance_goes_to_the_owning_source(client, source):
    exclusive(client, source)
    upsert(client, occupancy=OCCUPANCY[:1])
    instance_id = there(source).json()["occupancy"][0]["instanceId"]
    patched = client.patch(f"{LD}/temporal/entities/{ID}/attrs/occupancy/{instance_id}",
                           json={"occupancy": {"type": "Property", "value": 45}})
    assert patched.status_code == 204, patched.text
    assert values(there(source).json(), "occupancy") == [45]


def test_inclusive_delete_of_an_instance_only_the_source_has_is_done_there(client, source):
    inclusive(client, source)
    app, _, tenant = source
    app.post(LD + "/temporal/entities", json={"id": ID, "type": "Shelter", "occupancy": OCCUPANCY[:1]},
             headers={"NGSILD-Tenant": tenant}).raise_for_status()
    client.post(LD + "/temporal/entities", json={"id": ID, "type": "Shelter", "occupancy": OCCUPANCY[1:]},
                params={"local": "true"}).raise_for_status()
    instance_id = there(source).json()["occupancy"][0]["instanceId"]
    assert client.delete(f"{LD}/temporal/entities/{ID}/attrs/occupancy/{instance_id}").status_code == 204
    assert "occupancy" not in there(source).json()
    assert values(here(client).json(), "occupancy") == [41]


def test_inclusive_delete_of_an_instance_no_side_has_is_404(client, source):
    inclusive(client, source)
    upsert(client, occupancy=OCCUPANCY[:1])
    gone = client.delete(f"{LD}/temporal/entities/{ID}/attrs/occupancy/urn:ngsi-ld:Instance:999999")
    assert gone.status_code == 404


def test_what_an_inclusive_source_does_not_take_is_named_in_207(client, source):
    registration = inclusive(client, source)
    app, _, tenant = source
    answer = client.post(f"{LD}/temporal/entities/{ID}/attrs", json={"occupancy": OCCUPANCY[1:]})
    # here the entity has no temporal representation either: both sides answer 404
    assert answer.status_code == 404
    client.post(LD + "/temporal/entities", json={"id": ID, "type": "Shelter", "capacity": CAPACITY},
                params={"local": "true"}).raise_for_status()
    answer = client.post(f"{LD}/temporal/entities/{ID}/attrs", json={"occupancy": OCCUPANCY[1:]})
    assert answer.status_code == 207, answer.text
    assert answer.json()["notUpdated"] == [{"attributeName": "occupancy", "reason": "answered 404",
                                            "registrationId": registration}]
    assert values(here(client).json(), "occupancy") == [41]


def test_local_true_writes_here_only(client, source):
    exclusive(client, source)
    assert client.post(LD + "/temporal/entities", json={"id": ID, "type": "Shelter", "occupancy": OCCUPANCY},
                       params={"local": "true"}).status_code == 201
    assert there(source).status_code == 404
    assert values(here(client).json(), "occupancy") == [40, 41]


def test_an_unreachable_source_of_the_only_attributes_is_502(client):
    register(client, f"http://127.0.0.1:{free_port()}", None, "exclusive")
    assert upsert(client, occupancy=OCCUPANCY).status_code == 502
