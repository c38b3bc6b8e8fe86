"""The admin console in a real browser: an administrator creates an account through the admin API
with the browser session (the change carries the session's CSRF token) and is shown its new key;
the audit chain is verified; the last backup is shown; personal data is declared and removed."""

from __future__ import annotations

import subprocess
import sys

import httpx


def test_an_administrator_creates_an_account_and_sees_its_key_once(town, visit):
    v = visit()
    page = v.login(town.admin, then="/admin/console")
    page.wait_for_selector("#accounts tr")
    page.fill("#account-name", "shelter-staff")
    page.fill("#account-roles", "default:provider")
    page.click("#account-form button[type=submit]")
    page.wait_for_selector("#new-key:not([hidden])")
    new_key = page.text_content("#new-key-value")
    answer = httpx.get(town.url + "/ngsi-ld/v1/entities?type=EvacuationShelter",
                       headers={"Authorization": f"Bearer {new_key}"})
    assert answer.status_code == 200
    page.wait_for_selector("#accounts td >> text=shelter-staff")
    assert v.errors == []


def test_audit_verification_reports_an_intact_chain(town, visit):
    v = visit()
    page = v.login(town.admin, then="/admin/console")
    page.click("#audit-verify")
    page.wait_for_selector("#audit-result .ok")
    assert v.errors == []


def test_the_console_shows_the_last_backup_made_while_serving(town, visit, tmp_path):
    v = visit()
    page = v.login(town.admin, then="/admin/console")
    page.wait_for_selector("#backup-status dd")
    target = tmp_path / "town.toshi.gz"
    done = subprocess.run([sys.executable, "-m", "toshi.cli", "backup", str(target), "--data-dir",
                           str(town.server.data_dir)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    page.reload()
    page.wait_for_selector("#backup-status[data-last*='T']")
    assert str(target) in page.text_content("#backup-status")
    assert v.errors == []


def test_an_administrator_declares_personal_data_and_removes_the_declaration(town, visit):
    v = visit()
    page = v.login(town.admin, then="/admin/console")
    page.fill("#declaration-json", '{"id": "patients", "type": "Patient", "subject": "patient", '
                                   '"attributes": {"diagnosis": "sensitive", "patient": "personal"}}')
    page.click("#declaration-form button[type=submit]")
    row = page.wait_for_selector("#declarations tr[data-id=patients]")
    assert "diagnosis (sensitive)" in row.text_content()
    assert any(d["id"] == "patients" for d in town.http.get("/consent/declarations").json())
    page.click("#declarations tr[data-id=patients] button")
    page.wait_for_selector("#declarations tr[data-id=patients]", state="detached")
    assert all(d["id"] != "patients" for d in town.http.get("/consent/declarations").json())
    assert v.errors == []


def test_the_console_names_principals_and_keeps_the_full_id_beside_the_name(town, visit):
    admin = next(a for a in town.http.get("/admin/auth/accounts").json() if a["name"] == "admin")
    r = town.http.post("/admin/auth/accounts", json={"name": "防災課", "roles": ["default:operator"]})
    assert r.status_code == 201, r.text  # an audited change made by the admin
    made = r.json()["account"]["id"]
    v = visit()
    page = v.login(town.admin, then="/admin/console")
    row = page.wait_for_selector(f"#audit-records tr[data-principal='{admin['id']}']")
    assert row.query_selector(".who .name").text_content() == "admin"
    assert row.query_selector(".who .id").text_content() == admin["id"]
    account = page.wait_for_selector(f"#accounts tr[data-id='{made}']")
    assert account.query_selector(".who .name").text_content() == "防災課"
    assert account.query_selector(".who .id").text_content() == made
    headers = page.eval_on_selector_all("table:has(#audit-records) th", "ths => ths.map(th => th.textContent)")
    assert headers[2:] == ["だれが", "操作", "結果"]  # in the page's language
    assert v.errors == []


def _shelters_csv(*latitudes: str) -> bytes:
    """A town's CSV of the standard dataset 03 (designated evacuation sites), one row per latitude."""
    import csv
    import io

    from toshi.catalogue.standards import EVACUATION_SITES

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EVACUATION_SITES.headers)
    for n, latitude in enumerate(latitudes):
        cells = {"全国地方公共団体コード": "273619", "ID": f"{n:03d}", "名称": f"避難場所{n}",
                 "所在地_連結表記": "大阪府豊能郡豊能町余野", "緯度": latitude, "経度": "135.47", "災害種別_地震": "1"}
        writer.writerow([cells.get(h, "") for h in EVACUATION_SITES.headers])
    return buffer.getvalue().encode()


def _choose(page, dataset: str, data: bytes) -> None:
    page.fill("#import-dataset", dataset)
    page.set_input_files("#import-file", files=[{"name": "shelters.csv", "mimeType": "text/csv", "buffer": data}])
    page.click("#import-form button[type=submit]")


def test_a_csv_with_errors_is_reported_by_row_and_column_and_nothing_is_written(town, visit):
    v = visit()
    page = v.login(town.admin, then="/admin/console/import")
    _choose(page, "bad-shelters", _shelters_csv("34.82", "99.5"))
    row = page.wait_for_selector("#import-errors tr[data-row='3'][data-column='緯度']")
    assert "99.5" in row.text_content()
    assert page.is_hidden("#import-confirm")
    assert page.get_attribute("#import-verdict", "class") == "error"
    assert town.http.get("/catalogue/admin/datasets/bad-shelters").status_code == 404
    assert v.errors == []


def test_a_valid_csv_is_written_only_once_the_official_confirms(town, visit):
    v = visit()
    page = v.login(town.admin, then="/admin/console/import")
    _choose(page, "console-shelters", _shelters_csv("34.82", "34.83"))
    page.wait_for_selector("#import-verdict.ok")
    query = {"type": "EvacuationSite", "options": "keyValues"}
    assert town.http.get("/ngsi-ld/v1/entities", params=query).json() == []  # checked, not written
    page.click("#import-confirm")
    page.wait_for_selector("#import-written.ok")
    names = {e["name"] for e in town.http.get("/ngsi-ld/v1/entities", params=query).json()}
    assert names == {"避難場所0", "避難場所1"}
    assert town.http.get("/catalogue/admin/datasets/console-shelters").status_code == 200
    assert v.errors == []
