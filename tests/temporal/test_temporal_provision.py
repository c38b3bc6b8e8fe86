"""Temporal-attribute provision (ETSI GS CIM 009 v1.8 clauses 5.6.11-5.6.16): status codes and errors,
one behaviour per test."""

from __future__ import annotations

import pytest
from support import error_type

BASE = "/ngsi-ld/v1/temporal/entities"
CAR = "urn:ngsi-ld:Vehicle:1"


@pytest.fixture
def car(client):
    created = client.post(BASE, json={"id": CAR, "type": "Vehicle", "speed": [
        {"type": "Property", "value": 10, "observedAt": "2020-08-01T10:00:00Z"},
        {"type": "Property", "value": 20, "observedAt": "2020-08-01T11:00:00Z"}]})
    assert created.status_code == 201, created.text
    return client


def first_instance(client) -> str:
    return client.get(f"{BASE}/{CAR}").json()["speed"][0]["instanceId"]


def status(response, code: int, kind: str | None = None) -> None:
    assert response.status_code == code, response.text
    if kind is not None:
        assert error_type(response) == kind


# -- 5.6.11 create or update: an instance of the NGSI-LD Null records a deletion (4.5.7, 5.5.4) -------

DELETED = {"type": "Property", "value": "urn:ngsi-ld:null", "observedAt": "2020-08-01T12:00:00Z"}


def test_an_upsert_adds_the_new_entity_types(car):
    status(car.post(BASE, json={"id": CAR, "type": ["Vehicle", "Truck"], "speed": [
        {"type": "Property", "value": 30, "observedAt": "2020-08-01T12:00:00Z"}]}), 204)
    assert car.get(f"{BASE}/{CAR}").json()["type"] == ["Vehicle", "Truck"]


def test_an_instance_of_the_ngsi_ld_null_is_a_deletion_at_its_observed_at(car):
    status(car.post(BASE, json={"id": CAR, "type": "Vehicle", "speed": [DELETED]}), 204)
    last = car.get(f"{BASE}/{CAR}", params={"lastN": "1"}).json()["speed"]
    assert [(i["value"], i["observedAt"], "deletedAt" in i) for i in last] == [
        ("urn:ngsi-ld:null", "2020-08-01T12:00:00Z", True)]


def test_a_deletion_instance_is_not_aggregated(car):
    status(car.post(f"{BASE}/{CAR}/attrs", json={"speed": [DELETED]}), 204)
    body = car.get(f"{BASE}/{CAR}", params={"options": "aggregatedValues", "aggrMethods": "totalCount"}).json()
    assert [row[0] for row in body["speed"]["totalCount"]] == [2]


def test_a_concise_relationship_deletion_is_a_deletion_of_a_relationship(car):
    status(car.post(f"{BASE}/{CAR}/attrs", json={"owner": [
        {"object": "urn:ngsi-ld:Person:1", "observedAt": "2020-08-01T10:00:00Z"},
        {"object": "urn:ngsi-ld:null", "observedAt": "2020-08-01T11:00:00Z"}]}), 204)
    body = car.get(f"{BASE}/{CAR}", params={"options": "temporalValues", "attrs": "owner"}).json()
    assert body["owner"] == {"type": "Relationship", "objects": [["urn:ngsi-ld:Person:1", "2020-08-01T10:00:00Z"],
                                                                 ["urn:ngsi-ld:null", "2020-08-01T11:00:00Z"]]}


def test_a_deletion_instance_with_other_members_is_400_and_creates_nothing(client):
    status(client.post(BASE, json={"id": CAR, "type": "Vehicle", "speed": [{**DELETED, "unitCode": "KMH"}]}),
           400, "BadRequestData")
    status(client.get(f"{BASE}/{CAR}"), 404, "ResourceNotFound")


# -- 5.6.12 add attributes ---------------------------------------------------------------------------

def test_add_attributes_is_204(car):
    status(car.post(f"{BASE}/{CAR}/attrs", json={"fuelLevel": [{"value": 3, "observedAt": "2020-08-01T10:00:00Z"}]}),
           204)


def test_add_attributes_to_an_invalid_entity_id_is_400(car):
    status(car.post(f"{BASE}/thisIsAninvalidId/attrs", json={"fuelLevel": [{"value": 3}]}), 400, "BadRequestData")


def test_add_attributes_to_an_unknown_entity_is_404(car):
    status(car.post(f"{BASE}/urn:ngsi-ld:Vehicle:unknown/attrs", json={"fuelLevel": [{"value": 3}]}),
           404, "ResourceNotFound")


def test_add_an_invalid_attribute_is_400(car):
    status(car.post(f"{BASE}/{CAR}/attrs", json={"fuelLevel": [{"type": "Property"}]}), 400, "BadRequestData")


# -- 5.6.13 delete attribute -------------------------------------------------------------------------

def test_delete_attribute_is_204(car):
    status(car.delete(f"{BASE}/{CAR}/attrs/speed"), 204)


def test_delete_an_unknown_attribute_is_404(car):
    status(car.delete(f"{BASE}/{CAR}/attrs/pressure"), 404, "ResourceNotFound")


def test_delete_an_attribute_with_an_invalid_name_is_400(car):
    status(car.delete(f"{BASE}/{CAR}/attrs/invalid(Name"), 400, "BadRequestData")


def test_delete_an_attribute_with_an_invalid_dataset_id_is_400(car):
    status(car.delete(f"{BASE}/{CAR}/attrs/speed", params={"datasetId": "not a uri"}), 400, "BadRequestData")


# -- 5.6.14 modify attribute instance ----------------------------------------------------------------

def test_modify_an_instance_is_204(car):
    status(car.patch(f"{BASE}/{CAR}/attrs/speed/{first_instance(car)}", json={"speed": {"value": 11}}), 204)


def test_modify_an_instance_of_an_unknown_entity_is_404(car):
    instance = first_instance(car)
    status(car.patch(f"{BASE}/urn:ngsi-ld:Vehicle:unknown/attrs/speed/{instance}", json={"value": 1}),
           404, "ResourceNotFound")


def test_modify_an_instance_of_an_unknown_attribute_is_404(car):
    status(car.patch(f"{BASE}/{CAR}/attrs/speed2/{first_instance(car)}", json={"value": 1}), 404, "ResourceNotFound")


def test_modify_an_unknown_instance_is_404(car):
    status(car.patch(f"{BASE}/{CAR}/attrs/speed/urn:ngsi-ld:01234567890123456789", json={"value": 1}),
           404, "ResourceNotFound")


def test_modify_an_instance_with_an_invalid_payload_is_400(car):
    status(car.patch(f"{BASE}/{CAR}/attrs/speed/{first_instance(car)}", json=["not", "an", "object"]),
           400, "BadRequestData")


def test_modify_keeps_the_observed_at_as_written(car):
    instance = first_instance(car)
    status(car.patch(f"{BASE}/{CAR}/attrs/speed/{instance}", json={"value": 9, "observedAt": "2020-08-01T09:30:00Z"}),
           204)
    [first, _] = car.get(f"{BASE}/{CAR}").json()["speed"]
    assert (first["value"], first["observedAt"]) == (9, "2020-08-01T09:30:00Z")


# -- 5.6.15 delete attribute instance ----------------------------------------------------------------

def test_delete_an_instance_is_204(car):
    status(car.delete(f"{BASE}/{CAR}/attrs/speed/{first_instance(car)}"), 204)


def test_delete_an_instance_with_an_invalid_entity_id_is_400(car):
    status(car.delete(f"{BASE}/invalidId/attrs/speed/{first_instance(car)}"), 400, "BadRequestData")


def test_delete_an_instance_with_an_invalid_instance_id_is_400(car):
    status(car.delete(f"{BASE}/{CAR}/attrs/speed/invalidId"), 400, "BadRequestData")


def test_delete_an_instance_with_an_invalid_attribute_name_is_400(car):
    status(car.delete(f"{BASE}/{CAR}/attrs/invalid(Name/{first_instance(car)}"), 400, "BadRequestData")


def test_delete_an_unknown_instance_is_404(car):
    status(car.delete(f"{BASE}/{CAR}/attrs/speed/urn:ngsi-ld:Instance:999999"), 404, "ResourceNotFound")


# -- 5.6.16 delete temporal entity -------------------------------------------------------------------

def test_delete_the_temporal_entity_is_204(car):
    status(car.delete(f"{BASE}/{CAR}"), 204)


def test_delete_an_unknown_temporal_entity_is_404(car):
    status(car.delete(f"{BASE}/urn:ngsi-ld:Vehicle:unknown"), 404, "ResourceNotFound")


def test_delete_a_temporal_entity_with_an_invalid_id_is_400(car):
    status(car.delete(f"{BASE}/invalidId"), 400, "BadRequestData")
