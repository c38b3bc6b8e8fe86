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


def prop(value) -> dict:
    return {"type": "Property", "value": value}


def test_hq_view_shows_orders_by_district_support_counts_supplies_and_sensor_thresholds(town, visit):
    shelter_id = "urn:ngsi-ld:EvacuationShelter:020"
    town.create(
        shelter(20, 100, 40, 135.44, 34.81, district="北地区"),
        {"id": "urn:ngsi-ld:EvacuationOrder:1", "type": "EvacuationOrder", "category": prop("避難指示"),
         "content": prop("土砂災害のおそれ"), "targetDistricts": prop(["北地区"]), "issuedAt": prop("2026-07-08T09:00:00Z")},
        *({"id": f"urn:ngsi-ld:Evacuee:{n}", "type": "Evacuee", "needsSupport": prop(n < 2),
           "shelter": {"type": "Relationship", "object": shelter_id}} for n in range(3)),
        {"id": "urn:ngsi-ld:SupplyStock:water", "type": "SupplyStock", "item": prop("飲料水"),
         "standardStock": prop(200), "remaining": prop(50), "shelter": {"type": "Relationship", "object": shelter_id}},
        {"id": "urn:ngsi-ld:FloodMonitoring:river", "type": "FloodMonitoring", "name": prop("猪名川水位"),
         "currentLevel": prop(3.4), "alertLevel": prop(2.5), "dangerLevel": prop(3.2)})
    v = visit()
    page = v.login(town.official, then="/dashboard/hq")
    row = page.locator(f'tr[data-id="{shelter_id}"]')
    row.locator("td.support", has_text="2").wait_for()
    assert page.locator("#orders tr.in-force th", has_text="北地区").count() == 1
    assert page.locator("#supplies tr.short", has_text="飲料水").count() == 1
    assert page.get_attribute('#sensors tr[data-id="urn:ngsi-ld:FloodMonitoring:river"]', "data-status") == "danger"
    assert v.errors == []


def test_a_new_person_needing_support_is_counted_without_reload(town, visit):
    shelter_id = "urn:ngsi-ld:EvacuationShelter:021"
    town.create(shelter(21, 100, 5, 135.52, 34.80))
    page = visit().login(town.official, then="/dashboard/hq")
    page.wait_for_selector("#live-status[data-state=on]")
    page.locator(f'tr[data-id="{shelter_id}"] td.support', has_text="0").wait_for()
    town.create({"id": "urn:ngsi-ld:Evacuee:new", "type": "Evacuee", "needsSupport": prop(True),
                 "shelter": {"type": "Relationship", "object": shelter_id}})
    page.locator(f'tr[data-id="{shelter_id}"] td.support', has_text="1").wait_for()


def test_a_deleted_shelter_leaves_the_table_and_the_map_without_reload(town, visit):
    town.create(shelter(40, 100, 10, 135.45, 34.83), shelter(41, 100, 10, 135.46, 34.84))
    v = visit()
    page = v.login(town.official, then="/dashboard/hq")
    page.wait_for_selector("#live-status[data-state=on]")
    page.wait_for_selector('tr[data-id="urn:ngsi-ld:EvacuationShelter:041"]')
    page.wait_for_selector("#map[data-points]")
    points = int(page.get_attribute("#map", "data-points"))
    assert town.http.delete("/ngsi-ld/v1/entities/urn:ngsi-ld:EvacuationShelter:041").status_code == 204
    page.wait_for_selector('tr[data-id="urn:ngsi-ld:EvacuationShelter:041"]', state="detached")
    page.wait_for_selector(f"#map[data-points='{points - 1}']")
    assert v.errors == []


def test_a_policy_rule_applies_to_the_open_hq_view_at_once(town, visit):
    """A rule denying the operators Evacuee: they leave the open view's count; the rule deleted, they
    come back (the stream's `changed`: read again) — no reload either way."""
    shelter_id = "urn:ngsi-ld:EvacuationShelter:031"
    town.create(shelter(31, 100, 5, 135.54, 34.82),
                {"id": "urn:ngsi-ld:Evacuee:ruled", "type": "Evacuee", "needsSupport": prop(True),
                 "shelter": {"type": "Relationship", "object": shelter_id}})
    v = visit()
    page = v.login(town.official, then="/dashboard/hq")
    page.wait_for_selector("#live-status[data-state=on]")
    support = page.locator(f'tr[data-id="{shelter_id}"] td.support')
    support.filter(has_text="1").wait_for()
    r = town.http.post("/admin/auth/policies", json={"effect": "deny", "principals": ["role:operator"],
                                                     "actions": ["read"], "types": ["Evacuee"]})
    assert r.status_code == 201, r.text
    support.filter(has_text="0").wait_for()
    assert town.http.delete(f"/admin/auth/policies/{r.json()['id']}").status_code == 204
    support.filter(has_text="1").wait_for()
    assert v.errors == []

def test_people_become_personal_data_and_leave_the_count_without_reload(town, visit):
    """Rights changed without an entity changing (here the town declares Evacuee personal data: an
    operator holding no consent may no longer see them): the open HQ view drops them at once. Last in
    the module, since the declaration hides every Evacuee from the official from then on."""
    shelter_id = "urn:ngsi-ld:EvacuationShelter:030"
    town.create(shelter(30, 100, 5, 135.53, 34.81),
                {"id": "urn:ngsi-ld:Evacuee:declared", "type": "Evacuee", "needsSupport": prop(True),
                 "person": prop("urn:ngsi-ld:Person:taro"), "shelter": {"type": "Relationship", "object": shelter_id}})
    v = visit()
    page = v.login(town.official, then="/dashboard/hq")
    page.wait_for_selector("#live-status[data-state=on]")
    page.locator(f'tr[data-id="{shelter_id}"] td.support', has_text="1").wait_for()
    r = town.http.post("/consent/declarations", json={"id": "evacuees", "type": "Evacuee", "subject": "person",
                                                      "entityPersonal": True,
                                                      "attributes": {"needsSupport": "sensitive", "person": "personal"}})
    assert r.status_code == 201, r.text
    page.locator(f'tr[data-id="{shelter_id}"] td.support', has_text="0").wait_for()
    assert v.errors == []
