"""CSV -> entities -> CSV through the admin API (authentication off, loopback): the standard
datasets, precise row errors that write nothing, Shift_JIS, idempotent re-imports and pruning."""

from __future__ import annotations

import pytest
from catalogue_samples import csv_bytes, full_row, read_csv

from toshi.catalogue import standards as std

ADMIN = "/catalogue/admin/datasets"


def imported(client, name: str, data: bytes, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in {"confirm": "true", **params}.items())
    r = client.post(f"{ADMIN}/{name}/import?{query}", content=data)
    assert r.status_code == 200, r.text
    return r.json()


def entities(client, entity_type: str) -> list[dict]:
    r = client.get("/ngsi-ld/v1/entities", params={"type": entity_type, "limit": 1000, "options": "keyValues"})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("standard", list(std.STANDARDS.values()), ids=lambda s: s.number)
def test_a_standard_dataset_comes_back_with_the_same_columns(client, standard):
    rows = [full_row(standard, n) for n in range(3)]
    report = imported(client, "data", csv_bytes(standard.headers, rows))
    assert report["standard"] == standard.id and report["changes"]["created"] == 3
    assert client.post(f"{ADMIN}/data/open").status_code == 200
    table = read_csv(client.get("/catalogue/datasets/data.csv").content)
    assert table[0] == standard.headers
    assert table[1:] == [[row[h] for h in standard.headers] for row in rows]


def test_the_standard_is_recognised_by_the_headers(client, shelters_csv):
    report = imported(client, "shelters", shelters_csv(), confirm="false")
    assert (report["standard"], report["type"], report["written"]) == \
        ("jp-standard-03-evacuation-sites", "EvacuationSite", False)


def test_rows_become_typed_entities(client, shelters_csv):
    imported(client, "shelters", shelters_csv(1))
    [site] = entities(client, "EvacuationSite")
    assert site["id"] == "urn:ngsi-ld:EvacuationSite:273619:000"
    assert site["location"] == {"type": "Point", "coordinates": [135.47, 34.82]}
    assert site["maxCapacity"] == 120
    assert site["hazardTypes"] == ["flood", "landslide", "stormSurge", "earthquake", "tsunami", "greatFire",
                                   "inlandFlood", "eruption"]
    assert site["targetAreas"] == ["余野", "川尻"]


def test_errors_name_the_row_and_column_and_nothing_is_written(client):
    standard = std.EVENTS
    rows = [full_row(standard, n) for n in range(4)]
    rows[1]["開始日"] = "来週の月曜"
    rows[2]["緯度"] = "51.5"
    rows[3]["定員"] = "たくさん"
    r = client.post(f"{ADMIN}/events/import?confirm=true", content=csv_bytes(standard.headers, rows))
    assert r.status_code == 400
    errors = [(e["row"], e["column"]) for e in r.json()["errors"]]
    assert errors == [(3, "開始日"), (4, "緯度"), (5, "定員")]
    assert entities(client, "Event") == []


def test_a_required_cell_left_empty_is_an_error(client):
    rows = [full_row(std.AED, 0)]
    rows[0]["設置位置"] = ""
    report = imported(client, "aed", csv_bytes(std.AED.headers, rows), confirm="false")
    assert [(e["row"], e["column"], e["message"]) for e in report["errors"]] == [(2, "設置位置", "is required")]


def test_a_missing_required_column_is_reported_on_the_header_row(client):
    dataset = {"name": "aed", "type": "AEDLocation", "standard": "jp-standard-08-aed"}
    assert client.post(ADMIN, json=dataset).status_code == 201
    headers = [h for h in std.AED.headers if h != "設置位置"]
    r = client.post(f"{ADMIN}/aed/import?confirm=true", content=csv_bytes(headers, [full_row(std.AED, 0)]))
    assert r.status_code == 400
    assert [(e["row"], e["column"], e["message"]) for e in r.json()["errors"]] == \
        [(1, "設置位置", "required column is missing")]


def test_a_row_number_counts_the_lines_of_the_file(client):
    rows = [full_row(std.EVACUATION_SITES, n) for n in range(3)]
    rows[2]["経度"] = "abc"
    data = csv_bytes(std.EVACUATION_SITES.headers, rows[:2]) + b",,,\r\n" + \
        csv_bytes(std.EVACUATION_SITES.headers, rows[2:]).split(b"\r\n", 1)[1]
    report = imported(client, "shelters", data, confirm="false")
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(5, "経度")]


def test_the_same_id_twice_is_an_error(client, shelters_csv):
    report = imported(client, "shelters", shelters_csv(2, ID="007"), confirm="false")
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(3, "ID")]


def test_shift_jis_is_read(client, shelters_csv):
    report = imported(client, "shelters", shelters_csv(2, encoding="cp932"))
    assert report["encoding"] == "cp932" and report["changes"]["created"] == 2
    assert {e["name"] for e in entities(client, "EvacuationSite")} == {"名称0", "名称1"}


def test_japanese_dates_are_stored_as_iso_dates(client):
    rows = [full_row(std.EVENTS, 0)]
    rows[0]["開始日"], rows[0]["終了日"] = "令和6年4月1日", "2024/4/3"
    imported(client, "events", csv_bytes(std.EVENTS.headers, rows))
    [event] = entities(client, "Event")
    assert (event["startDate"], event["endDate"]) == ("2024-04-01", "2024-04-03")


def test_reimporting_changes_only_what_changed(client, shelters_csv):
    imported(client, "shelters", shelters_csv(3))
    rows = [full_row(std.EVACUATION_SITES, n) for n in range(3)]
    rows[1]["想定収容人数"] = "300"
    report = imported(client, "shelters", csv_bytes(std.EVACUATION_SITES.headers, rows))
    assert report["changes"] == {"created": 0, "updated": 1, "unchanged": 2, "deleted": 0, "failed": 0}
    assert sorted(e["maxCapacity"] for e in entities(client, "EvacuationSite")) == [120, 120, 300]


def test_reimporting_keeps_attributes_the_csv_does_not_hold(client, shelters_csv):
    imported(client, "shelters", shelters_csv(1))
    site = "urn:ngsi-ld:EvacuationSite:273619:000"
    r = client.post(f"/ngsi-ld/v1/entities/{site}/attrs", json={"occupancy": {"type": "Property", "value": 42}})
    assert r.status_code == 204, r.text
    imported(client, "shelters", shelters_csv(1, **{"想定収容人数": "200"}))
    [found] = entities(client, "EvacuationSite")
    assert (found["occupancy"], found["maxCapacity"]) == (42, 200)


def test_an_emptied_cell_removes_its_attribute(client, shelters_csv):
    imported(client, "shelters", shelters_csv(1))
    imported(client, "shelters", shelters_csv(1, **{"電話番号": ""}))
    [found] = entities(client, "EvacuationSite")
    assert "telephone" not in found


def test_prune_deletes_the_entities_whose_row_has_gone(client, shelters_csv):
    imported(client, "shelters", shelters_csv(3))
    report = imported(client, "shelters", shelters_csv(2), prune="true")
    assert report["changes"]["deleted"] == 1
    assert len(entities(client, "EvacuationSite")) == 2


def test_without_prune_vanished_rows_stay(client, shelters_csv):
    imported(client, "shelters", shelters_csv(3))
    imported(client, "shelters", shelters_csv(2))
    assert len(entities(client, "EvacuationSite")) == 3


def test_extra_columns_are_kept_and_come_back(client):
    headers = [*std.AED.headers, "管理番号"]
    rows = [{**full_row(std.AED, 0), "管理番号": "A-17"}]
    imported(client, "aed", csv_bytes(headers, rows))
    client.post(f"{ADMIN}/aed/open")
    table = read_csv(client.get("/catalogue/datasets/aed.csv").content)
    assert table[0] == headers and table[1][-1] == "A-17"


def test_a_towns_own_csv_is_imported_by_its_column_mapping(client):
    dataset = {"name": "benches", "type": "Bench", "id_column": "番号",
               "columns": {"番号": "benchId", "場所": "name", "設置日": "installed:date", "緯度": "location:latitude",
                           "経度": "location:longitude", "席数": "seats:integer"}}
    assert client.post(ADMIN, json=dataset).status_code == 201
    data = csv_bytes(["番号", "場所", "設置日", "緯度", "経度", "席数"],
                     [{"番号": "B1", "場所": "役場前", "設置日": "令和5年3月1日", "緯度": "34.9", "経度": "135.5", "席数": "3"}])
    report = imported(client, "benches", data)
    assert report["changes"]["created"] == 1
    [bench] = entities(client, "Bench")
    assert (bench["id"], bench["installed"], bench["seats"]) == ("urn:ngsi-ld:Bench:B1", "2023-03-01", 3)


def test_a_file_of_no_known_standard_is_refused_without_a_mapping(client):
    r = client.post(f"{ADMIN}/unknown/import", content=csv_bytes(["a", "b"], [{"a": "1", "b": "2"}]))
    assert r.status_code == 400 and "column mapping" in r.json()["detail"]
