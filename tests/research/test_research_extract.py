"""Extracts for research, checked on their output: the worked case of a town's health check-ups
linked for a university's analysis."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
from collections import defaultdict

import jwt
import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.auth.apikeys import api_keys_of
from toshi.auth.issuer import issue_token
from toshi.research.extract import verify
from toshi.research.pseudonyms import Pseudonyms, load_or_create_secret, secret_file

LD = "/ngsi-ld/v1"
TENANT = "city"
PURPOSE = "health-research"
UNIVERSITY, OTHER_UNIVERSITY = "urn:org:osaka-university", "urn:org:kyoto-university"
K = 5
GROUPS, PER_GROUP = 4, 6              # residents 0..23: four groups sharing their quasi-identifiers
OUTLIERS = (24, 25, 26)                # consenting, each alone in their cell: suppressed at k=5
NOT_CONSENTING = (27, 28, 29)          # the same cell as group 0: they must never appear
DECLARATION = {"type": "HealthCheckup", "subject": "patient",
               "attributes": {"patient": "personal", "age": "personal", "location": "location",
                              "bmi": "sensitive", "systolic": "sensitive"}}
SPEC = {"recipient": UNIVERSITY, "purpose": PURPOSE, "type": "HealthCheckup", "k": K,
        "quasiIdentifiers": {"checkupDate": "month", "age": "band:10", "location": "grid:0.05"},
        "attributes": ["bmi", "systolic"]}


def resident(n: int) -> str:
    return f"urn:ngsi-ld:Person:{n}"


def checkup(n: int) -> dict:
    group = 0 if n in NOT_CONSENTING else n % GROUPS
    lon = 136.0 + 0.3 * OUTLIERS.index(n) if n in OUTLIERS else 135.41 + 0.1 * group + 0.001 * (n % 5)
    return {"id": f"urn:ngsi-ld:HealthCheckup:{n}", "type": "HealthCheckup",
            "patient": {"type": "Relationship", "object": resident(n)},
            "checkupDate": {"type": "Property", "value": f"2026-0{group + 1}-1{n % 9}T09:00:00Z"},
            "age": {"type": "Property", "value": 41 + 10 * group + n % 7},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, 34.81]}},
            "bmi": {"type": "Property", "value": 20 + n % 6}, "systolic": {"type": "Property", "value": 110 + n}}


class Town:
    def __init__(self, client: TestClient):
        self.client = client
        keys = api_keys_of(client.app.state.toshi.store)
        account = keys.create_account("town-office", ["*:admin"], ())
        self.admin = {"Authorization": f"Bearer {keys.create_key(account['id'])[1]}", "NGSILD-Tenant": TENANT}
        assert client.post("/consent/declarations", json=DECLARATION, headers=self.admin).status_code == 201
        for n in (*range(GROUPS * PER_GROUP), *OUTLIERS, *NOT_CONSENTING):
            assert client.post(f"{LD}/entities", json=checkup(n), headers=self.admin).status_code == 201
        self.consents = {n: self.grant(n, UNIVERSITY) for n in (*range(GROUPS * PER_GROUP), *OUTLIERS)}

    def resident_headers(self, n: int) -> dict:
        security = self.client.app.state.auth.security
        token = issue_token(security.signing_key, security.settings.auth_issuer, resident(n), [],
                            audience=security.settings.auth_audience)
        return {"Authorization": f"Bearer {token}", "NGSILD-Tenant": TENANT}

    def grant(self, n: int, recipient: str, purpose: str = PURPOSE) -> dict:
        body = {"recipient": recipient, "purpose": purpose, "categories": ["personal", "sensitive", "location"]}
        r = self.client.post("/consent/me/consents", json=body, headers=self.resident_headers(n))
        assert r.status_code == 201, r.text
        return r.json()

    def extract(self, **changes) -> dict:
        r = self.client.post("/research/extracts", json={**SPEC, **changes}, headers=self.admin)
        assert r.status_code == 201, r.text
        return r.json()

    def pseudonym(self, n: int, recipient: str = UNIVERSITY) -> str:
        secret = load_or_create_secret(secret_file(self.client.app.state.toshi.settings.data_dir))
        return Pseudonyms(secret, TENANT, recipient).of(resident(n))


@pytest.fixture
def town(settings):
    with TestClient(create_app(dataclasses.replace(settings, auth=True))) as client:
        yield Town(client)


def rows_of(extract: dict) -> list[dict]:
    return list(csv.DictReader(io.StringIO(extract["csv"])))


def test_only_consenting_residents_are_extracted(town):
    pseudonyms = {row["pseudonym"] for row in rows_of(town.extract())}
    assert pseudonyms == {town.pseudonym(n) for n in range(GROUPS * PER_GROUP)}


def test_a_revoked_consent_takes_the_resident_out(town):
    r = town.client.delete(f"/consent/me/consents/{town.consents[3]['id']}", headers=town.resident_headers(3))
    assert r.status_code == 204
    assert town.pseudonym(3) not in {row["pseudonym"] for row in rows_of(town.extract())}


def test_a_consent_for_another_purpose_does_not_count(town):
    town.grant(27, UNIVERSITY, purpose="marketing")
    assert town.pseudonym(27) not in {row["pseudonym"] for row in rows_of(town.extract())}


def test_every_quasi_identifier_combination_is_shared_by_k_residents(town):
    groups = defaultdict(set)
    for row in rows_of(town.extract()):
        groups[tuple(row[q] for q in SPEC["quasiIdentifiers"])].add(row["pseudonym"])
    assert groups and all(len(people) >= K for people in groups.values())


def test_the_suppressed_records_are_counted(town):
    counts = town.extract()["manifest"]["counts"]
    assert counts["suppressed"] == len(OUTLIERS) and counts["released"] == GROUPS * PER_GROUP


def test_a_larger_k_suppresses_more(town):
    counts = town.extract(k=PER_GROUP + 1)["manifest"]["counts"]
    assert counts["released"] == 0 and counts["suppressed"] == GROUPS * PER_GROUP + len(OUTLIERS)


def test_time_location_and_age_are_generalised(town):
    row = next(r for r in rows_of(town.extract()) if r["pseudonym"] == town.pseudonym(5))
    assert (row["checkupDate"], row["age"], row["location"]) == ("2026-02", "50-60", "34.80,135.50")


def test_no_resident_or_entity_id_leaves(town):
    text = town.extract()["csv"]
    assert "urn:ngsi-ld" not in text and "Person" not in text


def test_pseudonyms_differ_per_recipient(town):
    for n in range(GROUPS * PER_GROUP):
        town.grant(n, OTHER_UNIVERSITY)
    ours = {row["pseudonym"] for row in rows_of(town.extract())}
    theirs = {row["pseudonym"] for row in rows_of(town.extract(recipient=OTHER_UNIVERSITY))}
    assert len(theirs) == GROUPS * PER_GROUP and ours.isdisjoint(theirs)


def test_pseudonyms_are_stable_per_recipient(town):
    first = sorted(row["pseudonym"] for row in rows_of(town.extract()))
    assert sorted(row["pseudonym"] for row in rows_of(town.extract())) == first


def test_the_manifest_signature_verifies_with_the_towns_jwks(town):
    made = town.extract()
    jwks = town.client.get("/.well-known/jwks.json").json()
    assert verify(made["jws"], jwks) == made["manifest"]
    assert made["manifest"]["csv"]["sha256"] == hashlib.sha256(made["csv"].encode()).hexdigest()


def test_an_altered_manifest_does_not_verify(town):
    head, body, signature = town.extract()["jws"].split(".")
    altered = ".".join((head, body[:-2] + ("AA" if body[-2:] != "AA" else "BB"), signature))
    with pytest.raises(jwt.PyJWTError):
        verify(altered, town.client.get("/.well-known/jwks.json").json())


def test_the_manifest_names_the_consents_used(town):
    manifest = town.extract()["manifest"]
    assert set(manifest["consents"]) == {town.consents[n]["id"] for n in range(GROUPS * PER_GROUP)}


def test_the_released_residents_access_log_shows_the_extract(town):
    town.extract()
    log = town.client.get("/consent/me/access-log", headers=town.resident_headers(5)).json()
    assert [(e["reader"], e["purpose"]) for e in log] == [(UNIVERSITY, PURPOSE)]


def test_a_suppressed_residents_access_log_stays_empty(town):
    town.extract()
    assert town.client.get("/consent/me/access-log", headers=town.resident_headers(OUTLIERS[0])).json() == []


def test_a_type_not_declared_personal_is_refused(town):
    r = town.client.post("/research/extracts", json={**SPEC, "type": "Shelter"}, headers=town.admin)
    assert r.status_code == 400 and "not declared" in r.json()["detail"]


def test_k_below_two_is_refused(town):
    r = town.client.post("/research/extracts", json={**SPEC, "k": 1}, headers=town.admin)
    assert r.status_code == 400 and "k must be" in r.json()["detail"]


def test_an_unknown_generalisation_is_refused(town):
    r = town.client.post("/research/extracts", headers=town.admin,
                         json={**SPEC, "quasiIdentifiers": {"checkupDate": "week"}})
    assert r.status_code == 400 and "week" in r.json()["detail"]


def test_a_service_provider_may_not_make_an_extract(town):
    keys = api_keys_of(town.client.app.state.toshi.store)
    account = keys.create_account("care", [f"{TENANT}:consumer"], ())
    headers = {"Authorization": f"Bearer {keys.create_key(account['id'])[1]}", "NGSILD-Tenant": TENANT}
    assert town.client.post("/research/extracts", json=SPEC, headers=headers).status_code == 403
