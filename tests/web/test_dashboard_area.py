"""The dashboard's filters in a real browser: a type whose GeoProperty is not `location` is drawn by
that property, and the entities are narrowed to a district (q) and to an area (a geo-query within
the box: the URL's, or the map's view); and, live, an entity added inside the area appears, moved out
of it or no longer matching q it is gone, without a reload (the live stream's `removed` event). Consent
revoked → gone is in test_mydata.py (the care service's dashboard)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import Visit, prop

NORTH, SOUTH = "urn:ngsi-ld:WasteBin:north", "urn:ngsi-ld:WasteBin:south"
INSIDE, OTHER = "urn:ngsi-ld:Hydrant:inside", "urn:ngsi-ld:Hydrant:other"
AREA = "135.3,34.7,135.5,34.85"  # west, south, east, north


def waste_bin(entity_id: str, lon: float, lat: float, district: str) -> dict:
    return {"id": entity_id, "type": "WasteBin", "district": prop(district), "fillingLevel": prop(0.5),
            "position": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}}


@pytest.fixture(scope="module")
def bins(town):
    town.create(waste_bin(NORTH, 135.40, 34.80, "北地区"), waste_bin(SOUTH, 135.60, 34.90, "南地区"))


def listed(page) -> list[str]:
    return page.eval_on_selector_all("#entity-list tr td:first-child", "cells => cells.map(c => c.textContent)")


def test_a_type_is_drawn_by_its_own_geoproperty(town, bins, visit):
    page = visit().login(town.official, then="/dashboard?type=WasteBin")
    page.wait_for_selector("#map[data-points='2']")
    assert page.eval_on_selector_all("#geoprop option", "os => os.map(o => o.value)") == ["position"]
    assert sorted(listed(page)) == [NORTH, SOUTH]


def test_the_district_filter_keeps_only_that_district(town, bins, visit):
    page = visit().login(town.official, then="/dashboard?type=WasteBin")
    page.wait_for_selector("body[data-loaded='2']")
    page.fill("#district", "南地区")
    page.click("#filter button[type=submit]")
    page.wait_for_selector("body[data-loaded='1']")
    assert listed(page) == [SOUTH]
    assert parse_qs(urlsplit(page.url).query)["district"] == ["南地区"]


def test_an_area_in_the_url_keeps_only_what_lies_within(town, bins, visit):
    v = visit()
    page = v.login(town.official, then="/dashboard")
    page.goto("/dashboard?type=WasteBin&geoprop=position&bbox=135.3,34.7,135.5,34.85")
    page.wait_for_selector("body[data-loaded='1']")
    assert listed(page) == [NORTH]
    assert page.get_attribute("#area", "data-bbox") == "135.3,34.7,135.5,34.85"
    page.click("#area-clear")
    page.wait_for_selector("body[data-loaded='2']")
    assert "bbox" not in parse_qs(urlsplit(page.url).query)
    assert v.errors == []


def test_the_area_in_view_becomes_the_filter(town, bins, visit):
    page = visit().login(town.official, then="/dashboard?type=WasteBin")
    page.wait_for_selector("#map[data-points='2']")
    page.click("#area-view")
    page.wait_for_selector("#area[data-bbox*=',']")
    west, south, east, north = map(float, page.get_attribute("#area", "data-bbox").split(","))
    assert west < 135.40 < 135.60 < east and south < 34.80 < 34.90 < north  # the map was fitted to both
    page.wait_for_selector("body[data-loaded='2']")
    assert sorted(listed(page)) == [NORTH, SOUTH]


# -- live: what leaves the filtered view leaves the page --------------------------------------------

def hydrant(entity_id: str, lon: float, lat: float, status: str = "ok") -> dict:
    return {"id": entity_id, "type": "Hydrant", "status": prop(status),
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}}


def moved(lon: float, lat: float) -> dict:
    return {"location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}}


@pytest.fixture(scope="module")
def filtered(town, browser):
    """One official's dashboard, filtered to the area and q=status=="ok", open for the live tests."""
    town.create(hydrant(INSIDE, 135.40, 34.80))
    v = Visit(browser, town.url)
    page = v.login(town.official, then="/dashboard")
    page.goto(f"/dashboard?type=Hydrant&bbox={AREA}&q=status%3D%3D%22ok%22")
    page.wait_for_selector("body[data-loaded='1']")
    page.wait_for_selector("#live-status[data-state=on]")
    yield v
    v.close()


def test_live_an_entity_added_in_the_area_appears_and_moved_out_of_it_is_gone(town, filtered):
    page = filtered.page
    town.create(hydrant(OTHER, 135.45, 34.82))
    page.wait_for_selector("#map[data-points='2']")
    assert sorted(listed(page)) == [INSIDE, OTHER]

    town.patch(OTHER, moved(135.70, 34.95))  # out of the area
    page.wait_for_selector("#map[data-points='1']")
    assert listed(page) == [INSIDE]

    town.patch(OTHER, moved(135.41, 34.81))  # back in: shown again
    page.wait_for_selector("#map[data-points='2']")
    assert filtered.errors == []


def test_live_an_entity_no_longer_matching_q_is_gone(town, filtered):
    page = filtered.page
    page.wait_for_selector(f"#entity-list button:text('{INSIDE}')")
    town.patch(INSIDE, {"status": prop("broken")})
    page.wait_for_function("id => ![...document.querySelectorAll('#entity-list button')]"
                           ".some(b => b.textContent === id)", arg=INSIDE)
    assert INSIDE not in listed(page)
    assert filtered.errors == []
