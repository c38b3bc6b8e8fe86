"""Consent records through the API: residents' own records, signed receipts, versions, providers'
view, the access log, my-data export and erasure, declarations, errors."""

from __future__ import annotations

import csv
import io
import json

import jwt
from consent_town import LD, PURPOSE, TENANT, patient

from toshi.consent.receipts import verify

PATIENT = f"{LD}/entities/urn:ngsi-ld:Patient:1"


def test_a_receipt_verifies_with_the_towns_public_key(town):
    consent = town.grant(town.resident(1), town.provider(), ["sensitive"])
    r = town.client.get(f"/consent/me/consents/{consent['id']}/receipt", headers=town.ld(town.resident(1)))
    assert r.status_code == 200
    jwk = town.client.get("/.well-known/jwks.json").json()["keys"][0]
    receipt = verify(r.json()["jws"], jwk)
    assert receipt == r.json()["receipt"]
    assert receipt["piiPrincipalId"] == "urn:ngsi-ld:Person:1" and receipt["sensitive"] is True
    assert receipt["services"][0]["purposes"][0]["purpose"] == PURPOSE


def test_a_tampered_receipt_does_not_verify(town):
    consent = town.grant(town.resident(1), town.provider(), ["sensitive"])
    jws = town.client.get(f"/consent/me/consents/{consent['id']}/receipt", headers=town.ld(town.resident(1))).json()["jws"]
    header, payload, signature = jws.split(".")
    forged = jwt.utils.base64url_encode(jwt.utils.base64url_decode(payload).replace(b"sensitive", b"personal!"))
    jwk = town.client.get("/.well-known/jwks.json").json()["keys"][0]
    try:
        verify(f"{header}.{forged.decode()}.{signature}", jwk)
    except jwt.InvalidSignatureError:
        return
    raise AssertionError("a forged receipt verified")


def test_revocation_is_a_new_signed_version(town):
    resident = town.resident(1)
    consent = town.grant(resident, town.provider(), ["sensitive"])
    town.revoke(resident, consent)
    versions = town.client.get(f"/consent/me/consents/{consent['id']}/history", headers=town.ld(resident)).json()
    assert [v["receipt"]["status"] for v in versions] == ["active", "revoked"]
    assert town.client.get(f"/consent/me/consents/{consent['id']}", headers=town.ld(resident)).json()["status"] == "revoked"


def test_a_resident_lists_only_their_own_consents(town):
    provider = town.provider()
    town.grant(town.resident(1), provider)
    town.grant(town.resident(2), provider)
    listed = town.client.get("/consent/me/consents", headers=town.ld(town.resident(1))).json()
    assert [c["subject"] for c in listed] == ["urn:ngsi-ld:Person:1"]


def test_a_resident_cannot_revoke_anothers_consent(town):
    consent = town.grant(town.resident(1), town.provider())
    r = town.client.delete(f"/consent/me/consents/{consent['id']}", headers=town.ld(town.resident(2)))
    assert r.status_code == 404 and r.json()["type"].endswith("ResourceNotFound")


def test_a_provider_lists_the_consents_it_holds(town):
    provider = town.provider()
    town.grant(town.resident(1), provider)
    town.grant(town.resident(2), town.provider("other"))
    held = town.client.get("/consent/held", headers=town.ld(provider)).json()
    assert [c["subject"] for c in held] == ["urn:ngsi-ld:Person:1"]


def test_without_credentials_my_consents_answer_401(town):
    r = town.client.get("/consent/me/consents", headers={"NGSILD-Tenant": TENANT})
    assert r.status_code == 401 and r.json()["type"] == "urn:toshi:errors:Unauthorized"


def test_a_malformed_grant_is_refused_and_changes_nothing(town):
    resident = town.resident(1)
    for body in ({"purpose": PURPOSE, "categories": ["sensitive"]},
                 {"recipient": "x", "purpose": PURPOSE, "categories": ["secret"]},
                 {"recipient": "x", "purpose": PURPOSE},
                 {"recipient": "x", "purpose": PURPOSE, "categories": ["sensitive"], "validUntil": "2000-01-01T00:00:00Z"},
                 {"recipient": "x", "purpose": PURPOSE, "categories": ["sensitive"], "colour": "red"}):
        r = town.client.post("/consent/me/consents", json=body, headers=town.ld(resident))
        assert r.status_code == 400 and r.json()["type"].endswith("BadRequestData"), body
    assert town.client.get("/consent/me/consents", headers=town.ld(resident)).json() == []


def test_a_malformed_declaration_is_refused(town):
    r = town.client.post("/consent/declarations", json={"type": "Bus", "subject": "driver",
                                                        "attributes": {"name": "private"}}, headers=town.ld(town.admin))
    assert r.status_code == 400 and "category" in r.json()["detail"]


def test_declarations_need_the_admin_right(town):
    r = town.client.get("/consent/declarations", headers=town.ld(town.provider()))
    assert r.status_code == 403


def test_the_access_log_lists_exactly_the_reads_made(town):
    town.create(patient(1), patient(2))
    provider, resident = town.provider(), town.resident(1)
    consent = town.grant(resident, provider, ["sensitive"])
    town.client.get(PATIENT, headers=town.ld(provider, PURPOSE))
    town.client.get(f"{LD}/entities?type=Patient", headers=town.ld(provider, PURPOSE))
    town.client.get(PATIENT, headers=town.ld(provider, "marketing"))  # nothing personal released
    log = town.client.get("/consent/me/access-log", headers=town.ld(resident)).json()
    assert len(log) == 2
    assert {(e["reader"], e["purpose"], tuple(e["attrs"]), tuple(e["consents"])) for e in log} == \
        {(provider["_id"], PURPOSE, ("diagnosis",), (consent["id"],))}
    assert len({e["request_id"] for e in log}) == 2
    assert town.client.get("/consent/me/access-log", headers=town.ld(town.resident(2))).json() == []


def test_the_access_log_pages(town):
    town.create(patient(1))
    provider, resident = town.provider(), town.resident(1)
    town.grant(resident, provider, ["sensitive"])
    for _ in range(3):
        town.client.get(PATIENT, headers=town.ld(provider, PURPOSE))
    first = town.client.get("/consent/me/access-log?limit=2", headers=town.ld(resident)).json()
    rest = town.client.get(f"/consent/me/access-log?limit=2&after={first[-1]['seq']}", headers=town.ld(resident)).json()
    assert len(first) == 2 and len(rest) == 1


def test_an_official_read_is_logged_as_official(town):
    town.create(patient(1))
    town.client.get(PATIENT, headers=town.ld(town.official))
    log = town.client.get("/consent/me/access-log", headers=town.ld(town.resident(1))).json()
    assert [(e["reader"], e["basis"]) for e in log] == [(town.official["_id"], "official")]


def test_a_provider_sees_what_it_accessed(town):
    town.create(patient(1))
    provider = town.provider()
    town.grant(town.resident(1), provider, ["sensitive"])
    town.client.get(PATIENT, headers=town.ld(provider, PURPOSE))
    log = town.client.get("/consent/held/access-log", headers=town.ld(provider)).json()
    assert [(e["subject"], e["attrs"]) for e in log] == [("urn:ngsi-ld:Person:1", ["diagnosis"])]


def test_the_access_log_chain_verifies(town):
    town.create(patient(1))
    provider = town.provider()
    town.grant(town.resident(1), provider, ["sensitive"])
    town.client.get(PATIENT, headers=town.ld(provider, PURPOSE))
    service = town.client.app.state.consent.service
    assert service.log.verify() == []
    service.log._db.execute("UPDATE consent_access_records SET reader='someone-else'")
    assert service.log.verify() == [1]


def test_the_export_holds_the_residents_entities_consents_and_log(town):
    town.create(patient(1), patient(2))
    resident = town.resident(1)
    town.grant(resident, town.provider(), ["sensitive"])
    data = town.client.get("/consent/me/export", headers=town.ld(resident)).json()
    assert [e["id"] for e in data["entities"]] == ["urn:ngsi-ld:Patient:1"]
    assert data["entities"][0]["diagnosis"]["value"] == "diagnosis-1"
    assert len(data["consents"]) == 1 and len(data["consents"][0]["versions"]) == 1


def test_the_export_as_csv(town):
    town.create(patient(1))
    resident = town.resident(1)
    r = town.client.get("/consent/me/export?format=csv", headers=town.ld(resident))
    assert r.headers["content-type"].startswith("text/csv")
    phone = next(row for row in csv.DictReader(io.StringIO(r.text)) if row["name"] == "phone")
    assert (phone["section"], phone["id"]) == ("entity", "urn:ngsi-ld:Patient:1")
    assert json.loads(phone["value"])["value"] == "090-0001"


def test_an_erasure_carried_out_removes_the_personal_data(town):
    town.create(patient(1))
    resident = town.resident(1)
    request = town.client.post("/consent/me/erasure", json={"reason": "moving away"}, headers=town.ld(resident))
    assert request.status_code == 202
    r = town.client.post(f"/consent/residents/urn:ngsi-ld:Person:1/erasure/{request.json()['id']}",
                         json={"decision": "erase"}, headers=town.ld(town.official))
    assert r.status_code == 200 and r.json()["status"] == "erased"
    body = town.client.get(PATIENT, headers=town.ld(town.official)).json()
    assert body["ward"]["value"] == "ward-1" and "diagnosis" not in body and "patient" not in body


def test_an_erasure_refused_states_the_legal_reason(town):
    town.create(patient(1))
    resident = town.resident(1)
    request = town.client.post("/consent/me/erasure", json={}, headers=town.ld(resident)).json()
    path = f"/consent/residents/urn:ngsi-ld:Person:1/erasure/{request['id']}"
    assert town.client.post(path, json={"decision": "refuse"}, headers=town.ld(town.official)).status_code == 400
    r = town.client.post(path, json={"decision": "refuse", "legalReason": "介護保険法: records kept 5 years"},
                         headers=town.ld(town.official))
    assert r.json()["status"] == "refused"
    listed = town.client.get("/consent/me/erasure", headers=town.ld(resident)).json()
    assert listed[0]["legalReason"].startswith("介護保険法")
    assert "diagnosis" in town.client.get(PATIENT, headers=town.ld(town.official)).json()


def test_a_resident_cannot_decide_their_own_erasure(town):
    resident = town.resident(1)
    request = town.client.post("/consent/me/erasure", json={}, headers=town.ld(resident)).json()
    r = town.client.post(f"/consent/me/erasure/{request['id']}", json={"decision": "erase"}, headers=town.ld(resident))
    assert r.status_code == 403
