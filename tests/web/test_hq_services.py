"""The HQ view's panel of the watch-over service and the on-demand bus: the counts their entities
(WatchOverService, OnDemandService, VehiclePlan) hold in the store, read through the NGSI-LD API, and
followed live."""

from __future__ import annotations

import json

from conftest import AXE, prop, serious


def services() -> list[dict]:
    stop = {"node": "n1", "action": "pickup", "at": "2026-12-03T07:40:00Z", "load": 1}
    return [
        {"id": "urn:ngsi-ld:WatchOverService:watchover", "type": "WatchOverService", "name": prop("見守り / Watch-over"),
         "watchedResidents": prop(12), "invalidEnrolments": prop(1), "alertsRaised": prop(3),
         "updatedAt": prop("2026-12-03T07:00:00Z")},
        {"id": "urn:ngsi-ld:OnDemandService:mobility", "type": "OnDemandService",
         "name": prop("オンデマンド交通 / On-demand bus"), "requests": prop(9), "assigned": prop(7), "refused": prop(2),
         "vehicles": prop(2), "solveSeconds": prop(0.4), "plannedAt": prop("2026-12-03T07:30:00Z")},
        {"id": "urn:ngsi-ld:VehiclePlan:bus1", "type": "VehiclePlan", "stops": prop([stop, {**stop, "node": "n2"}]),
         "plannedAt": prop("2026-12-03T07:30:00Z")},
        {"id": "urn:ngsi-ld:VehiclePlan:bus2", "type": "VehiclePlan", "stops": prop([stop]),
         "plannedAt": prop("2026-12-03T07:30:00Z")}]


def shown(page, panel: str) -> dict:
    return page.evaluate("""(panel) => Object.fromEntries(Array.from(document.querySelectorAll(panel + " dd"))
        .map((dd) => [dd.dataset.key, dd.textContent]))""", panel)


def test_the_hq_panel_shows_the_services_counts_from_the_store(town, visit):
    town.create(*services())
    page = visit().login(town.official, then="/dashboard/hq")
    page.wait_for_selector("#watch-watchover")
    page.wait_for_selector("#bus-mobility")
    assert shown(page, "#watchover") == {"svc.watched": "12", "svc.alerts": "3", "svc.invalid": "1",
                                         "svc.updated": "2026/12/03 16:00"}  # shown in JST
    assert shown(page, "#ondemand") == {"svc.requests": "9", "svc.assigned": "7", "svc.refused": "2",
                                        "svc.vehicles": "2", "svc.stops": "3", "svc.planned": "2026/12/03 16:30"}


def test_the_hq_panel_follows_a_count_update_without_reload(town, visit):
    town.create(*services())
    page = visit().login(town.official, then="/dashboard/hq")
    page.wait_for_selector("#live-status[data-state=on]")
    page.wait_for_selector('#watchover dd[data-key="svc.watched"]')
    town.patch("urn:ngsi-ld:WatchOverService:watchover", {"watchedResidents": prop(13)})
    page.wait_for_selector('#watchover dd[data-key="svc.watched"]:text-is("13")')


def test_the_dashboard_shows_the_services_counts_from_the_store(town, visit):
    town.create(*services())
    page = visit().login(town.official, then="/dashboard")
    page.wait_for_selector("#ondemand dd")
    pairs = """(id) => Array.from(document.querySelectorAll(id + " dt"))
        .map((dt) => [dt.textContent, dt.nextElementSibling.textContent])"""
    assert page.evaluate(pairs, "#watchover") == [["見守り中の人数", "12"], ["出した通報", "3"], ["登録の不備", "1"],
                                                  ["更新", "2026/12/03 16:00"]]
    assert page.evaluate(pairs, "#ondemand") == [["予約", "9"], ["乗車決定", "7"], ["お断り", "2"], ["車両", "2"],
                                                 ["計画された停車", "3"], ["計画した時刻", "2026/12/03 16:30"]]


def test_the_filled_services_panels_have_no_serious_accessibility_violations(town, visit):
    town.create(*services())
    v = visit()
    v.context.add_init_script(path=str(AXE))
    page = v.login(town.official, then="/dashboard/hq")
    page.wait_for_selector("#bus-mobility")
    found = {"hq": serious(page)}
    page.goto("/dashboard")
    page.wait_for_selector("#ondemand dd")
    found["dashboard"] = serious(page)
    assert found == {"hq": [], "dashboard": []}, json.dumps(found, ensure_ascii=False, indent=1)
