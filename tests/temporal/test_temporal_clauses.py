"""Temporal clauses of ETSI GS CIM 009 v1.8 not proven elsewhere: one behaviour per test.

- 4.21 with 5.7.3.4: a projection (pick / omit) that leaves no member of the temporal entity is
  ResourceNotFound.
- 4.11: timeAt is a DateTime (clause 4.6.3); a Date is BadRequestData.
- 4.5.6: the Scope of an entity is represented as the temporal representation of a Property, whose
  instances can only have createdAt, modifiedAt, deletedAt and observedAt; a change through the Core
  API is an instance whose observedAt is a copy of its modifiedAt.

One app per backend for the module; each test writes entities of its own ids.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, PgSchema, error_type, require_postgres

from toshi.app import create_app
from toshi.config import Settings

TEMPORAL = "/ngsi-ld/v1/temporal/entities"
ENTITIES = "/ngsi-ld/v1/entities"
INSTANCE_MEMBERS = {"type", "value", "instanceId", "createdAt", "modifiedAt", "deletedAt", "observedAt"}


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    schema = None
    if request.param == "postgresql":
        require_postgres()
        schema = PgSchema()
    settings = Settings(data_dir=str(tmp_path_factory.mktemp("clauses") / "data"),
                        database_url=schema.url if schema else "")
    try:
        with TestClient(create_app(settings)) as test_client:
            yield test_client
    finally:
        if schema is not None:
            schema.drop()


def temporal_vehicle(client, entity_id: str, **extra) -> None:
    body = {"id": entity_id, "type": "Vehicle",
            "speed": [{"type": "Property", "value": 10, "observedAt": "2020-08-01T12:00:00Z"},
                      {"type": "Property", "value": 20, "observedAt": "2020-08-01T13:00:00Z"}],
            "fuelLevel": [{"type": "Property", "value": 50, "observedAt": "2020-08-01T12:00:00Z"}], **extra}
    assert client.post(TEMPORAL, json=body).status_code == 201


def live_vehicle(client, entity_id: str, scope: str) -> None:
    body = {"id": entity_id, "type": "Vehicle", "scope": scope,
            "speed": {"type": "Property", "value": 1, "observedAt": "2020-08-01T12:00:00Z"}}
    assert client.post(ENTITIES, json=body).status_code == 201


def scope_instances(body: dict) -> list[dict]:
    scope = body["scope"]
    return scope if isinstance(scope, list) else [scope]


# -- 4.21: a projection that leaves nothing -------------------------------------------------------

def test_a_pick_matching_no_member_is_not_found(client):
    temporal_vehicle(client, "urn:ngsi-ld:Vehicle:pick-none")
    response = client.get(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:pick-none", params={"pick": "unknown"})
    assert response.status_code == 404
    assert error_type(response) == "ResourceNotFound"


def test_an_omit_of_every_member_is_not_found(client):
    temporal_vehicle(client, "urn:ngsi-ld:Vehicle:omit-all")
    response = client.get(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:omit-all", params={"omit": "id,type,speed,fuelLevel"})
    assert response.status_code == 404
    assert error_type(response) == "ResourceNotFound"


def test_an_omit_leaving_one_member_is_that_member(client):
    temporal_vehicle(client, "urn:ngsi-ld:Vehicle:omit-most")
    response = client.get(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:omit-most", params={"omit": "type,speed,fuelLevel"})
    assert response.status_code == 200
    assert response.json() == {"id": "urn:ngsi-ld:Vehicle:omit-most"}


# -- 4.11: the temporal query's times are DateTimes ------------------------------------------------

def test_a_date_for_time_at_is_bad_request_data(client):
    temporal_vehicle(client, "urn:ngsi-ld:Vehicle:date-bound")
    response = client.get(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:date-bound", params={"timerel": "after", "timeAt": "2020-08-01"})
    assert response.status_code == 400
    assert error_type(response) == "BadRequestData"


# -- 4.5.6: the Scope's temporal evolution --------------------------------------------------------

def test_a_scope_changed_through_the_core_api_is_a_new_property_instance(client):
    entity_id = "urn:ngsi-ld:Vehicle:scope-changed"
    live_vehicle(client, entity_id, "/Old")
    assert client.patch(f"{ENTITIES}/{entity_id}", json={"type": "Vehicle", "scope": "/New"}).status_code == 204
    body = client.get(f"{TEMPORAL}/{entity_id}", params={"options": "sysAttrs"}).json()
    instances = scope_instances(body)
    assert [i["value"] for i in instances] == ["/Old", "/New"]
    assert all(i["type"] == "Property" for i in instances)


def test_a_scope_instance_from_the_core_api_is_observed_when_it_was_modified(client):
    entity_id = "urn:ngsi-ld:Vehicle:scope-observed"
    live_vehicle(client, entity_id, "/Here")
    body = client.get(f"{TEMPORAL}/{entity_id}", params={"options": "sysAttrs"}).json()
    (instance,) = scope_instances(body)
    assert instance["observedAt"] == instance["modifiedAt"]


def test_a_scope_instance_has_only_the_temporal_sub_properties(client):
    entity_id = "urn:ngsi-ld:Vehicle:scope-members"
    live_vehicle(client, entity_id, "/Here")
    body = client.get(f"{TEMPORAL}/{entity_id}", params={"options": "sysAttrs"}).json()
    (instance,) = scope_instances(body)
    assert set(instance) <= INSTANCE_MEMBERS


def test_a_removed_scope_is_a_deletion_instance(client):
    entity_id = "urn:ngsi-ld:Vehicle:scope-removed"
    live_vehicle(client, entity_id, "/Gone")
    assert client.patch(f"{ENTITIES}/{entity_id}", json={"scope": "urn:ngsi-ld:null"}).status_code == 204
    body = client.get(f"{TEMPORAL}/{entity_id}", params={"timeproperty": "deletedAt"}).json()
    (instance,) = scope_instances(body)
    assert instance["value"] == "urn:ngsi-ld:null"
    assert "deletedAt" in instance


def test_the_scope_in_temporal_values_is_pairs_of_scope_and_time(client):
    entity_id = "urn:ngsi-ld:Vehicle:scope-values"
    live_vehicle(client, entity_id, "/One")
    body = client.get(f"{TEMPORAL}/{entity_id}", params={"options": "temporalValues,sysAttrs"}).json()
    assert body["scope"]["type"] == "Property"
    assert [value for value, _ in body["scope"]["values"]] == ["/One"]


def test_several_scopes_are_one_instance_whose_value_is_the_array(client):
    entity_id = "urn:ngsi-ld:Vehicle:scope-several"
    temporal_vehicle(client, entity_id, scope=["/A", "/B"])
    body = client.get(f"{TEMPORAL}/{entity_id}", params={"pick": "scope"}).json()
    assert [i["value"] for i in scope_instances(body)] == [["/A", "/B"]]


def test_omit_scope_leaves_out_its_history(client):
    entity_id = "urn:ngsi-ld:Vehicle:scope-omitted"
    live_vehicle(client, entity_id, "/Hidden")
    body = client.get(f"{TEMPORAL}/{entity_id}", params={"omit": "scope"}).json()
    assert "scope" not in body
    assert "speed" in body


def test_an_unchanged_scope_is_not_recorded_again(client):
    entity_id = "urn:ngsi-ld:Vehicle:scope-kept"
    live_vehicle(client, entity_id, "/Same")
    patch = {"speed": {"type": "Property", "value": 2, "observedAt": "2020-08-01T13:00:00Z"}}
    assert client.patch(f"{ENTITIES}/{entity_id}/attrs", json=patch).status_code == 204
    body = client.get(f"{TEMPORAL}/{entity_id}", params={"options": "sysAttrs"}).json()
    assert len(scope_instances(body)) == 1


# -- 4.5.6 in a temporal payload: the Scope written as its temporal representation -----------------

def scoped_instances(client, entity_id: str, scope) -> dict:
    response = client.post(TEMPORAL, json={"id": entity_id, "type": "Vehicle", "scope": scope, "speed": [
        {"type": "Property", "value": 1, "observedAt": "2020-08-01T12:00:00Z"}]})
    return response


def test_a_scope_given_as_property_instances_is_kept_with_their_observed_at(client):
    entity_id = "urn:ngsi-ld:Vehicle:scope-instances"
    response = scoped_instances(client, entity_id, [
        {"type": "Property", "value": "/Later", "observedAt": "2020-08-01T13:00:00Z"},
        {"type": "Property", "value": "/Earlier", "observedAt": "2020-08-01T11:00:00Z"}])
    assert response.status_code == 201
    body = client.get(f"{TEMPORAL}/{entity_id}", params={"options": "temporalValues", "pick": "scope"}).json()
    assert body["scope"]["values"] == [["/Earlier", "2020-08-01T11:00:00Z"], ["/Later", "2020-08-01T13:00:00Z"]]


def test_the_latest_scope_instance_is_the_scope_a_scope_query_sees(client):
    entity_id = "urn:ngsi-ld:Vehicle:scope-latest"
    scoped_instances(client, entity_id, [
        {"type": "Property", "value": "/Latest/One", "observedAt": "2020-08-01T13:00:00Z"},
        {"type": "Property", "value": "/Former/One", "observedAt": "2020-08-01T11:00:00Z"}])
    ids = {e["id"] for e in client.get(TEMPORAL, params={"type": "Vehicle", "scopeQ": "/Latest/One"}).json()}
    assert entity_id in ids


@pytest.mark.parametrize("scope", [
    ["/A", {"type": "Property", "value": "/B"}],                    # plain scopes and instances mixed
    [{"type": "Relationship", "value": "/B"}],                      # not a Property
    [{"type": "Property", "value": "B"}],                           # not a scope
    [{"type": "Property", "value": "/B", "unitCode": "C62"}],       # a member 4.5.6 does not allow
    [{"type": "Property", "value": "/B", "observedAt": "noon"}],    # not a DateTime
])
def test_an_invalid_temporal_scope_is_bad_request_data_and_creates_nothing(client, scope):
    entity_id = "urn:ngsi-ld:Vehicle:scope-invalid"
    response = scoped_instances(client, entity_id, scope)
    assert response.status_code == 400
    assert error_type(response) == "BadRequestData"
    assert client.get(f"{TEMPORAL}/{entity_id}").status_code == 404
