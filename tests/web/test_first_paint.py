"""First paint of the dashboard and the portal with 10,000 entities on the map (clustered), printed
for BENCHMARKS.md — measured, never asserted against a time."""

from __future__ import annotations

import random

from conftest import shelter

COUNT = 10_000
TIMING = """() => {
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  return {firstPaint: paint ? paint.startTime : null, mapReady: performance.now()};
}"""


def test_first_paint_with_ten_thousand_entities_on_the_map(town, visit, capsys):
    rng = random.Random(17)
    town.create(*(shelter(100 + n, 200, rng.randrange(0, 200), 135.40 + rng.random() * 0.15,
                          34.78 + rng.random() * 0.12) for n in range(COUNT)))
    figures = {}
    for name, path in (("dashboard", "/dashboard?type=EvacuationShelter"), ("portal", "/portal")):
        v = visit()
        v.login(town.official, then="/")
        page = v.open(path)
        page.wait_for_selector(f"#map[data-points='{COUNT}']")
        page.wait_for_function("() => { const m = window.ToshiMaps.map.map; return m.loaded() && !m.isMoving(); }")
        figures[name] = page.evaluate(TIMING)
        v.screenshot(f"{name}-{COUNT}", full_page=False)
        assert v.errors == []
    with capsys.disabled():
        for name, f in figures.items():
            print(f"\n[first paint] {name} with {COUNT} entities: first contentful paint {f['firstPaint']:.0f} ms, "
                  f"all {COUNT} on the map {f['mapReady']:.0f} ms after navigation start")
