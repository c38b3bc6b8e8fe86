"""The OpenID Connect provider's sign-in page in a real browser: the portal's stylesheet (large text),
Japanese first with English below, a resident's short name accepted, and plain-word errors."""

from __future__ import annotations

from conftest import PASSWORD, RESIDENT


def open_form(visit):
    v = visit()
    v.page.goto("/portal/me")
    v.page.wait_for_selector("#resident-id")
    return v


def test_a_resident_signs_in_with_the_short_name(town, provider, visit):
    v = open_form(visit)
    v.page.fill("#resident-id", "hanako")
    v.page.fill("#password", PASSWORD)
    v.page.click("button[type=submit]")
    v.page.wait_for_url("**/portal/me")
    v.page.wait_for_selector("#greeting")
    assert v.errors == []


def test_the_sign_in_page_uses_the_portals_stylesheet_with_large_text(town, provider, visit):
    v = open_form(visit)
    sizes = v.page.evaluate("""() => [getComputedStyle(document.body).fontSize,
        getComputedStyle(document.querySelector('#resident-id')).fontSize]""")
    assert sizes == ["20px", "26px"]
    assert v.page.locator("label[for=resident-id]").inner_text() == "住民ID\nResident ID"
    assert v.errors == []


def test_a_wrong_password_is_explained_in_plain_words_and_the_name_kept(town, provider, visit):
    v = open_form(visit)
    v.page.fill("#resident-id", "hanako")
    v.page.fill("#password", "not the password")
    v.page.click("button[type=submit]")
    alert = v.page.wait_for_selector("#sign-in-error")
    assert alert.get_attribute("role") == "alert"
    assert alert.inner_text().startswith("住民ID かパスワードが違います。もう一度、ゆっくり入力してください。")
    assert v.page.input_value("#resident-id") == "hanako"
    assert v.page.input_value("#password") == ""


def test_a_short_name_matching_two_accounts_asks_for_the_whole_id(town, provider, visit):
    for resident_id in ("jiro", "urn:ngsi-ld:Person:jiro"):
        r = town.http.post("/admin/auth/residents", json={"id": resident_id, "name": "次郎", "assurance": "email",
                                                          "password": PASSWORD})
        assert r.status_code == 201, r.text
    v = open_form(visit)
    v.page.fill("#resident-id", "jiro")
    v.page.fill("#password", PASSWORD)
    v.page.click("button[type=submit]")
    alert = v.page.wait_for_selector("#sign-in-error")
    assert alert.inner_text().startswith("この短い名前では、どの住民ID か決められません。")
    assert "/oidc/authorize" in v.page.url


def test_the_whole_resident_id_still_signs_in(town, provider, visit):
    v = open_form(visit)
    v.page.fill("#resident-id", RESIDENT)
    v.page.fill("#password", PASSWORD)
    v.page.click("button[type=submit]")
    v.page.wait_for_url("**/portal/me")
    v.page.wait_for_selector("#greeting")
