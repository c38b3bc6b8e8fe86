"""The tenant is named in the answer (ETSI GS CIM 009 v1.8 clause 6.3.14): a request carrying an
NGSILD-Tenant header gets the same header back, errors included; a request without it gets none."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, module_settings

from toshi.app import create_app

ENTITIES = "/ngsi-ld/v1/entities"
TENANT = {"NGSILD-Tenant": "toyono"}


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "tenant-echo")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_a_create_names_the_tenant(client):
    created = client.post(ENTITIES, json={"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter"}, headers=TENANT)
    assert created.status_code == 201 and created.headers["NGSILD-Tenant"] == "toyono"


def test_a_retrieve_names_the_tenant(client):
    client.post(ENTITIES, json={"id": "urn:ngsi-ld:Shelter:2", "type": "Shelter"}, headers=TENANT)
    found = client.get(f"{ENTITIES}/urn:ngsi-ld:Shelter:2", headers=TENANT)
    assert found.status_code == 200 and found.headers["NGSILD-Tenant"] == "toyono"


def test_an_error_of_a_nonexistent_tenant_names_the_tenant(client):
    response = client.get(ENTITIES, params={"type": "Shelter"}, headers={"NGSILD-Tenant": "nowhere"})
    assert response.status_code == 404 and response.headers["NGSILD-Tenant"] == "nowhere"


def test_an_unknown_url_parameter_error_names_the_tenant(client):
    response = client.get(ENTITIES, params={"type": "Shelter", "colour": "red"}, headers=TENANT)
    assert response.status_code == 400 and response.headers["NGSILD-Tenant"] == "toyono"


def test_the_context_api_names_the_tenant(client):
    client.post(ENTITIES, json={"id": "urn:ngsi-ld:Shelter:3", "type": "Shelter"}, headers=TENANT)
    listed = client.get("/ngsi-ld/v1/jsonldContexts", headers=TENANT)
    assert listed.status_code == 200 and listed.headers["NGSILD-Tenant"] == "toyono"


def test_a_request_without_a_tenant_gets_no_tenant_header(client):
    assert "NGSILD-Tenant" not in client.get(ENTITIES, params={"type": "Shelter"}).headers
