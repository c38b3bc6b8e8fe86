"""The operations dashboard in a real browser: the entity inspector's history chart (from the
temporal API), the language switch, keyboard-only use, every page free of console errors with a
screenshot at desktop and phone width."""

from __future__ import annotations

import pytest
from conftest import PHONE, shelter

SHELTER = "urn:ngsi-ld:EvacuationShelter:010"


def test_entity_inspector_shows_a_history_chart(town, visit):
    town.create(shelter(10, 300, 20, 135.46, 34.84))
    for evacuees in (60, 140, 210):
        town.patch(SHELTER, {"evacueeTotal": {"type": "Property", "value": evacuees}})
    v = visit()
    page = v.login(town.official, then="/dashboard?type=EvacuationShelter")
    page.get_by_role("button", name=SHELTER).click()
    page.wait_for_selector("#history-chart[data-series] canvas")
    assert int(page.get_attribute("#history-chart", "data-series")) >= 1
    assert page.locator("#inspector-attrs th", has_text="evacueeTotal").count() == 1
    v.screenshot("dashboard-inspector")
    assert v.errors == []


def test_language_switch_turns_the_page_english_and_back(town, visit):
    page = visit().login(town.official, then="/dashboard")
    assert page.get_attribute("html", "lang") == "ja"
    assert page.text_content("h1") == "運用ダッシュボード"
    page.click("#lang-switch")
    page.wait_for_selector("html[lang=en]")
    assert page.text_content("h1") == "Operations dashboard"
    page.click("#lang-switch")
    page.wait_for_selector("html[lang=ja]")
    assert page.url.endswith("/dashboard")


def test_keyboard_alone_reaches_every_control_of_the_dashboard(town, visit):
    page = visit().login(town.official, then="/dashboard")
    page.wait_for_selector("#type option >> nth=0", state="attached")
    controls = page.eval_on_selector_all(
        "header a, header button, #filter select, #filter input, #filter button",
        "nodes => nodes.filter(n => !n.hidden).map(n => n.id || n.getAttribute('href') || n.textContent.trim())")
    reached = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.add(page.evaluate(
            "() => { const n = document.activeElement; return n.id || n.getAttribute('href') || n.textContent.trim(); }"))
    assert set(controls) <= reached


def test_the_skip_link_is_the_first_stop_and_moves_to_the_content(town, visit):
    page = visit().login(town.official, then="/dashboard")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


PAGES = [("home", "/"), ("portal", "/portal"), ("dashboard", "/dashboard?type=EvacuationShelter"),
         ("hq", "/dashboard/hq"), ("console", "/admin/console"), ("login", "/web/login")]


@pytest.mark.parametrize(("name", "path"), PAGES)
def test_page_renders_without_console_errors_at_desktop_and_phone_width(town, visit, name, path):
    town.create(shelter(11, 100, 70, 135.48, 34.82, district="西地区"))
    for width, viewport in (("desktop", None), ("phone", PHONE)):
        v = visit(viewport) if viewport else visit()
        v.login(town.admin, then="/")
        page = v.open(path)
        if name in ("dashboard", "hq", "portal"):
            page.wait_for_selector("body[data-loaded]")
            page.wait_for_selector("#map[data-points]")
        if name == "console":
            page.wait_for_selector("#tenants li")
        v.screenshot(f"{name}-{width}")
        assert v.errors == [], f"{path} at {width} width"
        if viewport:
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} is wider than a phone"
