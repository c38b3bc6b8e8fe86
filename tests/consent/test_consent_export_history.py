"""The resident's export holds the recorded history of their personal attributes (JSON and CSV): every
instance, of live entities and of deleted ones, and nothing of other attributes or other residents."""

from __future__ import annotations

import csv
import io
import json

import pytest
from consent_town import LD, patient

PATIENT_1, PATIENT_3 = "urn:ngsi-ld:Patient:1", "urn:ngsi-ld:Patient:3"


@pytest.fixture
def history_town(town):
    town.create(patient(1), patient(2), patient(3, resident=1))
    r = town.client.patch(f"{LD}/entities/{PATIENT_1}/attrs",
                          json={"diagnosis": {"type": "Property", "value": "diagnosis-1-later"}},
                          headers=town.ld(town.admin))
    assert r.status_code == 204, r.text
    assert town.client.delete(f"{LD}/entities/{PATIENT_3}", headers=town.ld(town.admin)).status_code == 204
    return town


def exported(town, **params):
    r = town.client.get("/consent/me/export", params=params, headers=town.ld(town.resident(1)))
    assert r.status_code == 200, r.text
    return r


def test_the_export_holds_every_instance_of_a_personal_attribute(history_town):
    history = {e["id"]: e for e in exported(history_town).json()["history"]}
    values = [i["value"] for i in history[PATIENT_1]["attributes"]["diagnosis"]]
    assert values == ["diagnosis-1", "diagnosis-1-later"]
    assert all(i["instanceId"].startswith("urn:ngsi-ld:Instance:") for i in history[PATIENT_1]["attributes"]["diagnosis"])


def test_the_export_history_leaves_out_attributes_that_are_not_personal(history_town):
    history = {e["id"]: e for e in exported(history_town).json()["history"]}
    assert sorted(history[PATIENT_1]["attributes"]) == ["diagnosis", "location", "patient", "phone"]


def test_the_export_holds_the_history_of_a_deleted_entity(history_town):
    history = {e["id"]: e for e in exported(history_town).json()["history"]}
    assert history[PATIENT_3]["live"] is False
    phone = history[PATIENT_3]["attributes"]["phone"]
    assert phone[0]["value"] == "090-0003" and "deletedAt" in phone[-1]


def test_the_export_history_holds_only_the_residents_entities(history_town):
    assert sorted(e["id"] for e in exported(history_town).json()["history"]) == [PATIENT_1, PATIENT_3]


def test_the_csv_export_has_a_row_per_history_instance(history_town):
    rows = [row for row in csv.DictReader(io.StringIO(exported(history_town, format="csv").text))
            if row["section"] == "history" and row["id"] == PATIENT_1 and row["name"] == "diagnosis"]
    assert [json.loads(row["value"])["value"] for row in rows] == ["diagnosis-1", "diagnosis-1-later"]
