"""`datasetId` on retrieve and query (ETSI GS CIM 009 v1.8 clauses 4.5.5, 5.7.1, 5.7.2, 5.7.3): only the
attribute instances with those datasetIds are shown, `@none` naming the default instance."""

from __future__ import annotations

import pytest

ENTITIES = "/ngsi-ld/v1/entities"
SENSOR = f"{ENTITIES}/urn:ngsi-ld:Sensor:1"
QUERY = "/ngsi-ld/v1/entityOperations/query"
A, B = "urn:ngsi-ld:Dataset:a", "urn:ngsi-ld:Dataset:b"
DEFAULT = {"type": "Property", "value": 20}
IN_A = {"type": "Property", "value": 21, "datasetId": A}
IN_B = {"type": "Property", "value": 22, "datasetId": B}


@pytest.fixture
def sensor(client):
    entity = {"id": "urn:ngsi-ld:Sensor:1", "type": "Sensor", "temperature": [DEFAULT, IN_A, IN_B],
              "name": {"type": "Property", "value": "roof"}}
    assert client.post(ENTITIES, json=entity).status_code == 201
    return client


def test_retrieve_shows_only_the_instance_of_the_dataset_asked_for(sensor):
    body = sensor.get(SENSOR, params={"datasetId": A}).json()
    assert body == {"id": "urn:ngsi-ld:Sensor:1", "type": "Sensor", "temperature": IN_A}


def test_none_names_the_default_instance(sensor):
    body = sensor.get(SENSOR, params={"datasetId": "@none"}).json()
    assert body == {"id": "urn:ngsi-ld:Sensor:1", "type": "Sensor", "temperature": DEFAULT,
                    "name": {"type": "Property", "value": "roof"}}


def test_a_list_of_datasets_keeps_each(sensor):
    body = sensor.get(ENTITIES, params={"type": "Sensor", "datasetId": f"{A},{B}"}).json()
    assert body == [{"id": "urn:ngsi-ld:Sensor:1", "type": "Sensor", "temperature": [IN_A, IN_B]}]


def test_a_post_query_takes_the_datasets_from_the_query(sensor):
    body = sensor.post(QUERY, json={"type": "Query", "entities": [{"type": "Sensor"}], "datasetId": [B]}).json()
    assert body == [{"id": "urn:ngsi-ld:Sensor:1", "type": "Sensor", "temperature": IN_B}]


def test_key_values_of_one_dataset_is_the_bare_value(sensor):
    body = sensor.get(SENSOR, params={"datasetId": A, "options": "keyValues"}).json()
    assert body == {"id": "urn:ngsi-ld:Sensor:1", "type": "Sensor", "temperature": 21}


def test_a_dataset_id_that_is_no_uri_is_bad_request_data(sensor):
    response = sensor.get(ENTITIES, params={"type": "Sensor", "datasetId": "roof"})
    assert response.status_code == 400
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
