"""What a CSV import's write counts (created, updated, unchanged), counted inside the write
transaction, and that an unchanged row writes nothing."""

from __future__ import annotations

from toshi.catalogue import csv_import
from toshi.catalogue.datasets import Dataset
from toshi.core.access import current_guard
from toshi.core.errors import Forbidden

ADMIN = "/catalogue/admin/datasets"


def imported(client, data: bytes) -> dict:
    r = client.post(f"{ADMIN}/shelters/import?confirm=true", content=data)
    assert r.status_code == 200, r.text
    return r.json()["changes"]


def last_seq(client) -> int:
    return client.portal.call(client.app.state.toshi.store.changes.last_seq)


def test_a_first_import_counts_every_row_created(client, shelters_csv):
    assert imported(client, shelters_csv(3)) == {"created": 3, "updated": 0, "unchanged": 0, "deleted": 0,
                                                  "failed": 0}


def test_an_unchanged_reimport_writes_no_change_record(client, shelters_csv):
    imported(client, shelters_csv(2))
    before = last_seq(client)
    assert imported(client, shelters_csv(2))["unchanged"] == 2
    assert last_seq(client) == before


def test_a_row_of_an_entity_made_elsewhere_counts_as_updated(client, shelters_csv):
    r = client.post("/ngsi-ld/v1/entities", json={"id": "urn:ngsi-ld:EvacuationSite:273619:000",
                                                  "type": "EvacuationSite",
                                                  "occupancy": {"type": "Property", "value": 7}})
    assert r.status_code == 201, r.text
    assert imported(client, shelters_csv(2)) == {"created": 1, "updated": 1, "unchanged": 0, "deleted": 0,
                                                  "failed": 0}


class _Refusing:
    """A guard that refuses to write one entity (as a role rule can)."""

    def __init__(self, entity_id: str):
        self.entity_id = entity_id

    def check_write(self, before, after) -> None:
        if (after or before)["id"] == self.entity_id:
            raise Forbidden("not this one")


def test_a_row_the_write_path_refuses_is_reported_by_row_and_the_others_are_written(client, shelters_csv):
    plan = csv_import.plan(Dataset(name="shelters", type="EvacuationSite"), shelters_csv(3))
    refused = "urn:ngsi-ld:EvacuationSite:273619:001"

    async def write():
        current_guard.set(_Refusing(refused))
        return await csv_import.write(client.app.state.toshi, Dataset(name="shelters", type="EvacuationSite"), plan)
    counts, errors = client.portal.call(write)
    assert (counts["created"], counts["failed"]) == (2, 1)
    assert errors == [{"row": 3, "id": refused, "message": "not this one"}]
    got = client.get("/ngsi-ld/v1/entities", params={"type": "EvacuationSite", "limit": 10}).json()
    assert sorted(e["id"] for e in got) == ["urn:ngsi-ld:EvacuationSite:273619:000",
                                            "urn:ngsi-ld:EvacuationSite:273619:002"]
