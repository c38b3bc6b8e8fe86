"""The admin console in a real browser: an administrator creates an account through the admin API
with the browser session (the change carries the session's CSRF token) and is shown its new key."""

from __future__ import annotations

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
