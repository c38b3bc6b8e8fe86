"""A resident signed in through Toshi's OpenID Connect provider is the data subject the consent layer
knows: they see their own personal data, and their consents work for the services they choose."""

from __future__ import annotations

import pytest
from consent_town import LD, PURPOSE, TENANT, Town, patient, resident_id
from oidc_flow import create_resident, register_client, tokens_for
from starlette.testclient import TestClient

from toshi.app import create_app

PATIENT = f"{LD}/entities/urn:ngsi-ld:Patient:1"


@pytest.fixture
def signed_in(secure_settings):
    with TestClient(create_app(secure_settings), base_url="https://testserver") as client:
        town = Town(client)
        client_id = register_client(client, town.admin)
        create_resident(client, town.admin, resident_id(1))
        token = tokens_for(client, client_id, resident_id(1))["access_token"]
        rule = {"effect": "allow", "principals": ["acr:office-id-document"], "actions": ["read"], "tenant": TENANT}
        assert client.post("/admin/auth/policies", json=rule, headers=town.admin).status_code == 201
        town.create(patient(1), patient(2))
        yield town, {"Authorization": f"Bearer {token}", "_id": resident_id(1)}


def test_the_signed_in_resident_sees_their_own_personal_data(signed_in):
    town, resident = signed_in
    body = town.client.get(PATIENT, headers=town.ld(resident)).json()
    assert body["diagnosis"]["value"] == "diagnosis-1" and body["phone"]["value"] == "090-0001"


def test_the_signed_in_resident_does_not_see_another_residents_data(signed_in):
    town, resident = signed_in
    body = town.client.get(f"{LD}/entities/urn:ngsi-ld:Patient:2", headers=town.ld(resident)).json()
    assert "diagnosis" not in body and "phone" not in body


def test_a_consent_given_after_signing_in_opens_the_data_to_that_service(signed_in):
    town, resident = signed_in
    provider = town.provider()
    town.grant(resident, provider, ["sensitive"])
    assert town.client.get(PATIENT, headers=town.ld(provider, PURPOSE)).json()["diagnosis"]["value"] == "diagnosis-1"
