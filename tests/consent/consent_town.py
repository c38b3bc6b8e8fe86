"""The consent tests' town: authentication on, a declaration of personal data, residents and service providers."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.auth.apikeys import api_keys_of
from toshi.auth.issuer import issue_token

LD = "/ngsi-ld/v1"
TENANT = "city"
PURPOSE = "care-planning"
DECLARATION = {"id": "patients", "type": "Patient", "subject": "patient",
               "attributes": {"diagnosis": "sensitive", "phone": "personal", "location": "location",
                              "patient": "personal"}}


def resident_id(n: int) -> str:
    return f"urn:ngsi-ld:Person:{n}"


def patient(n: int, resident: int | None = None, **extra) -> dict:
    return {"id": f"urn:ngsi-ld:Patient:{n}", "type": "Patient",
            "patient": {"type": "Relationship", "object": resident_id(n if resident is None else resident)},
            "ward": {"type": "Property", "value": f"ward-{n}"},
            "diagnosis": {"type": "Property", "value": f"diagnosis-{n}"},
            "phone": {"type": "Property", "value": f"090-{n:04d}"},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [135.4, 34.8]}},
            **extra}


class Town:
    def __init__(self, client: TestClient):
        self.client = client
        self.security = client.app.state.auth.security
        self.admin = self.key("root", ["*:admin"])
        self.official = self.key("town-office", [f"{TENANT}:admin"])
        r = client.post("/consent/declarations", json=DECLARATION, headers=self.ld(self.admin))
        assert r.status_code == 201, r.text

    def key(self, name: str, roles: list[str]) -> dict:
        keys = api_keys_of(self.client.app.state.toshi.store)
        account = keys.create_account(name, roles, ())
        _, secret = keys.create_key(account["id"])
        return {"Authorization": f"Bearer {secret}", "_id": account["id"]}

    def provider(self, name: str = "care-service") -> dict:
        return self.key(name, [f"{TENANT}:consumer"])

    def resident(self, n: int) -> dict:
        s = self.security.settings
        token = issue_token(self.security.signing_key, s.auth_issuer, resident_id(n), [],
                            audience=s.auth_audience)
        return {"Authorization": f"Bearer {token}", "_id": resident_id(n)}

    @staticmethod
    def ld(principal: dict, purpose: str | None = None) -> dict:
        out = {k: v for k, v in principal.items() if not k.startswith("_")}
        out["NGSILD-Tenant"] = TENANT
        if purpose:
            out["Toshi-Purpose"] = purpose
        return out

    @staticmethod
    def v2(principal: dict, purpose: str | None = None) -> dict:
        out = {k: v for k, v in principal.items() if not k.startswith("_")}
        out["Fiware-Service"] = TENANT
        if purpose:
            out["Toshi-Purpose"] = purpose
        return out

    def create(self, *entities: dict) -> None:
        for entity in entities:
            r = self.client.post(f"{LD}/entities", json=entity, headers=self.ld(self.admin))
            assert r.status_code == 201, r.text

    def grant(self, resident: dict, recipient: dict, categories=("sensitive",), purpose: str = PURPOSE,
              **terms) -> dict:
        body = {"recipient": recipient["_id"], "purpose": purpose, "categories": list(categories), **terms}
        r = self.client.post("/consent/me/consents", json=body, headers=self.ld(resident))
        assert r.status_code == 201, r.text
        return r.json()

    def revoke(self, resident: dict, consent: dict) -> None:
        r = self.client.delete(f"/consent/me/consents/{consent['id']}", headers=self.ld(resident))
        assert r.status_code == 204, r.text


@pytest.fixture
def secure_settings(settings):
    return dataclasses.replace(settings, auth=True, outbound_allow="127.0.0.1")


@pytest.fixture
def town(secure_settings):
    with TestClient(create_app(secure_settings)) as client:
        yield Town(client)
