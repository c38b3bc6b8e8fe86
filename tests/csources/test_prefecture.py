"""Two towns and a prefecture, three real Toshi processes on loopback (issue: cross-city linkage): the
prefecture registers both towns (redirect, each for its own shelters); a query at the prefecture for
shelters within 5 km of a point returns both towns' shelters; an update through the prefecture lands
in the owning town, a temporal history too (and a temporal POST query finds it); a town that is down gives a partial answer with its error. The one federation
test over real processes and sockets (the others join in-process towns: federation_towns.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from support import ServerProcess

LD = "/ngsi-ld/v1"
POINT = [135.47, 34.82]


def shelter(sid: str, lon: float, lat: float, occupancy: int) -> dict:
    return {"id": f"urn:ngsi-ld:Shelter:{sid}", "type": "Shelter",
            "occupancy": {"type": "Property", "value": occupancy},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}}


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    towns = {name: ServerProcess(tmp_path_factory.mktemp(name)) for name in ("toyono", "minoh", "osaka")}
    with ThreadPoolExecutor(len(towns)) as starting:  # the three start side by side
        list(starting.map(ServerProcess.start, towns.values()))
    toyono, minoh, prefecture = towns["toyono"], towns["minoh"], towns["osaka"]
    for town, shelters in ((toyono, [shelter("Toyono-1", 135.47, 34.83, 10), shelter("Toyono-far", 135.9, 35.2, 1)]),
                           (minoh, [shelter("Minoh-1", 135.48, 34.81, 20)])):
        for body in shelters:
            httpx.post(town.url + LD + "/entities", json=body).raise_for_status()
    for town, prefix in ((toyono, "Toyono"), (minoh, "Minoh")):
        reg = {"type": "ContextSourceRegistration", "endpoint": town.url, "mode": "redirect",
               "registrationName": prefix, "management": {"timeout": 3000}, "operations": ["redirectionOps"],
               "information": [{"entities": [{"type": "Shelter", "idPattern": f"^urn:ngsi-ld:Shelter:{prefix}-"}]}]}
        httpx.post(prefecture.url + LD + "/csourceRegistrations", json=reg).raise_for_status()
    yield towns
    for town in towns.values():
        town.stop()


def near(prefecture) -> httpx.Response:
    return httpx.get(prefecture.url + LD + "/entities", timeout=30, params={
        "type": "Shelter", "georel": "near;maxDistance==5000", "geometry": "Point",
        "coordinates": str(POINT).replace(" ", ""), "options": "keyValues", "attrs": "occupancy"})


def test_the_prefecture_sees_both_towns_shelters_near_a_point(area):
    got = near(area["osaka"])
    assert got.status_code == 200
    assert sorted((e["id"], e["occupancy"]) for e in got.json()) == [
        ("urn:ngsi-ld:Shelter:Minoh-1", 20), ("urn:ngsi-ld:Shelter:Toyono-1", 10)]


def test_an_update_through_the_prefecture_lands_in_the_owning_town(area):
    prefecture, minoh, toyono = area["osaka"], area["minoh"], area["toyono"]
    answer = httpx.patch(prefecture.url + LD + "/entities/urn:ngsi-ld:Shelter:Minoh-1/attrs",
                         json={"occupancy": {"type": "Property", "value": 21}}, timeout=30)
    assert answer.status_code == 204, answer.text
    assert httpx.get(minoh.url + LD + "/entities/urn:ngsi-ld:Shelter:Minoh-1?options=keyValues").json()["occupancy"] == 21
    assert httpx.get(toyono.url + LD + "/entities/urn:ngsi-ld:Shelter:Minoh-1").status_code == 404
    assert httpx.get(prefecture.url + LD + "/entities/urn:ngsi-ld:Shelter:Minoh-1?local=true").status_code == 404


def test_a_temporal_history_written_through_the_prefecture_lands_in_the_owning_town(area):
    prefecture, toyono = area["osaka"], area["toyono"]
    reg = {"type": "ContextSourceRegistration", "endpoint": toyono.url, "mode": "redirect",
           "operations": ["upsertTemporal", "queryTemporal"], "management": {"timeout": 3000},
           "information": [{"entities": [{"type": "Gauge", "idPattern": "^urn:ngsi-ld:Gauge:Toyono-"}]}]}
    httpx.post(prefecture.url + LD + "/csourceRegistrations", json=reg).raise_for_status()
    gauge = {"id": "urn:ngsi-ld:Gauge:Toyono-1", "type": "Gauge", "level": [
        {"type": "Property", "value": v, "observedAt": f"2026-12-01T{h}:00:00Z"} for v, h in ((1.2, 10), (1.5, 11))]}
    created = httpx.post(prefecture.url + LD + "/temporal/entities", json=gauge, timeout=30)
    assert created.status_code == 201, created.text
    at_toyono = httpx.get(toyono.url + LD + "/temporal/entities/urn:ngsi-ld:Gauge:Toyono-1").json()
    assert sorted(i["value"] for i in at_toyono["level"]) == [1.2, 1.5]
    got = httpx.post(prefecture.url + LD + "/temporal/entityOperations/query", timeout=30,
                     json={"type": "Query", "entities": [{"type": "Gauge"}],
                           "temporalQ": {"timerel": "after", "timeAt": "2026-12-01T10:30:00Z"}})
    assert got.status_code == 200, got.text
    assert [(e["id"], [i["value"] for i in e["level"]]) for e in got.json()] == [("urn:ngsi-ld:Gauge:Toyono-1", [1.5])]


def test_a_town_that_is_down_gives_a_partial_answer_with_its_error(area):
    area["minoh"].stop()
    got = near(area["osaka"])
    assert got.status_code == 200
    assert [e["id"] for e in got.json()] == ["urn:ngsi-ld:Shelter:Toyono-1"]
    assert "cannot be reached" in got.headers["NGSILD-Warning"]
