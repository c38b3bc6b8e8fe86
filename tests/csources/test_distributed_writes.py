"""Writes of attributes owned by exclusive and redirect registrations go to their context source (CIM
009 v1.8 5.6 with context sources, 6.3.17): create, append, update, delete; a second Toshi, in this
process (federation_towns.py), is the source."""

from __future__ import annotations

import pytest
from federation_towns import town

LD = "/ngsi-ld/v1"
REGS = LD + "/csourceRegistrations"
ID = "urn:ngsi-ld:Shelter:1"


@pytest.fixture(scope="module")
def source_app(tmp_path_factory, joined):
    app, url = town(joined, tmp_path_factory.mktemp("source"), "source.test")
    with app:
        yield app, url


@pytest.fixture
def source(source_app, request):
    """The source, with a tenant of its own per test (the registration names it)."""
    tenant = "w" + str(abs(hash(request.node.name)) % 10**8)
    return *source_app, tenant


def remote(source, path: str = "/entities/" + ID, **params):
    app, _, tenant = source
    return app.get(LD + path, params={"options": "keyValues", **params}, headers={"NGSILD-Tenant": tenant})


def exclusive(client, source, attrs=("occupancy",), operations=("redirectionOps",)) -> str:
    _, url, tenant = source
    body = {"type": "ContextSourceRegistration", "endpoint": url, "tenant": tenant, "mode": "exclusive",
            "operations": list(operations),
            "information": [{"entities": [{"type": "Shelter", "id": ID}], "propertyNames": list(attrs)}]}
    created = client.post(REGS, json=body)
    assert created.status_code == 201, created.text
    return created.headers["Location"].rsplit("/", 1)[1]


def local(client):
    return client.get(LD + "/entities/" + ID, params={"options": "keyValues", "local": "true"})


def test_create_sends_owned_attributes_to_the_source(client, source):
    exclusive(client, source)
    created = client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40},
                                                  "capacity": {"value": 100}})
    assert created.status_code == 201 and created.headers["Location"] == f"{LD}/entities/{ID}"
    assert remote(source).json() == {"id": ID, "type": "Shelter", "occupancy": 40}
    assert local(client).json() == {"id": ID, "type": "Shelter", "capacity": 100}


def test_update_sends_owned_attributes_to_the_source(client, source):
    exclusive(client, source)
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40},
                                        "capacity": {"value": 100}})
    assert client.patch(f"{LD}/entities/{ID}/attrs", json={"occupancy": {"value": 41},
                                                           "capacity": {"value": 90}}).status_code == 204
    assert remote(source).json()["occupancy"] == 41
    assert local(client).json() == {"id": ID, "type": "Shelter", "capacity": 90}


def test_append_sends_owned_attributes_to_the_source(client, source):
    exclusive(client, source, attrs=("occupancy", "status"))
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40},
                                        "capacity": {"value": 100}})
    assert client.post(f"{LD}/entities/{ID}/attrs", json={"status": {"value": "open"}}).status_code == 204
    assert remote(source).json()["status"] == "open"
    assert "status" not in local(client).json()


def test_read_after_write_shows_both_parts(client, source):
    exclusive(client, source)
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40},
                                        "capacity": {"value": 100}})
    assert client.get(f"{LD}/entities/{ID}?options=keyValues").json() == \
        {"id": ID, "type": "Shelter", "capacity": 100, "occupancy": 40}


def test_delete_deletes_at_the_source_too(client, source):
    exclusive(client, source)
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40},
                                        "capacity": {"value": 100}})
    assert client.delete(f"{LD}/entities/{ID}").status_code == 204
    assert remote(source).status_code == 404
    assert local(client).status_code == 404


def test_what_a_registration_without_the_operation_owns_is_refused(client, source):
    # neither sent nor written here (4.3.6.3): the create of only its attributes fails
    exclusive(client, source, operations=("retrieveOps",))
    response = client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40}})
    assert response.status_code == 422
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/OperationNotSupported"
    assert remote(source).status_code == 404 and local(client).status_code == 404


def test_the_rest_of_a_write_a_registration_cannot_take_is_written_here(client, source):
    reg_id = exclusive(client, source, operations=("retrieveOps",))
    response = client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40},
                                                   "capacity": {"value": 100}})
    assert response.status_code == 207
    assert response.json()["updated"] == ["capacity"]
    [refused] = response.json()["notUpdated"]
    assert refused["attributeName"] == "occupancy" and refused["registrationId"] == reg_id
    assert "does not support createEntity" in refused["reason"]
    assert local(client).json() == {"id": ID, "type": "Shelter", "capacity": 100}


def test_a_delete_a_registration_cannot_take_is_done_here_and_reported(client, source):
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "capacity": {"value": 100}})
    reg_id = exclusive(client, source, operations=("retrieveOps",))
    response = client.delete(f"{LD}/entities/{ID}")
    assert response.status_code == 207
    assert [(n["attributeName"], n["registrationId"]) for n in response.json()["notUpdated"]] == [(ID, reg_id)]
    assert local(client).status_code == 404


def test_update_the_source_refuses_is_reported_in_207(client, source):
    reg_id = exclusive(client, source)
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "capacity": {"value": 100}})  # source has none
    response = client.patch(f"{LD}/entities/{ID}/attrs", json={"occupancy": {"value": 41}, "capacity": {"value": 90}})
    assert response.status_code == 207
    assert response.json() == {"updated": ["capacity"], "notUpdated": [
        {"attributeName": "occupancy", "reason": "answered 404", "registrationId": reg_id}]}


def test_update_only_of_source_attributes_passes_its_404_on(client, source):
    exclusive(client, source)
    response = client.patch(f"{LD}/entities/{ID}/attrs", json={"occupancy": {"value": 41}})
    assert response.status_code == 404
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"


def test_unreachable_source_of_the_only_attributes_is_502(client):
    from support import free_port

    body = {"type": "ContextSourceRegistration", "endpoint": f"http://127.0.0.1:{free_port()}", "mode": "exclusive",
            "operations": ["redirectionOps"],
            "information": [{"entities": [{"type": "Shelter", "id": ID}], "propertyNames": ["occupancy"]}]}
    client.post(REGS, json=body)
    response = client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40}})
    assert response.status_code == 502
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadGateway"


def test_local_true_is_not_a_forwarding_of_writes(client, source):
    exclusive(client, source)
    created = client.post(LD + "/entities?local=true", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40}})
    assert created.status_code == 201
    assert local(client).json()["occupancy"] == 40


def _both(client, source):
    exclusive(client, source)
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40},
                                        "capacity": {"value": 100}})


def test_merge_sends_owned_attributes_to_the_source(client, source):
    _both(client, source)
    assert client.patch(f"{LD}/entities/{ID}", json={"occupancy": {"value": 42}, "capacity": {"value": 95}}
                        ).status_code == 204
    assert remote(source).json()["occupancy"] == 42
    assert local(client).json() == {"id": ID, "type": "Shelter", "capacity": 95}


def test_replace_sends_owned_attributes_to_the_source_and_replaces_the_rest_here(client, source):
    _both(client, source)
    client.post(f"{LD}/entities/{ID}/attrs", json={"status": {"value": "open"}})  # local: nobody owns it
    replaced = client.put(f"{LD}/entities/{ID}", json={"type": "Shelter", "occupancy": {"value": 45},
                                                        "capacity": {"value": 80}})
    assert replaced.status_code == 204, replaced.text
    assert remote(source).json() == {"id": ID, "type": "Shelter", "occupancy": 45}
    assert local(client).json() == {"id": ID, "type": "Shelter", "capacity": 80}


def test_replace_naming_only_owned_attributes_removes_the_local_ones(client, source):
    _both(client, source)
    assert client.put(f"{LD}/entities/{ID}", json={"type": "Shelter", "occupancy": {"value": 46}}).status_code == 204
    assert remote(source).json()["occupancy"] == 46
    assert local(client).json() == {"id": ID, "type": "Shelter"}


def test_replace_the_source_refuses_is_reported_in_207(client, source):
    reg_id = exclusive(client, source)
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "capacity": {"value": 100}})  # source has none
    replaced = client.put(f"{LD}/entities/{ID}", json={"type": "Shelter", "occupancy": {"value": 1},
                                                        "capacity": {"value": 2}})
    assert replaced.status_code == 207
    assert replaced.json() == {"updated": ["capacity"], "notUpdated": [
        {"attributeName": "occupancy", "reason": "answered 404", "registrationId": reg_id}]}


def test_attribute_update_goes_to_the_owning_source(client, source):
    _both(client, source)
    assert client.patch(f"{LD}/entities/{ID}/attrs/occupancy", json={"value": 43}).status_code == 204
    assert remote(source).json()["occupancy"] == 43


def test_attribute_replace_goes_to_the_owning_source(client, source):
    _both(client, source)
    assert client.put(f"{LD}/entities/{ID}/attrs/occupancy", json={"type": "Property", "value": 44}).status_code == 204
    assert remote(source).json()["occupancy"] == 44


def test_attribute_delete_goes_to_the_owning_source(client, source):
    _both(client, source)
    assert client.delete(f"{LD}/entities/{ID}/attrs/occupancy").status_code == 204
    assert "occupancy" not in remote(source).json()
    assert local(client).json()["capacity"] == 100


def test_attributes_nobody_owns_stay_local(client, source):
    _both(client, source)
    assert client.patch(f"{LD}/entities/{ID}/attrs/capacity", json={"value": 7}).status_code == 204
    assert local(client).json()["capacity"] == 7


# -- inclusive registrations (4.3.6.2): the source gets a copy of what it registers; it is written here too

WRITES = ["createEntity", "appendAttrs", "updateAttrs", "deleteEntity", "updateBatch"]


def inclusive(client, source, attrs=("occupancy",), operations=WRITES) -> str:
    _, url, tenant = source
    body = {"type": "ContextSourceRegistration", "endpoint": url, "tenant": tenant, "mode": "inclusive",
            "operations": list(operations),
            "information": [{"entities": [{"type": "Shelter"}], **({"propertyNames": list(attrs)} if attrs else {})}]}
    created = client.post(REGS, json=body)
    assert created.status_code == 201, created.text
    return created.headers["Location"].rsplit("/", 1)[1]


def test_inclusive_create_is_written_here_and_at_the_source(client, source):
    inclusive(client, source)
    created = client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40},
                                                  "capacity": {"value": 100}})
    assert created.status_code == 201
    assert remote(source).json() == {"id": ID, "type": "Shelter", "occupancy": 40}
    assert local(client).json() == {"id": ID, "type": "Shelter", "occupancy": 40, "capacity": 100}


def test_inclusive_update_is_written_here_and_at_the_source(client, source):
    inclusive(client, source)
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40}})
    assert client.patch(f"{LD}/entities/{ID}/attrs", json={"occupancy": {"value": 41}}).status_code == 204
    assert remote(source).json()["occupancy"] == 41 and local(client).json()["occupancy"] == 41


def test_inclusive_source_gets_only_the_attributes_it_registers(client, source):
    inclusive(client, source)
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40}})
    assert client.post(f"{LD}/entities/{ID}/attrs", json={"status": {"value": "open"}}).status_code == 204
    assert "status" not in remote(source).json() and local(client).json()["status"] == "open"


def test_inclusive_delete_deletes_here_and_at_the_source(client, source):
    inclusive(client, source)
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40}})
    assert client.delete(f"{LD}/entities/{ID}").status_code == 204
    assert remote(source).status_code == 404 and local(client).status_code == 404


def test_inclusive_source_refusing_is_reported_in_207(client, source):
    reg_id = inclusive(client, source, operations=["updateAttrs"])
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40}})  # not at the source
    response = client.patch(f"{LD}/entities/{ID}/attrs", json={"occupancy": {"value": 41}})
    assert response.status_code == 207
    assert response.json() == {"updated": [], "notUpdated": [
        {"attributeName": "occupancy", "reason": "answered 404", "registrationId": reg_id}]}
    assert local(client).json()["occupancy"] == 41


def test_inclusive_batch_update_is_done_here_and_at_the_source(client, source):
    inclusive(client, source)
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40}})
    answer = client.post(LD + "/entityOperations/update", json=[{"id": ID, "occupancy": {"value": 42}}])
    assert answer.status_code == 204, answer.text
    assert remote(source).json()["occupancy"] == 42 and local(client).json()["occupancy"] == 42


def test_inclusive_registration_for_reads_only_gets_no_writes(client, source):
    inclusive(client, source, operations=["federationOps"])
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40}})
    assert remote(source).status_code == 404 and local(client).json()["occupancy"] == 40


# -- Purge Entities (v1.9 5.6.21) at registrations naming purgeEntity

def test_purge_purges_at_the_source_and_here(client, source):
    inclusive(client, source, attrs=(), operations=["purgeEntity"])
    app, _, tenant = source
    app.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40}},
             headers={"NGSILD-Tenant": tenant}).raise_for_status()
    client.post(LD + "/entities", json={"id": "urn:ngsi-ld:Shelter:here", "type": "Shelter", "capacity": {"value": 1}})
    assert client.delete(LD + "/entities?type=Shelter").status_code == 204
    assert remote(source).status_code == 404
    assert client.get(LD + "/entities/urn:ngsi-ld:Shelter:here?local=true").status_code == 404


def test_purge_sends_its_parameters(client, source):
    inclusive(client, source, attrs=(), operations=["purgeEntity"])
    app, _, tenant = source
    app.post(LD + "/entities", json={"id": ID, "type": "Shelter", "occupancy": {"value": 40}, "capacity": {"value": 9}},
             headers={"NGSILD-Tenant": tenant}).raise_for_status()
    assert client.delete(LD + "/entities?type=Shelter&drop=occupancy").status_code == 204
    assert remote(source).json() == {"id": ID, "type": "Shelter", "capacity": 9}


def test_purge_at_an_unreachable_source_is_reported_in_207(client):
    from support import free_port

    body = {"type": "ContextSourceRegistration", "endpoint": f"http://127.0.0.1:{free_port()}",
            "operations": ["purgeEntity"], "information": [{"entities": [{"type": "Shelter"}]}]}
    reg_id = client.post(REGS, json=body).headers["Location"].rsplit("/", 1)[1]
    client.post(LD + "/entities", json={"id": ID, "type": "Shelter", "capacity": {"value": 1}})
    answer = client.delete(LD + "/entities?type=Shelter")
    assert answer.status_code == 207
    assert answer.json()["success"] == [ID]
    [error] = answer.json()["errors"]
    assert (error["error"]["status"], error["error"]["registrationId"]) == (502, reg_id)
