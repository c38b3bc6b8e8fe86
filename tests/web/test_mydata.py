"""A resident's "my data" in a real browser: they sign in with their resident ID (Toshi's OpenID
Connect provider), switch a consent ON — the care provider's read of their record then succeeds (in
the API and in the provider's dashboard) and appears on their access-log page — and OFF — the
provider's read is refused again; they download their data as JSON and CSV and ask for erasure."""

from __future__ import annotations

import csv
import io
import json

from conftest import LD, PURPOSE, RECORD, RESIDENT, resident_sign_in


def switch(page):
    return page.locator(f"li.consent[data-purpose='{PURPOSE}'] input[role=switch]")


def state(page):
    return page.locator(f"li.consent[data-purpose='{PURPOSE}'] .state")


def test_a_consent_switched_on_lets_the_provider_read_and_shows_in_the_access_log_and_off_refuses(town, provider,
                                                                                                   visit):
    assert provider.read().status_code == 404  # opt-in: nothing before the resident says yes
    v, page = resident_sign_in(visit, "/portal/me/consents")
    assert not switch(page).is_checked() and state(page).get_attribute("data-on") == "false"
    v.screenshot("my-consents-off")

    switch(page).check()
    page.wait_for_selector(f"li.consent[data-purpose='{PURPOSE}'] .state[data-on=true]")
    assert "ON にしました" in page.text_content("#consent-status")
    read = provider.read()
    assert read.status_code == 200 and read.json()["careLevel"] == 3

    page.goto("/portal/me/access-log")
    row = page.wait_for_selector(f"#access-log tr[data-reader='{provider.id}']")
    assert "豊能町 介護サービス" in row.text_content() and "介護の計画づくり" in row.text_content()
    assert "要介護度、電話番号、住民ID" in row.text_content() and "あなたの同意" in row.text_content()
    v.screenshot("my-access-log")

    page.goto("/portal/me/consents")
    switch(page).wait_for()
    assert switch(page).is_checked()
    switch(page).uncheck()
    page.wait_for_selector(f"li.consent[data-purpose='{PURPOSE}'] .state[data-on=false]")
    assert provider.read().status_code == 404
    page.reload()
    switch(page).wait_for()
    assert not switch(page).is_checked()
    assert v.errors == []


def test_the_resident_downloads_their_data_as_json_and_csv(town, provider, visit, tmp_path):
    v, page = resident_sign_in(visit, "/portal/me/data")
    with page.expect_download() as event:
        page.click("#download-json")
    download = event.value
    assert download.suggested_filename == "my-data.json"
    download.save_as(tmp_path / "my-data.json")
    data = json.loads((tmp_path / "my-data.json").read_bytes())
    assert data["resident"] == RESIDENT and RECORD in [e["id"] for e in data["entities"]]
    with page.expect_download() as event:
        page.click("#download-csv")
    download = event.value
    assert download.suggested_filename == "my-data.csv"
    download.save_as(tmp_path / "my-data.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "my-data.csv").read_text(encoding="utf-8"))))
    assert rows[0] == ["section", "id", "name", "value"]
    care_level = [json.loads(r[3]) for r in rows if r[:3] == ["entity", RECORD, "careLevel"]]
    assert [a["value"] for a in care_level] == [3]
    assert v.errors == []


def test_the_resident_asks_for_erasure_after_confirming(town, provider, visit):
    v, page = resident_sign_in(visit, "/portal/me/data")
    page.fill("#erasure-reason", "引っ越すため")
    page.click("#erasure-ask")
    assert page.evaluate("document.activeElement.id") == "erasure-yes"
    page.click("#erasure-yes")
    page.wait_for_selector("#erasure-requests li[data-status=pending]")
    assert "受け付けました" in page.text_content("#erasure-status")
    r = town.http.get(f"/consent/residents/{RESIDENT}/erasure")
    assert [(e["status"], e["reason"]) for e in r.json()] == [("pending", "引っ越すため")]
    v.screenshot("my-data")
    assert v.errors == []


def test_the_resident_sees_the_official_read_as_town_business(town, provider, visit):
    r = town.http.get(f"/ngsi-ld/v1/entities/{RECORD}", headers=LD)
    assert r.status_code == 200
    v, page = resident_sign_in(visit, "/portal/me/access-log")
    row = page.wait_for_selector("#access-log tr[data-basis=official]")
    assert "町の職員" in row.text_content() and "法律にもとづく町の仕事" in row.text_content()
    assert v.errors == []


def test_keyboard_alone_reaches_the_switch_and_turns_it_on_and_off(town, provider, visit):
    v, page = resident_sign_in(visit, "/portal/me/consents")
    switch(page).wait_for()
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('role')") == "switch":
            break
    assert page.evaluate("document.activeElement.closest('li.consent').dataset.purpose") == PURPOSE
    page.keyboard.press("Space")
    page.wait_for_selector(f"li.consent[data-purpose='{PURPOSE}'] .state[data-on=true]")
    assert provider.read().status_code == 200
    page.keyboard.press("Space")  # the focus stays on the switch
    page.wait_for_selector(f"li.consent[data-purpose='{PURPOSE}'] .state[data-on=false]")
    assert provider.read().status_code == 404
    assert v.errors == []


def test_the_dashboard_read_for_the_purpose_shows_the_record_only_while_the_consent_is_on(town, provider, visit):
    """Live: switched OFF, the record leaves the care service's open dashboard; ON again, it is back."""
    resident, page = resident_sign_in(visit, "/portal/me/consents")
    switch(page).check()
    page.wait_for_selector(f"li.consent[data-purpose='{PURPOSE}'] .state[data-on=true]")
    care = visit()
    dashboard = care.login(provider.key, then="/dashboard")
    dashboard.goto(f"/dashboard?type=CareRecord&purpose={PURPOSE}")
    dashboard.wait_for_selector("body[data-loaded='1']")
    dashboard.click(f"#entity-list button:text('{RECORD}')")
    dashboard.wait_for_selector("#inspector-attrs th:text('careLevel')")
    dashboard.wait_for_selector("#live-status[data-state=on]")
    switch(page).uncheck()
    page.wait_for_selector(f"li.consent[data-purpose='{PURPOSE}'] .state[data-on=false]")
    # without a reload: the live stream says the record left this reader's view
    dashboard.wait_for_selector(f"#entity-list button:text('{RECORD}')", state="detached")
    assert dashboard.locator("#entity-list tr").count() == 0
    assert dashboard.is_hidden("#inspector-body") and dashboard.text_content("#inspector-id") == ""
    switch(page).check()  # switched ON again: it comes back into view, still without a reload
    dashboard.wait_for_selector(f"#entity-list button:text('{RECORD}')")
    assert resident.errors == [] and care.errors == []
