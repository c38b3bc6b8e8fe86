"""The disaster HQ view in a real browser: an official logs in, opens it, and sees a shelter's colour
change on the map when its occupancy is updated through the NGSI-LD API — without a reload."""

from __future__ import annotations

from conftest import PHONE, shelter

COLOURS = {"vacant": "#1a7f37", "full": "#c92a2a"}  # toshi/web/static/js/map.js


def test_shelter_colour_follows_an_occupancy_update_without_reload(town, visit):
    town.create(shelter(1, 100, 10, 135.45, 34.83), shelter(2, 100, 50, 135.50, 34.86))
    page = visit().login(town.official, then="/dashboard/hq")
    page.wait_for_selector("#live-status[data-state=on]")
    row = page.locator('tr[data-id="urn:ngsi-ld:EvacuationShelter:001"]')
    assert row.get_attribute("data-level") == "vacant"
    drawn = "([id, colour]) => window.ToshiMaps.map.colourOf(id) === colour"
    page.wait_for_function(drawn, arg=["urn:ngsi-ld:EvacuationShelter:001", COLOURS["vacant"]])
    navigations = page.evaluate("performance.getEntriesByType('navigation').length")

    town.patch("urn:ngsi-ld:EvacuationShelter:001", {"evacueeTotal": {"type": "Property", "value": 95}})

    page.wait_for_function(drawn, arg=["urn:ngsi-ld:EvacuationShelter:001", COLOURS["full"]])
    assert row.get_attribute("data-level") == "full"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == navigations


def test_hq_view_has_no_console_errors_at_desktop_and_phone_width(town, visit):
    town.create(shelter(3, 200, 130, 135.47, 34.85, district="東地区", staffInCharge="山田"))
    for name, viewport in (("desktop", None), ("phone", PHONE)):
        v = visit(viewport) if viewport else visit()
        page = v.login(town.official, then="/dashboard/hq")
        page.wait_for_selector('tr[data-id="urn:ngsi-ld:EvacuationShelter:003"][data-level="crowded"]')
        page.wait_for_selector("#map[data-points]")
        v.screenshot(f"hq-{name}")
        assert v.errors == []
