"""Health linkage: the documented indicator on its thresholds, and POST /health-linkage/indicators through
the real app — only consenting residents' check-ups are read, the resident reads their own indicator."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.auth.apikeys import api_keys_of
from toshi.auth.issuer import issue_token
from toshi.health import DECLARATIONS, PURPOSE
from toshi.health.indicator import indicator

TENANT = "toyono"
HEALTHY = {"sex": "male", "waist": 80, "systolic": 120, "diastolic": 75, "fastingGlucose": 95,
           "triglycerides": 100, "hdl": 60}


def test_waist_and_two_factors_is_metabolic_syndrome():
    record = {**HEALTHY, "waist": 85, "systolic": 130, "fastingGlucose": 110}
    assert indicator(record) == {"level": "metabolicSyndrome", "factors": ["waist", "bloodPressure", "bloodGlucose"]}


def test_waist_and_one_factor_is_preliminary():
    assert indicator({**HEALTHY, "waist": 86, "hdl": 39}) == {"level": "preliminary", "factors": ["waist", "lipids"]}


def test_the_waist_criterion_differs_for_women():
    record = {**HEALTHY, "sex": "female", "waist": 88, "systolic": 140, "triglycerides": 200}
    assert indicator(record) == {"level": "none", "factors": ["bloodPressure", "lipids"]}


def test_a_missing_measurement_gives_no_indicator():
    record = {k: v for k, v in HEALTHY.items() if k != "hdl"}
    assert indicator(record) == {"level": None, "reason": "missing measurements: hdl"}


class Clinic:
    def __init__(self, client: TestClient):
        self.client = client
        keys = api_keys_of(client.app.state.toshi.store)
        self.office = self._key(keys, "town-office", [f"{TENANT}:admin"])
        self.service = self._key(keys, "health-service", [f"{TENANT}:consumer", f"{TENANT}:provider"])
        for declaration in DECLARATIONS:
            r = client.put(f"/consent/declarations/{declaration['id']}", json=declaration, headers=self.office)
            assert r.status_code in (200, 201), r.text
        root = self._key(keys, "root", ["*:admin"])
        r = client.post("/admin/auth/policies", headers=root, json={
            "id": "own", "effect": "allow", "principals": ["authenticated"], "actions": ["read"], "tenant": TENANT,
            "types": ["HealthRiskIndicator"]})
        assert r.status_code == 201, r.text

    @staticmethod
    def _key(keys, name, roles):
        account = keys.create_account(name, roles, ())
        _, secret = keys.create_key(account["id"])
        return {"Authorization": f"Bearer {secret}", "NGSILD-Tenant": TENANT, "_id": account["id"]}

    @staticmethod
    def h(principal: dict, purpose: str | None = None) -> dict:
        out = {k: v for k, v in principal.items() if not k.startswith("_")}
        return {**out, "Toshi-Purpose": purpose} if purpose else out

    def resident(self, n: int) -> dict:
        security = self.client.app.state.auth.security
        s = security.settings
        token = issue_token(security.signing_key, s.auth_issuer, f"urn:ngsi-ld:Resident:{n}", [], audience=s.auth_audience)
        return {"Authorization": f"Bearer {token}", "NGSILD-Tenant": TENANT}

    def checkup(self, n: int, **values) -> None:
        entity = {"id": f"urn:ngsi-ld:HealthCheckup:{n}", "type": "HealthCheckup",
                  "resident": {"type": "Relationship", "object": f"urn:ngsi-ld:Resident:{n}"},
                  **{k: {"type": "Property", "value": v} for k, v in {**HEALTHY, **values}.items()}}
        r = self.client.post("/ngsi-ld/v1/entities", json=entity, headers=self.h(self.office))
        assert r.status_code == 201, r.text

    def consent(self, n: int) -> None:
        r = self.client.post(f"/consent/residents/urn:ngsi-ld:Resident:{n}/consents", headers=self.h(self.office),
                             json={"recipient": self.service["_id"], "purpose": PURPOSE,
                                   "categories": ["personal", "sensitive"]})
        assert r.status_code == 201, r.text

    def compute(self):
        return self.client.post("/health-linkage/indicators", headers=self.h(self.service, PURPOSE))

    def indicator_of(self, n: int, principal: dict):
        return self.client.get(f"/ngsi-ld/v1/entities/urn:ngsi-ld:HealthRiskIndicator:{n}",
                               params={"options": "keyValues"}, headers=principal)


@pytest.fixture
def clinic(settings):
    with TestClient(create_app(dataclasses.replace(settings, auth=True))) as client:
        yield Clinic(client)


def test_only_consenting_residents_check_ups_are_used(clinic):
    clinic.checkup(1, waist=90, systolic=135, triglycerides=180)
    clinic.checkup(2)
    clinic.consent(1)
    r = clinic.compute()
    assert (r.status_code, r.json()) == (200, {"checkups": 1, "levels": {"metabolicSyndrome": 1}})
    assert clinic.indicator_of(2, clinic.h(clinic.office)).status_code == 404


def test_the_resident_reads_their_own_indicator(clinic):
    clinic.checkup(1, waist=90, hdl=35)
    clinic.consent(1)
    clinic.compute()
    own = clinic.indicator_of(1, clinic.resident(1)).json()
    assert (own["level"], own["factors"]) == ("preliminary", ["waist", "lipids"])
    assert clinic.indicator_of(1, clinic.resident(2)).status_code == 404


def test_without_the_purpose_nothing_is_read(clinic):
    clinic.checkup(1)
    clinic.consent(1)
    r = clinic.client.post("/health-linkage/indicators", headers=clinic.h(clinic.service))
    assert r.json() == {"checkups": 0, "levels": {}}
