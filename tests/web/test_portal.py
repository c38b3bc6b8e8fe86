"""The resident portal in a real browser, read as an anonymous resident (the town's open data): the
evacuation orders of the chosen district, and the services with their deep links."""

from __future__ import annotations

from conftest import shelter


def prop(value) -> dict:
    return {"type": "Property", "value": value}


def open_data(town, *types: str) -> None:
    r = town.http.post("/admin/auth/policies", json={"effect": "allow", "principals": ["*"], "actions": ["read"],
                                                      "types": list(types)})
    assert r.status_code == 201, r.text


def test_a_resident_sees_the_orders_of_the_chosen_district_and_the_services(town, visit):
    open_data(town, "EvacuationOrder", "EvacuationShelter", "TownService")
    town.create(
        shelter(30, 100, 10, 135.45, 34.80, district="南地区"),
        {"id": "urn:ngsi-ld:EvacuationOrder:south", "type": "EvacuationOrder", "category": prop("高齢者等避難"),
         "content": prop("大雨のため"), "targetDistricts": prop(["南地区"])},
        {"id": "urn:ngsi-ld:EvacuationOrder:east", "type": "EvacuationOrder", "category": prop("避難指示"),
         "content": prop("河川増水"), "targetDistricts": prop(["東地区"])},
        {"id": "urn:ngsi-ld:TownService:bus", "type": "TownService", "name": prop("オンデマンドバス"),
         "description": prop("予約して乗る町のバス"), "category": prop("交通"), "url": prop("https://bus.example.jp/")})
    v = visit()
    page = v.open("/portal")
    page.wait_for_selector("body[data-loaded]")
    page.select_option("#area", "南地区")
    assert page.locator("#notices article").count() == 1
    assert "大雨のため" in page.text_content("#notices")
    assert page.get_attribute("#services a", "href") == "https://bus.example.jp/"
    v.screenshot("portal-district")
    assert v.errors == []
