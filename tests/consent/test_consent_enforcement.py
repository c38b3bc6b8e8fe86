"""The consent layer of the one read path, through the real app: default deny, grant, revoke,
expiry, purpose, the data subject and town officials."""

from __future__ import annotations

import time

from consent_town import LD, PURPOSE, patient

PATIENT = f"{LD}/entities/urn:ngsi-ld:Patient:1"


def test_personal_attributes_are_hidden_without_consent(town):
    town.create(patient(1))
    body = town.client.get(PATIENT, headers=town.ld(town.provider(), PURPOSE)).json()
    assert body["ward"]["value"] == "ward-1"
    assert "diagnosis" not in body and "phone" not in body and "location" not in body and "patient" not in body


def test_a_consent_shows_its_category(town):
    town.create(patient(1))
    provider = town.provider()
    town.grant(town.resident(1), provider, ["sensitive"])
    body = town.client.get(PATIENT, headers=town.ld(provider, PURPOSE)).json()
    assert body["diagnosis"]["value"] == "diagnosis-1"
    assert "phone" not in body and "location" not in body


def test_a_consent_of_named_attributes_shows_them(town):
    town.create(patient(1))
    provider = town.provider()
    town.grant(town.resident(1), provider, [], attributes=["phone"])
    body = town.client.get(PATIENT, headers=town.ld(provider, PURPOSE)).json()
    assert body["phone"]["value"] == "090-0001" and "diagnosis" not in body


def test_a_consent_of_another_resident_shows_nothing(town):
    town.create(patient(1))
    provider = town.provider()
    town.grant(town.resident(2), provider, ["sensitive"])
    assert "diagnosis" not in town.client.get(PATIENT, headers=town.ld(provider, PURPOSE)).json()


def test_a_consent_counts_only_for_its_recipient(town):
    town.create(patient(1))
    town.grant(town.resident(1), town.provider("one"), ["sensitive"])
    other = town.provider("other")
    assert "diagnosis" not in town.client.get(PATIENT, headers=town.ld(other, PURPOSE)).json()


def test_another_purpose_shows_nothing(town):
    town.create(patient(1))
    provider = town.provider()
    town.grant(town.resident(1), provider, ["sensitive"])
    assert "diagnosis" not in town.client.get(PATIENT, headers=town.ld(provider, "marketing")).json()


def test_no_purpose_shows_nothing(town):
    town.create(patient(1))
    provider = town.provider()
    town.grant(town.resident(1), provider, ["sensitive"])
    assert "diagnosis" not in town.client.get(PATIENT, headers=town.ld(provider)).json()


def test_revocation_hides_at_once(town):
    town.create(patient(1))
    provider, resident = town.provider(), town.resident(1)
    consent = town.grant(resident, provider, ["sensitive"])
    assert "diagnosis" in town.client.get(PATIENT, headers=town.ld(provider, PURPOSE)).json()
    town.revoke(resident, consent)
    assert "diagnosis" not in town.client.get(PATIENT, headers=town.ld(provider, PURPOSE)).json()


def test_an_expired_consent_shows_nothing(town):
    town.create(patient(1))
    provider = town.provider()
    until = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 1.5)) + "Z"
    town.grant(town.resident(1), provider, ["sensitive"], validUntil=until)
    assert "diagnosis" in town.client.get(PATIENT, headers=town.ld(provider, PURPOSE)).json()
    time.sleep(2.1)
    assert "diagnosis" not in town.client.get(PATIENT, headers=town.ld(provider, PURPOSE)).json()


def test_a_consent_starting_later_shows_nothing_yet(town):
    town.create(patient(1))
    provider = town.provider()
    town.grant(town.resident(1), provider, ["sensitive"], validFrom="2999-01-01T00:00:00Z")
    assert "diagnosis" not in town.client.get(PATIENT, headers=town.ld(provider, PURPOSE)).json()


def test_the_subject_sees_their_own_data(town):
    town.create(patient(1))
    resident = town.resident(1)
    rule = {"effect": "allow", "principals": [f"id:{resident['_id']}"], "actions": ["read"], "tenant": "city"}
    assert town.client.post("/admin/auth/policies", json=rule, headers=town.admin).status_code == 201
    body = town.client.get(PATIENT, headers=town.ld(resident)).json()
    assert body["diagnosis"]["value"] == "diagnosis-1" and body["phone"]["value"] == "090-0001"


def test_a_tenant_admin_sees_personal_data(town):
    town.create(patient(1))
    body = town.client.get(PATIENT, headers=town.ld(town.official)).json()
    assert body["diagnosis"]["value"] == "diagnosis-1"


def test_an_entity_declared_personal_is_hidden_without_consent(town):
    r = town.client.post("/consent/declarations", headers=town.ld(town.admin),
                         json={"type": "Person", "subject": "@id", "attributes": {"name": "personal"},
                               "entityPersonal": True})
    assert r.status_code == 201, r.text
    town.create({"id": "urn:ngsi-ld:Person:1", "type": "Person", "name": {"type": "Property", "value": "Hanako"}})
    provider = town.provider()
    assert town.client.get(f"{LD}/entities/urn:ngsi-ld:Person:1", headers=town.ld(provider, PURPOSE)).status_code == 404
    town.grant(town.resident(1), provider, ["personal"])
    body = town.client.get(f"{LD}/entities/urn:ngsi-ld:Person:1", headers=town.ld(provider, PURPOSE)).json()
    assert body["name"]["value"] == "Hanako"


def test_a_query_over_a_hidden_attribute_matches_nothing(town):
    town.create(patient(1))
    r = town.client.get(f"{LD}/entities?type=Patient&q=diagnosis==%22diagnosis-1%22",
                        headers=town.ld(town.provider(), PURPOSE))
    assert r.status_code == 200 and r.json() == []


def test_writes_are_not_consents_concern(town):
    town.create(patient(1))
    writer = town.key("writer", ["city:provider"])
    r = town.client.patch(f"{PATIENT}/attrs", json={"ward": {"type": "Property", "value": "east"}},
                          headers=town.ld(writer))
    assert r.status_code == 204, r.text
