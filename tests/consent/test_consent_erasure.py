"""An erasure carried out leaves nothing of the erased values anywhere Toshi keeps or serves data: the
live state, the temporal history (retrieve and query), the change log, waiting notifications, the
export, research extracts, catalogue downloads and a backup made afterwards; what is not the
resident's personal data stays."""

from __future__ import annotations

import asyncio
import gzip

import pytest
from consent_town import LD, PURPOSE, patient

from toshi.features import FEATURES
from toshi.operations.backup import backup, backup_postgres
from toshi.store.layout import STORE_TABLES

PEOPLE = {"id": "people", "type": "Person", "subject": "@id", "attributes": {"name": "personal"}}
# Resident 1's values: Patient:1 (two diagnoses over time), Patient:3 (deleted before the erasure),
# Person:1 (the resident's own entity)
ERASED = ("diagnosis-1", "diagnosis-3", "090-0001", "090-0003", "135.123", "花子-1")
KEPT = ("diagnosis-2", "090-0002", "花子-2", "ward-1", "ward-3")  # resident 2's data; Patient:1's ward
PERSON_1 = "urn:ngsi-ld:Person:1"


def person(n: int) -> dict:
    return {"id": f"urn:ngsi-ld:Person:{n}", "type": "Person", "name": {"type": "Property", "value": f"花子-{n}"}}


class Erased:
    def __init__(self, town):
        self.town, c = town, town.client
        assert c.post("/consent/declarations", json=PEOPLE, headers=town.ld(town.admin)).status_code == 201
        home = {"location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [135.123, 34.456]}}}
        town.create(patient(1, **home), patient(2), patient(3, resident=1), person(1), person(2))
        r = c.patch(f"{LD}/entities/urn:ngsi-ld:Patient:1/attrs",
                    json={"diagnosis": {"type": "Property", "value": "diagnosis-1-later"}}, headers=town.ld(town.admin))
        assert r.status_code == 204, r.text
        assert c.delete(f"{LD}/entities/urn:ngsi-ld:Patient:3", headers=town.ld(town.admin)).status_code == 204
        self.provider = town.provider()
        for n in (1, 2):
            town.grant(town.resident(n), self.provider, ["sensitive", "personal", "location"])
        self.outbox = town.client.app.state.toshi.store.outbox
        self.outbox.add([(f"waiting-{n}", "city", "urn:ngsi-ld:Subscription:x",
                          f'{{"endpoint": {{}}, "body": {{"data": [{{"id": "urn:ngsi-ld:Patient:{n}"}}]}}}}', 0.0)
                         for n in (1, 2)])
        request = c.post("/consent/me/erasure", json={"reason": "moving away"}, headers=town.ld(town.resident(1)))
        r = c.post(f"/consent/residents/{PERSON_1}/erasure/{request.json()['id']}", json={"decision": "erase"},
                   headers=town.ld(town.official))
        assert r.status_code == 200, r.text
        self.decision = r.json()

    def get(self, path: str, **params) -> str:
        r = self.town.client.get(path, params=params, headers=self.town.ld(self.town.official))
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.text


@pytest.fixture
def erased(town) -> Erased:
    return Erased(town)


def absent(text: str) -> list[str]:
    """The erased values found in `text` (none, after an erasure)."""
    return [value for value in ERASED if value in text]


def test_the_erasure_is_reported(erased):
    assert erased.decision["status"] == "erased"
    result = erased.decision["result"]
    assert sorted(result["deleted"]) == [PERSON_1]
    assert sorted(result["personalAttributesRemoved"]) == ["urn:ngsi-ld:Patient:1", "urn:ngsi-ld:Patient:3"]
    assert (result["consentsRevoked"], result["notificationsWithdrawn"], result["failed"]) == (1, 1, [])


def test_the_temporal_retrieve_shows_nothing_erased(erased):
    text = erased.get(f"{LD}/temporal/entities/urn:ngsi-ld:Patient:1", timeproperty="modifiedAt")
    assert absent(text) == [] and "ward-1" in text


def test_the_temporal_query_shows_nothing_erased(erased):
    text = erased.get(f"{LD}/temporal/entities", type="Patient", timeproperty="modifiedAt")
    assert absent(text) == [] and all(value in text for value in ("diagnosis-2", "ward-1", "ward-3"))


def test_a_deleted_entitys_history_loses_the_personal_data_too(erased):
    text = erased.get(f"{LD}/temporal/entities/urn:ngsi-ld:Patient:3", timeproperty="modifiedAt")
    assert absent(text) == [] and "ward-3" in text


def test_the_residents_own_entity_has_no_history_left(erased):
    r = erased.town.client.get(f"{LD}/temporal/entities/{PERSON_1}", headers=erased.town.ld(erased.town.official))
    assert r.status_code == 404


def test_another_residents_history_stays(erased):
    text = erased.get(f"{LD}/temporal/entities/urn:ngsi-ld:Patient:2", timeproperty="modifiedAt")
    assert "diagnosis-2" in text and "090-0002" in text


def test_the_live_entities_hold_nothing_erased(erased):
    assert absent(erased.get(f"{LD}/entities", type="Patient,Person")) == []


def test_the_change_log_holds_nothing_erased(erased):
    records = asyncio.run(erased.town.client.app.state.toshi.store.changes.read(0, 10_000))
    assert absent(repr([(r.before, r.after) for r in records])) == []


def test_waiting_notifications_naming_the_entity_are_withdrawn(erased):
    left = erased.outbox.due(float("inf"), 100, set())
    assert [row[0] for row in left if row[0].startswith("waiting-")] == ["waiting-2"]


def test_the_export_holds_nothing_erased(erased):
    text = erased.get(f"/consent/residents/{PERSON_1}/export")
    assert absent(text) == []
    assert absent(erased.get(f"/consent/residents/{PERSON_1}/export", format="csv")) == []


def test_a_research_extract_holds_nothing_erased(erased):
    town = erased.town
    town.create(patient(4))  # a second consenting resident in resident 2's cell: k = 2 holds
    town.grant(town.resident(4), erased.provider, ["sensitive", "personal", "location"])
    spec = {"recipient": erased.provider["_id"], "purpose": PURPOSE, "type": "Patient", "k": 2,
            "quasiIdentifiers": {"location": "grid:1"}, "attributes": ["diagnosis", "phone"]}
    r = town.client.post("/research/extracts", json=spec, headers=town.ld(town.admin))
    assert r.status_code == 201, r.text
    assert absent(r.text) == [] and "diagnosis-2" in r.text


def test_a_catalogue_download_holds_nothing_erased(erased):
    town = erased.town
    admin = town.ld(town.admin)
    r = town.client.post("/catalogue/admin/datasets", json={"name": "wards", "type": "Patient", "attrs": ["ward"]},
                         headers=admin)
    assert r.status_code == 201, r.text
    assert town.client.post("/catalogue/admin/datasets/wards/open", headers=admin).status_code == 200
    for form in ("csv", "geojson", "jsonld"):
        r = town.client.get(f"/catalogue/datasets/wards.{form}")
        assert r.status_code == 200, (form, r.text)
        assert absent(r.text) == [] and "ward-1" in r.text, form


def test_a_backup_made_after_the_erasure_holds_nothing_erased(erased, tmp_path):
    settings = erased.town.client.app.state.toshi.settings
    tables = [*STORE_TABLES, *(table for feature in FEATURES for table in feature.tables)]
    target = tmp_path / "after-erasure.jsonl.gz"
    if settings.database_url:
        backup_postgres(settings.database_url, target, tmp_path, tables=tables)
    else:
        backup(settings.database_path, target, tables=tables)
    text = gzip.decompress(target.read_bytes()).decode()
    assert absent(text) == [] and all(value in text for value in KEPT)
