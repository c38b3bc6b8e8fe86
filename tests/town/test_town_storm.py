"""End to end: the demo town on a real server (`toshi serve --auth`), loaded through the API, a
simulated storm at a high speed-up, the evacuation service on its subscriptions."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime

import pytest
from support import demo_town_server

from toshi.town import demo
from toshi.town.client import Api
from toshi.town.entities import urn
from toshi.town.simulator import JST

RESIDENTS = 500
START, END = datetime(2026, 7, 3, 10, 0, tzinfo=JST), datetime(2026, 7, 3, 15, 0, tzinfo=JST)


@pytest.fixture(scope="module")
def storm(tmp_path_factory):
    """Run the storm once; the tests read what it left on the server."""
    data_dir = tmp_path_factory.mktemp("demo")

    async def run(state, base, mqtt):
        town = demo.DemoTown(base, data_dir, state, speed=1800, mqtt=mqtt, start=START, tick_seconds=0.25)
        try:
            await town.setup()
            await town.run(until=END)
            await asyncio.sleep(1)  # the last notifications and check-ins
            admin = Api(base, state["adminKey"], context=state["context"])
            seen = {kind: await admin.entities(kind) for kind in
                    ("EvacuationOrder", "EvacuationGuidance", "EvacuationShelter", "Resident", "RoadSegment")}
            await admin.close()
            return town, seen
        finally:
            await town.close()

    with demo_town_server(data_dir, seed=11, residents=RESIDENTS) as (state, base, mqtt):
        yield (*asyncio.run(run(state, base, mqtt)), state, base)


def test_the_town_is_loaded_through_the_api(storm):
    town, seen, state, _ = storm
    assert len(seen["Resident"]) == RESIDENTS
    assert len(seen["RoadSegment"]) == sum(1 for _ in town.town.graph.edges())
    assert state["figures"]["consents"] == sum(1 for r in town.town.residents if r.consents)


def test_the_storm_raises_an_evacuation_order(storm):
    _, seen, _, _ = storm
    assert {tuple(o["targetDistricts"]) if isinstance(o["targetDistricts"], list) else (o["targetDistricts"],)
            for o in seen["EvacuationOrder"]}


def _ordered_residents(town, seen) -> set[str]:
    districts = set()
    for order in seen["EvacuationOrder"]:
        targets = order["targetDistricts"]
        districts.update(targets if isinstance(targets, list) else [targets])
    names = {d["name"]: d["id"] for d in town.town.data["districts"]}
    return {urn("Resident", r.id) for r in town.town.residents if r.district in {names[d] for d in districts}
            and "evacuation-guidance" in r.consents}


def test_every_consenting_resident_of_the_district_gets_guidance(storm):
    town, seen, _, _ = storm
    guided = {g["resident"] for g in seen["EvacuationGuidance"]}
    assert guided == _ordered_residents(town, seen)


def test_no_resident_without_consent_gets_guidance(storm):
    town, seen, _, _ = storm
    refused = {urn("Resident", r.id) for r in town.town.residents if "evacuation-guidance" not in r.consents}
    assert not refused & {g["resident"] for g in seen["EvacuationGuidance"]}


def test_guidance_never_sends_more_people_to_a_shelter_than_it_holds(storm):
    _, seen, _, _ = storm
    sent = Counter(g["shelter"] for g in seen["EvacuationGuidance"] if g.get("shelter"))
    capacity = {s["id"]: s["capacity"] for s in seen["EvacuationShelter"]}
    assert sent and all(sent[s] <= capacity[s] for s in sent)


def test_people_arrive_and_the_counters_report_them(storm):
    _, seen, _, _ = storm
    arrived = Counter(g["shelter"] for g in seen["EvacuationGuidance"] if g["status"] == "arrived")
    assert arrived
    counted = {s["id"]: s["evacueeTotal"] for s in seen["EvacuationShelter"]}
    assert all(counted[s] >= n for s, n in arrived.items()), (counted, arrived)


def test_the_service_cannot_read_residents_who_did_not_consent(storm):
    town, _, state, base = storm

    async def read():
        service = Api(base, state["accounts"]["evacuation"]["key"], purpose="evacuation-guidance",
                      context=state["context"])
        try:
            return await service.entities("Resident")
        finally:
            await service.close()

    visible = {r["id"] for r in asyncio.run(read())}
    assert visible == {urn("Resident", r.id) for r in town.town.residents if "evacuation-guidance" in r.consents}
