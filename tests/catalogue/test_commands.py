"""`toshi dataset ...` and `toshi import` on a stopped server's data."""

from __future__ import annotations

import asyncio
import json

from catalogue_samples import csv_bytes, full_row

from toshi.audit import audit_log_of
from toshi.catalogue import standards as std


def test_create_list_show_delete(toshi):
    code, out, _ = toshi("dataset", "create", "benches", "--type", "Bench", "--title-ja", "ベンチ", "--attrs", "name")
    assert code == 0 and json.loads(out)["title"] == {"ja": "ベンチ"}
    assert toshi("dataset", "list")[1].split("\t")[:3] == ["benches", "closed", "Bench"]
    assert json.loads(toshi("dataset", "show", "benches")[1])["attrs"] == ["name"]
    assert toshi("dataset", "delete", "benches")[0] == 0
    assert toshi("dataset", "show", "benches")[0] == 1


def test_a_bad_dataset_is_refused(toshi):
    code, _, err = toshi("dataset", "create", "Bad Name", "--type", "Bench")
    assert code == 2 and "name must be" in err


def test_import_writes_through_the_write_path(tmp_path, toshi, opener):
    source = tmp_path / "aed.csv"
    source.write_bytes(csv_bytes(std.AED.headers, [full_row(std.AED, 0)], "cp932"))
    code, out, _ = toshi("import", str(source), "--dataset", "aed")
    assert code == 0 and json.loads(out)["changes"]["created"] == 1
    store = opener(tmp_path / "data" / "toshi.db")
    try:  # the Writer's listeners ran: the audit trail holds the write, with its entity
        writes = [r for r in audit_log_of(store).records(limit=100) if r["operation"] == "write"]
        assert [r["target"] for r in writes] == ["urn:ngsi-ld:AEDLocation:273619:000"]
    finally:
        asyncio.run(store.close())


def test_a_dry_run_writes_nothing(tmp_path, toshi):
    source = tmp_path / "aed.csv"
    source.write_bytes(csv_bytes(std.AED.headers, [full_row(std.AED, 0)]))
    code, out, _ = toshi("import", str(source), "--dataset", "aed", "--dry-run")
    assert code == 0 and json.loads(out)["written"] is False
    assert toshi("dataset", "show", "aed")[0] == 1


def test_an_invalid_file_exits_1_with_its_errors(tmp_path, toshi):
    row = {**full_row(std.AED, 0), "経度": "200"}
    source = tmp_path / "aed.csv"
    source.write_bytes(csv_bytes(std.AED.headers, [row]))
    code, out, _ = toshi("import", str(source), "--dataset", "aed")
    assert code == 1 and [(e["row"], e["column"]) for e in json.loads(out)["errors"]] == [(2, "経度")]
