"""The demo town, generated offline and deterministically from a seed.

`generate(seed, residents)` builds Toyono-like geography from the shipped data file
(toshi/town/data/toyono.json: districts, neighbourhoods, shelters, facilities, gauges, bus routes)
and draws everything else with one `random.Random(seed)`: a road graph, residents with ages from an
ageing town's pyramid, households at addresses on the graph, and each resident's opt-in choices.
The same seed and size always give the same town, entity for entity (`town.entities()`)."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from importlib import resources

from toshi.town.roads import RoadGraph, metres

GRID_METRES = 350.0
# An ageing Japanese town (Toyono: about 43 % aged 65 and over): share of residents per 5-year band.
AGE_PYRAMID = {
    0: 0.020, 5: 0.027, 10: 0.033, 15: 0.043, 20: 0.040, 25: 0.033, 30: 0.025, 35: 0.035, 40: 0.045,
    45: 0.060, 50: 0.067, 55: 0.060, 60: 0.067, 65: 0.085, 70: 0.110, 75: 0.095, 80: 0.080, 85: 0.050,
    90: 0.022, 95: 0.008,
}
# How often residents opt in, per purpose (a disaster-support register and a watch-over service).
CONSENT_RATES = {"evacuation-guidance": 0.68}
NEEDS_SUPPORT_RATE = {75: 0.10, 85: 0.25}  # 避難行動要支援者: share by age from 75 and from 85


def town_data() -> dict:
    return json.loads((resources.files("toshi.town") / "data" / "toyono.json").read_text("utf-8"))


@dataclass
class Resident:
    id: str
    age: int
    sex: str
    household: str
    district: str          # the district's id
    node: str              # the address on the road graph
    address: str
    needs_support: bool
    consents: tuple[str, ...]  # purposes the resident opted in to


@dataclass
class Town:
    seed: int
    data: dict
    graph: RoadGraph
    node_district: dict[str, str]
    residents: list[Resident] = field(default_factory=list)
    households: dict[str, list[Resident]] = field(default_factory=dict)
    places: list[dict] = field(default_factory=list)  # entities other than people and roads

    def district(self, district_id: str) -> dict:
        return next(d for d in self.data["districts"] if d["id"] == district_id)

    def entities(self) -> list[dict]:
        from toshi.town.entities import town_entities

        return town_entities(self)


def generate(seed: int = 1, residents: int = 19_000) -> Town:
    if residents < 1:
        raise ValueError("a town needs at least one resident")
    rng = random.Random(seed)
    data = town_data()
    graph, node_district = _road_graph(rng, data)
    town = Town(seed, data, graph, node_district)
    _people(rng, town, residents)
    _places(rng, town, residents)
    return town


# -- roads ------------------------------------------------------------------------------------------

def _road_graph(rng: random.Random, data: dict) -> tuple[RoadGraph, dict[str, str]]:
    """A jittered grid over the districts, thinned like hill roads: a random spanning tree (so every
    node is reachable) plus about half of the other grid links; lengths wind 5-35 % over the crow's."""
    graph, node_district = RoadGraph(), {}
    for district in data["districts"]:
        west, south, east, north = district["bbox"]
        dlat = GRID_METRES / 111_320
        dlon = GRID_METRES / (111_320 * math.cos(math.radians((south + north) / 2)))
        rows, cols = int((north - south) / dlat), int((east - west) / dlon)
        for r in range(rows + 1):
            for c in range(cols + 1):
                node = f"{district['id'][:2]}-{r:02d}-{c:02d}"
                lon = west + c * dlon + rng.uniform(-0.2, 0.2) * dlon
                lat = south + r * dlat + rng.uniform(-0.2, 0.2) * dlat
                graph.add_node(node, round(lon, 6), round(lat, 6))
                node_district[node] = district["id"]
    links = []
    for node in graph.position:
        prefix, r, c = node.split("-")
        for other in (f"{prefix}-{int(r) + 1:02d}-{c}", f"{prefix}-{r}-{int(c) + 1:02d}"):
            if other in graph.position:
                links.append((node, other))
    links += _district_links(graph, data)
    rng.shuffle(links)
    parent = {node: node for node in graph.position}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in links:
        joins = root(a) != root(b)
        if joins:
            parent[root(a)] = root(b)
        if joins or rng.random() < 0.5:
            graph.add_edge(a, b, round(metres(graph.position[a], graph.position[b]) * rng.uniform(1.05, 1.35), 1))
    return graph, node_district


def _district_links(graph: RoadGraph, data: dict) -> list[tuple[str, str]]:
    """Roads across district borders: each node of one district's border row to the nearest node of
    the next district."""
    links = []
    districts = data["districts"]
    for a in districts:
        for b in districts:
            if a is b or a["bbox"][1] != b["bbox"][3]:
                continue  # a lies directly north of b
            south_row = [n for n in graph.position if n.startswith(a["id"][:2] + "-00-")]
            others = [n for n in graph.position if n.startswith(b["id"][:2] + "-")]
            top = max(int(n.split("-")[1]) for n in others)
            north_row = [n for n in others if int(n.split("-")[1]) == top]
            for node in south_row[::3]:
                links.append((node, min(north_row, key=lambda o: metres(graph.position[o], graph.position[node]))))
    return links


# -- people -----------------------------------------------------------------------------------------

def draw_age(rng: random.Random) -> int:
    band = rng.choices(list(AGE_PYRAMID), weights=list(AGE_PYRAMID.values()))[0]
    return band + rng.randrange(5)


def _people(rng: random.Random, town: Town, count: int) -> None:
    ages = sorted((draw_age(rng) for _ in range(count)), reverse=True)
    groups = _households(rng, ages)
    districts = town.data["districts"]
    weights = {d["id"]: _node_weights(town, d["id"]) for d in districts}
    serial = 0
    for number, members in enumerate(groups, start=1):
        district = rng.choices(districts, weights=[d["share"] for d in districts])[0]["id"]
        nodes, node_weights = weights[district]
        node = rng.choices(nodes, weights=node_weights)[0]
        address = _address(rng, town, node)
        household = f"H{number:06d}"
        for age in members:
            serial += 1
            resident = Resident(
                id=f"TY{serial:06d}", age=age, sex=rng.choice("FM") if age < 75 else rng.choice("FFM"),
                household=household, district=district, node=node, address=address,
                needs_support=_needs_support(rng, age),
                consents=tuple(p for p, rate in CONSENT_RATES.items() if rng.random() < rate))
            town.residents.append(resident)
            town.households.setdefault(household, []).append(resident)


def _households(rng: random.Random, ages: list[int]) -> list[list[int]]:
    """Ages grouped as households: children with one or two parents of a fitting age, elderly
    couples and people living alone, some three-generation homes."""
    children = [a for a in ages if a < 18]
    adults = [a for a in ages if 18 <= a < 65]
    elderly = [a for a in ages if a >= 65]
    rng.shuffle(children)
    rng.shuffle(adults)
    rng.shuffle(elderly)
    parents = [a for a in adults if 25 <= a < 60]
    others = [a for a in adults if not 25 <= a < 60]
    young = [a for a in others if a < 25]
    others = [a for a in others if a >= 25]
    homes: list[list[int]] = []
    while children:
        kids = [children.pop() for _ in range(min(len(children), rng.choice((1, 2, 2, 3))))]
        grown = [parents.pop() for _ in range(min(len(parents), 1 if rng.random() < 0.15 else 2))]
        if not grown and others:
            grown = [others.pop()]
        if not grown and elderly:
            grown = [elderly.pop()]
        if elderly and rng.random() < 0.08:
            grown.append(elderly.pop())  # three generations
        if young and rng.random() < 0.5:
            kids.append(young.pop())  # a grown-up child still at home
        homes.append(grown + kids)
    for rest, couples in ((parents + others + young, 0.6), (elderly, 0.65)):
        rng.shuffle(rest)
        while rest:
            size = 2 if len(rest) > 1 and rng.random() < couples else 1
            homes.append([rest.pop() for _ in range(size)])
    rng.shuffle(homes)
    return homes


def _needs_support(rng: random.Random, age: int) -> bool:
    rate = 0.0
    for from_age, share in NEEDS_SUPPORT_RATE.items():
        if age >= from_age:
            rate = share
    return rng.random() < rate


def _node_weights(town: Town, district: str) -> tuple[list[str], list[float]]:
    """Where people live: near their neighbourhood's centre (the hills between are woods)."""
    centres = [n for n in town.data["neighbourhoods"] if n["district"] == district]
    nodes = [n for n, d in town.node_district.items() if d == district]
    weights = []
    for node in nodes:
        here = town.graph.position[node]
        weights.append(sum(c["weight"] * math.exp(-(metres(here, c["centre"]) / 500) ** 2) for c in centres) + 1e-4)
    return nodes, weights


def neighbourhood_of(town: Town, lon: float, lat: float, district: str | None = None) -> dict:
    return min((n for n in town.data["neighbourhoods"] if district is None or n["district"] == district),
               key=lambda n: metres(n["centre"], (lon, lat)))


def _address(rng: random.Random, town: Town, node: str) -> str:
    lon, lat = town.graph.position[node]
    name = neighbourhood_of(town, lon, lat, town.node_district[node])["name"]
    return f"{town.data['prefecture']}{town.data['town']}{name}{rng.randint(1, 5)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"


# -- places -----------------------------------------------------------------------------------------

def _near(rng: random.Random, town: Town, neighbourhood: str, spread: float = 0.002) -> tuple[float, float]:
    centre = next(n["centre"] for n in town.data["neighbourhoods"] if n["name"] == neighbourhood)
    return round(centre[0] + rng.uniform(-spread, spread), 6), round(centre[1] + rng.uniform(-spread, spread), 6)


def shelter_capacity(base: int, residents: int, population: int) -> int:
    """A shelter's capacity scaled to the town's size (a smaller demo town keeps the same shelters)."""
    return max(3, round(base * residents / population))


def _places(rng: random.Random, town: Town, residents: int) -> None:
    data, places = town.data, town.places
    district_of = {n["name"]: n["district"] for n in data["neighbourhoods"]}
    for number, s in enumerate(data["shelters"], start=1):
        lon, lat = _near(rng, town, s["near"])
        places.append({"kind": "shelter", "number": number, "lon": lon, "lat": lat, **s,
                       "district": district_of[s["near"]],
                       "capacity": shelter_capacity(s["capacity"], residents, data["population"])})
        if s.get("school"):
            places.append({"kind": "school", "number": number, "lon": lon, "lat": lat,
                           "name": s["name"].split(" ")[0], "district": district_of[s["near"]]})
    for number, f in enumerate(data["facilities"], start=1):
        lon, lat = _near(rng, town, f["near"])
        places.append({"kind": "facility", "number": number, "lon": lon, "lat": lat, **f,
                       "district": district_of[f["near"]]})
    hosts = [p for p in places if p["kind"] in ("school", "facility")]
    for number, host in enumerate(hosts, start=1):  # an AED in every school and public facility
        places.append({"kind": "aed", "number": number, "lon": host["lon"], "lat": host["lat"],
                       "name": f"AED {host['name']}", "district": host["district"]})
    for number, r in enumerate(data["rivers"], start=1):
        lon, lat = _near(rng, town, r["near"], 0.004)
        places.append({"kind": "river", "number": number, "lon": lon, "lat": lat, **r, "district": district_of[r["near"]]})
    for number, g in enumerate(data["rainGauges"], start=1):
        lon, lat = _near(rng, town, g["near"], 0.003)
        places.append({"kind": "rain", "number": number, "lon": lon, "lat": lat, **g, "district": district_of[g["near"]]})
    stops = {}
    for route_number, route in enumerate(data["busRoutes"], start=1):
        for name in route["stops"]:
            if name not in stops:
                lon, lat = _near(rng, town, name, 0.001)
                node = town.graph.nearest_node(lon, lat)
                stops[name] = {"kind": "busStop", "number": len(stops) + 1, "lon": lon, "lat": lat,
                               "name": f"{name} バス停", "near": name, "node": node, "district": district_of[name]}
        places.append({"kind": "bus", "number": route_number, "name": route["name"], "stops": route["stops"],
                       "lon": stops[route["stops"][0]]["lon"], "lat": stops[route["stops"][0]]["lat"],
                       "district": district_of[route["stops"][0]]})
    places.extend(stops.values())
    for number, n in enumerate(data["neighbourhoods"], start=1):  # beacon readers at each centre, two more on big ones
        for extra in range(1 + (n["weight"] >= 0.2) * 2):
            lon, lat = _near(rng, town, n["name"], 0.003)
            places.append({"kind": "beacon", "number": number * 10 + extra, "lon": lon, "lat": lat,
                           "name": f"見守りビーコン {n['name']} {extra + 1}", "district": n["district"]})
    for s in [p for p in places if p["kind"] in ("school", "facility")][:10]:
        places.append({"kind": "solar", "number": s["number"] + (100 if s["kind"] == "facility" else 0),
                       "lon": s["lon"], "lat": s["lat"], "name": f"太陽光 {s['name']}",
                       "peakPower": rng.choice((10, 20, 30, 50)), "district": s["district"]})
