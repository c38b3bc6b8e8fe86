"""The demo town's generator: deterministic, realistic, and every term in the shipped @context."""

from __future__ import annotations

import pytest

from toshi.town.generate import AGE_PYRAMID, generate, shelter_capacity, town_data
from toshi.town.loader import town_context


@pytest.fixture(scope="module")
def town():
    return generate(seed=7, residents=19_000)


def test_same_seed_gives_the_same_town():
    assert generate(seed=3, residents=400).entities() == generate(seed=3, residents=400).entities()


def test_another_seed_gives_another_town():
    assert generate(seed=3, residents=400).entities() != generate(seed=4, residents=400).entities()


def test_ages_follow_the_ageing_pyramid(town):
    ages = [r.age for r in town.residents]
    for band, share in AGE_PYRAMID.items():
        drawn = sum(band <= a < band + 5 for a in ages) / len(ages)
        assert abs(drawn - share) < 0.01, band
    elderly = sum(a >= 65 for a in ages) / len(ages)
    assert 0.40 < elderly < 0.48  # Toyono: about 43 % aged 65 and over


def test_every_resident_lives_in_a_household_at_an_address_on_the_road_graph(town):
    assert len(town.residents) == 19_000
    assert sum(len(members) for members in town.households.values()) == 19_000
    for resident in town.residents:
        assert resident.node in town.graph.position
        assert town.node_district[resident.node] == resident.district
    assert all(len({r.node for r in members}) == 1 for members in town.households.values())


def test_every_road_node_is_reachable(town):
    assert town.graph.connected()


def test_shelter_capacities_scale_with_the_town():
    small = generate(seed=7, residents=950)
    bases = [s["capacity"] for s in town_data()["shelters"]]
    capacities = [p["capacity"] for p in small.places if p["kind"] == "shelter"]
    assert capacities == [shelter_capacity(b, 950, 19_000) for b in bases]
    assert sum(capacities) == sum(max(3, round(b * 950 / 19_000)) for b in bases)


def test_children_live_with_an_adult(town):
    for members in town.households.values():
        if any(r.age < 18 for r in members):
            assert any(r.age >= 18 for r in members)


def test_consents_are_drawn_at_the_documented_rate(town):
    share = sum("evacuation-guidance" in r.consents for r in town.residents) / len(town.residents)
    assert abs(share - 0.68) < 0.02


def test_the_shipped_context_defines_every_term_the_town_uses(town):
    defined = set(town_context()["@context"][1])
    used = set()
    for entity in generate(seed=1, residents=50).entities():
        used.add(entity["type"])
        used.update(k for k in entity if k not in ("id", "type", "location"))
    assert used <= defined
