"""Bulk grants (POST /consent/grants, `toshi consent grant`): many residents' consent to one purpose
and recipient in one transaction, each with a record, a signed receipt and an audit record of its own;
a malformed request records nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from consent_town import LD, PURPOSE, TENANT, patient, resident_id
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.cli import main
from toshi.consent.receipts import verify

RESIDENTS = [resident_id(n) for n in range(1, 6)]


def bulk(town, body: dict, principal=None):
    return town.client.post("/consent/grants", json=body, headers=town.ld(principal or town.official))


def terms(provider: dict, **extra) -> dict:
    return {"recipient": provider["_id"], "purpose": PURPOSE, "categories": ["sensitive"], **extra}


def test_a_bulk_grant_gives_each_resident_a_record(town):
    provider = town.provider()
    r = bulk(town, {"residents": RESIDENTS, **terms(provider)})
    assert r.status_code == 201, r.text
    assert r.json()["granted"] == 5 and [c["subject"] for c in r.json()["consents"]] == RESIDENTS
    held = town.client.get("/consent/held", headers=town.ld(provider)).json()
    assert sorted(record["subject"] for record in held) == sorted(RESIDENTS)
    assert {record["collectionMethod"] for record in held} == {"town office"}


def test_each_bulk_granted_record_has_its_own_signed_receipt(town):
    r = bulk(town, {"residents": RESIDENTS[:2], **terms(town.provider())})
    jwk = town.client.get("/.well-known/jwks.json").json()["keys"][0]
    for consent in r.json()["consents"]:
        path = f"/consent/residents/{consent['subject']}/consents/{consent['id']}/receipt"
        receipt = town.client.get(path, headers=town.ld(town.official)).json()
        assert verify(receipt["jws"], jwk)["piiPrincipalId"] == consent["subject"]


def test_a_bulk_grant_takes_effect_in_the_read_path(town):
    town.create(patient(1), patient(2), patient(9))
    provider = town.provider()
    assert bulk(town, {"residents": RESIDENTS[:2], **terms(provider)}).status_code == 201
    body = town.client.get(f"{LD}/entities?type=Patient", headers=town.ld(provider, PURPOSE)).json()
    assert {e["id"]: "diagnosis" in e for e in body} == {
        "urn:ngsi-ld:Patient:1": True, "urn:ngsi-ld:Patient:2": True, "urn:ngsi-ld:Patient:9": False}


def test_each_bulk_grant_is_audited(town):
    r = bulk(town, {"residents": RESIDENTS, **terms(town.provider())})
    ids = {c["id"] for c in r.json()["consents"]}
    audit = town.client.app.state.consent.service.audit
    audited = [rec for rec in audit.records(0, 1000) if rec["operation"] == "consent grant"]
    assert {rec["target"] for rec in audited} == ids and len(audited) == 5


@pytest.mark.parametrize("body, message", [
    ({"residents": [resident_id(1), resident_id(1)]}, "each resident once"),
    ({"residents": []}, "residents must be a non-empty array"),
    ({"residents": [resident_id(1), ""]}, "a resident id is a non-empty string"),
    ({"residents": [resident_id(1)], "purpose": ""}, "purpose is required"),
    ({}, "residents must be a non-empty array"),
])
def test_a_malformed_bulk_grant_records_nothing(town, body, message):
    provider = town.provider()
    r = bulk(town, {**terms(provider), **body})
    assert r.status_code == 400 and message in r.json()["detail"], r.text
    assert town.client.get("/consent/held", headers=town.ld(provider)).json() == []


def test_a_bulk_grant_needs_the_admin_role(town):
    provider = town.provider()
    assert bulk(town, {"residents": RESIDENTS, **terms(provider)}, principal=provider).status_code == 403


def test_the_grant_command_records_a_file_of_residents(tmp_path, capsys, settings, monkeypatch):
    if settings.database_url:
        monkeypatch.setenv("TOSHI_DATABASE_URL", settings.database_url)
    data = str(tmp_path / "data")
    listed = Path(tmp_path / "residents.txt")
    listed.write_text("\n".join(RESIDENTS[:3]) + "\n", "utf-8")
    code = main(["consent", "grant", "--tenant", TENANT, "--recipient", "acct_care", "--purpose", PURPOSE,
                 "--category", "sensitive", "--residents-file", str(listed), "--data-dir", data])
    out = capsys.readouterr()
    assert code == 0 and len(out.out.splitlines()) == 3 and "granted 3 consent(s)" in out.err
    with TestClient(create_app(settings)) as client:  # authentication off: the local operator is the office
        records = client.get(f"/consent/residents/{RESIDENTS[0]}/consents", headers={"NGSILD-Tenant": TENANT}).json()
    assert [(r["recipient"], r["purpose"], r["status"]) for r in records] == [("acct_care", PURPOSE, "active")]


def test_the_grant_command_refuses_a_repeated_resident(tmp_path, capsys, settings, monkeypatch):
    if settings.database_url:
        monkeypatch.setenv("TOSHI_DATABASE_URL", settings.database_url)
    code = main(["consent", "grant", "--recipient", "acct_care", "--purpose", PURPOSE, "--category", "sensitive",
                 "--resident", RESIDENTS[0], "--resident", RESIDENTS[0], "--data-dir", str(tmp_path / "data")])
    assert code == 1 and "each resident once" in capsys.readouterr().err
