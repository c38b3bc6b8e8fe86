"""Every page checked with axe-core (vendored for the tests only: tests/web/vendor/, refreshed by
scripts/refresh-test-assets.sh) in Japanese and English (the residents' pages at phone width too),
once its data has arrived: no violation
of serious or critical impact (WCAG 2.x A/AA rules and axe's best practices)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from conftest import AXE, DESKTOP, PASSWORD, PHONE, RESIDENT, serious, shelter

# what shows a page has drawn what it reads
RESIDENT_PAGES = {"/": "main h1", "/portal": "body[data-loaded]", "/portal/me": "#greeting",
                  "/portal/me/consents": "body[data-loaded] #offers li.consent",
                  "/portal/me/access-log": "body[data-loaded]", "/portal/me/data": "body[data-loaded]",
                  "/dashboard": "main h1",  # a resident is refused: the refusal page
                  "/portal/callback?state=stale": "#signin-reason"}
OFFICIAL_PAGES = {"/dashboard?type=EvacuationShelter": "#map[data-points]", "/dashboard/hq": "#map[data-points]",
                  "/admin/console": "#tenants li"}
LOCALES = {"ja": "ja-JP", "en": "en-US"}
# the refusal page, the failed sign-in page and the wrong password are answered 403, 400 and 401, which
# Chromium reports
EXPECTED = {f"Failed to load resource: the server responded with a status of {status} ({reason})"
            for status, reason in ((403, "Forbidden"), (400, "Bad Request"), (401, "Unauthorized"))}


def checked(v, path: str, ready: str, shot: str) -> dict:
    """The serious violations of one page, by path (and its screenshot, in test-output/web/)."""
    v.page.goto(path)
    v.page.wait_for_selector(ready, state="attached")
    v.screenshot(f"{shot}-{urlsplit(v.page.url).path.strip('/').replace('/', '-') or 'home'}")
    return {v.page.url: found} if (found := serious(v.page)) else {}


@pytest.fixture(scope="module")
def shelters(town):
    town.create(shelter(90, 100, 20, 135.46, 34.81), shelter(91, 50, 45, 135.47, 34.82))


@pytest.mark.parametrize(("lang", "width"), [("ja", "desktop"), ("en", "desktop"), ("ja", "phone")])
def test_the_residents_pages_have_no_serious_accessibility_violations(town, provider, shelters, visit, lang, width):
    v = visit(viewport=PHONE if width == "phone" else DESKTOP, locale=LOCALES[lang])
    v.context.add_init_script(path=str(AXE))
    shot = f"a11y-{lang}-{width}"
    found = checked(v, "/portal/me", "#resident-id", shot)  # the provider's sign-in form
    v.page.fill("#resident-id", "hanako")  # a wrong password: the form again, with its error
    v.page.fill("#password", "not the password")
    v.page.click("button[type=submit]")
    v.page.wait_for_selector("#sign-in-error")
    if failed := serious(v.page):
        found[v.page.url + " (wrong password)"] = failed
    v.page.fill("#resident-id", RESIDENT)
    v.page.fill("#password", PASSWORD)
    v.page.click("button[type=submit]")
    v.page.wait_for_url("**/portal/me")
    for path, ready in RESIDENT_PAGES.items():
        found.update(checked(v, path, ready, shot))
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)
    assert [e for e in v.errors if e not in EXPECTED] == []


@pytest.mark.parametrize("lang", LOCALES)
def test_the_officials_pages_have_no_serious_accessibility_violations(town, shelters, visit, lang):
    v = visit(locale=LOCALES[lang])
    v.context.add_init_script(path=str(AXE))
    shot = f"a11y-{lang}-desktop"
    found = checked(v, "/web/login?next=/admin/console", "#api-key", shot)
    v.page.fill("#api-key", town.admin)
    v.page.click("form.stack button[type=submit]")
    v.page.wait_for_url("**/admin/console")
    for path, ready in OFFICIAL_PAGES.items():
        found.update(checked(v, path, ready, shot))
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)
    assert v.errors == []
