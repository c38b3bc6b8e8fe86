"""The demo town's first screens in a real browser, as a town official opens them after `toshi demo`:
the maps frame the town and draw every entity (counted as MapLibre renders them, not as pixels), a
small set point by point, a large one in clusters whose counts add up; the town's districts and roads
are the base map; the portal lists the demo's services; the dashboard names the subscriptions; the
watch-over status is timed by the simulated clock only."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from conftest import Visit, require_browser
from support import demo_town_server

from toshi.town import demo
from toshi.town.simulator import JST

RESIDENTS = 150
START = datetime(2026, 7, 3, 9, 0, tzinfo=JST)
UNTIL = START + timedelta(minutes=30)
SHELTERS = 12
HIGASHINOSE = "135.43,34.915,135.52,34.975"  # the district's box (toshi/town/data/toyono.json)
ROAD_NODES = 795  # the road graph does not depend on the number of residents

DRAWN = """() => {
  const handle = window.ToshiMaps.map, m = handle.map;
  const bounds = m.getBounds();
  const points = new Set(m.queryRenderedFeatures({ layers: ["points"] }).map((f) => f.properties._id));
  const clusters = new Map(m.queryRenderedFeatures({ layers: ["clusters"] })
    .map((f) => [f.properties.cluster_id, f.properties.point_count]));
  return { total: handle.features.size, points: points.size,
    inClusters: [...clusters.values()].reduce((a, b) => a + b, 0),
    inView: [...handle.features.values()].filter((f) => bounds.contains(f.geometry.coordinates)).length,
    clustered: m.getContainer().dataset.clustered, zoom: m.getZoom(), moving: m.isMoving() };
}"""


def in_thread(make):
    """Run a coroutine to its end in a thread of its own (sync Playwright's event loop holds this one)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(lambda: asyncio.run(make())).result()


@pytest.fixture(scope="module")
def demo_town(tmp_path_factory):
    require_browser()
    data_dir = tmp_path_factory.mktemp("demo-screens")
    with demo_town_server(data_dir, seed=11, residents=RESIDENTS) as (state, base, mqtt):
        async def load():
            town = demo.DemoTown(base, data_dir, state, speed=1800, mqtt=mqtt, start=START)
            try:
                await town.load()  # the town and the services' set-up; no device has reported yet
            finally:
                await town.close()

        in_thread(load)
        yield data_dir, state, base, mqtt


@pytest.fixture
def official(browser, demo_town):
    _, state, base, _ = demo_town
    v = Visit(browser, base)
    yield v, state
    v.close()


def drawn(page, total: int) -> dict:
    """What the map draws once it has framed `total` entities and stopped moving."""
    page.wait_for_function(f"() => {{ const d = ({DRAWN})(); return d.total === {total} && !d.moving"
                           f" && d.points + d.inClusters === {total} && d.inView === {total}; }}")
    return page.evaluate(DRAWN)


def test_the_hq_map_frames_the_town_and_draws_every_shelter_in_its_colour(official):
    v, state = official
    page = v.login(state["adminKey"], then="/dashboard/hq")
    page.wait_for_selector(f"#map[data-points='{SHELTERS}']")
    seen = drawn(page, SHELTERS)
    assert seen["points"] == SHELTERS and seen["inClusters"] == 0  # each shelter its own coloured point
    assert seen["zoom"] > 10  # the town, not Japan
    v.screenshot("demo-hq-first-screen", full_page=False)
    assert v.errors == []


def test_the_base_map_is_the_towns_districts_and_roads(official):
    v, state = official
    page = v.login(state["adminKey"], then="/dashboard/hq")
    page.wait_for_selector(f"#map[data-points='{SHELTERS}']")
    drawn(page, SHELTERS)
    counts = page.evaluate("""() => { const m = window.ToshiMaps.map.map;
      const ids = (layer) => new Set(m.queryRenderedFeatures({ layers: [layer] }).map((f) => f.properties.id)).size;
      return { boundary: ids("base-boundary"), roads: ids("base-roads") }; }""")
    assert counts["boundary"] == 2  # both districts in view
    assert counts["roads"] > 100


def test_the_portal_lists_every_service_the_demo_runs(official):
    v, _ = official
    page = v.open("/portal")
    page.wait_for_selector("#services li >> nth=4")
    names = page.locator("#services li strong").all_inner_texts()
    assert {name.split(" / ")[1] for name in names} == {
        "Evacuation guidance", "Watch-over", "On-demand bus", "Health linkage", "Local currency"}
    v.screenshot("demo-portal")
    assert v.errors == []


def test_the_dashboard_shows_a_chosen_type_at_once_framed_small_sets_drawn_large_ones_clustered(official):
    v, state = official
    page = v.login(state["adminKey"], then="/dashboard")
    page.wait_for_selector("#type option[value=EvacuationShelter]", state="attached")
    assert page.text_content("#count") == "エンティティ種別を選ぶと地図と一覧に表示されます。"
    page.wait_for_function("() => window.ToshiMaps.map.map.getZoom() > 10")  # the town's ground, not Japan

    page.select_option("#type", "EvacuationShelter")  # no Apply button pressed
    page.wait_for_selector(f"#map[data-points='{SHELTERS}']")
    shelters = drawn(page, SHELTERS)
    assert (shelters["points"], shelters["clustered"]) == (SHELTERS, "false")

    page.select_option("#type", "RoadNode")
    page.wait_for_selector(f"#map[data-points='{ROAD_NODES}']")
    nodes = drawn(page, ROAD_NODES)
    assert nodes["clustered"] == "true" and nodes["inClusters"] > 0
    assert "type=RoadNode" in page.url
    v.screenshot("demo-dashboard-road-nodes", full_page=False)

    page.goto("/dashboard?type=EvacuationShelter&bbox=" + HIGASHINOSE)  # a shared link with an area
    page.wait_for_selector("#map[data-points]")
    inside = int(page.get_attribute("#map", "data-points"))
    assert 0 < inside < SHELTERS
    drawn(page, inside)
    assert v.errors == []


def test_the_watch_over_status_is_timed_by_the_simulated_clock_only_and_subscriptions_are_named(official, demo_town):
    data_dir, state, base, mqtt = demo_town
    v, _ = official
    page = v.login(state["adminKey"], then="/dashboard/hq")
    updated = page.locator("#watchover dd[data-key='svc.updated']")
    updated.wait_for()
    assert updated.text_content() == "—"  # set up, and no device has reported: no time to show

    async def day():
        town = demo.DemoTown(base, data_dir, state, speed=1800, mqtt=mqtt, start=START, tick_seconds=0.25)
        try:
            await town.setup()  # resumes the loaded town, as `toshi demo` run again does
            await town.run(until=UNTIL)
            return town.simulator.now  # at or past UNTIL: a step on a busy machine is long
        finally:
            await town.close()

    ended = in_thread(day)
    page.wait_for_function("() => /^\\d{4}\\/\\d{2}\\/\\d{2} \\d{2}:\\d{2}$/.test("
                           "document.querySelector(\"#watchover dd[data-key='svc.updated']\").textContent)",
                           timeout=60_000)  # the live stream brings the status timed by the devices
    shown = datetime.strptime(updated.text_content(), "%Y/%m/%d %H:%M").replace(tzinfo=JST)
    assert START <= shown <= ended + timedelta(minutes=1), (shown, ended)  # the page's clock is Asia/Tokyo

    page.goto("/dashboard")  # the evacuation service's subscriptions by name, not by UUID
    page.wait_for_selector("#subscriptions tr >> nth=2")
    names = set(page.locator("#subscriptions .name").all_inner_texts())
    assert {f"避難誘導 / evacuation guidance: {t}" for t in ("EvacuationOrder", "EvacuationShelter",
                                                         "EvacuationGuidance")} <= names
    page.wait_for_selector("#iot-devices tr >> nth=0")
    last = page.locator("#iot-devices td:nth-child(3)").all_inner_texts()  # when each device was last heard
    assert any(re.fullmatch(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}", text) for text in last), last
    assert all(text == "—" or re.fullmatch(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}", text) for text in last), last
    assert v.errors == []
