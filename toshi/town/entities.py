"""The generated town as NGSI-LD entities (normalized, terms of toshi/town/context.jsonld).

Smart Data Models types where they exist (PointOfInterest, FloodMonitoring, WeatherObserved, Vehicle,
Device, PhotovoltaicMeasurement, RoadSegment, GtfsStop), the Japanese shelter model's
EvacuationShelter (geolonia/datamodels, 自治体標準オープンデータセット 指定避難所), and the town's own
types (District, RoadNode, Household, Resident, TownService)."""

from __future__ import annotations

from toshi.town.generate import Town

URN = "urn:ngsi-ld"
TENANT_CODE = "273210"


def urn(kind: str, local: str) -> str:
    return f"{URN}:{kind}:{local}"


def prop(value, **extra) -> dict:
    return {"type": "Property", "value": value, **extra}


def rel(target: str) -> dict:
    return {"type": "Relationship", "object": target}


def point(lon: float, lat: float) -> dict:
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}


def town_entities(town: Town) -> list[dict]:
    return [*_districts(town), *_roads(town), *_places(town), *_households(town), *_residents(town),
            *_services()]


def basemap_layers(town: Town) -> dict[str, dict]:
    """The town's ground for the maps' offline base style (toshi/web/basemap.py): the districts'
    outlines and the road graph, as GeoJSON FeatureCollections by layer name."""
    def collection(entities: list[dict]) -> dict:
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": e["location"]["value"], "properties": {"id": e["id"]}} for e in entities]}

    return {"boundary": collection(_districts(town)),
            "roads": collection([e for e in _roads(town) if e["type"] == "RoadSegment"])}


def district_name(town: Town, district_id: str) -> str:
    return town.district(district_id)["name"]


def _districts(town: Town) -> list[dict]:
    counts: dict[str, int] = {}
    for r in town.residents:
        counts[r.district] = counts.get(r.district, 0) + 1
    out = []
    for d in town.data["districts"]:
        west, south, east, north = d["bbox"]
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        out.append({"id": urn("District", d["id"]), "type": "District", "name": prop(d["name"]),
                    "alternateName": prop(d["nameEn"]), "population": prop(counts.get(d["id"], 0)),
                    "location": {"type": "GeoProperty", "value": {"type": "Polygon", "coordinates": [ring]}}})
    return out


def _roads(town: Town) -> list[dict]:
    graph = town.graph
    nodes = [{"id": urn("RoadNode", n), "type": "RoadNode", "location": point(*graph.position[n]),
              "district": prop(district_name(town, town.node_district[n]))} for n in graph.position]
    segments = [{"id": urn("RoadSegment", f"{a}--{b}"), "type": "RoadSegment",
                 "startNode": rel(urn("RoadNode", a)), "endNode": rel(urn("RoadNode", b)),
                 "length": prop(length, unitCode="MTR"),
                 "location": {"type": "GeoProperty", "value": {"type": "LineString", "coordinates": [
                     list(graph.position[a]), list(graph.position[b])]}}} for a, b, length in graph.edges()]
    return nodes + segments


def _households(town: Town) -> list[dict]:
    out = []
    for household, members in town.households.items():
        head = max(members, key=lambda r: r.age)
        lon, lat = town.graph.position[head.node]
        out.append({"id": urn("Household", household), "type": "Household",
                    "head": rel(urn("Resident", head.id)),
                    "members": {"type": "ListRelationship", "objectList": [urn("Resident", r.id) for r in members]},
                    "address": prop(head.address), "homeNode": rel(urn("RoadNode", head.node)),
                    "location": point(lon, lat), "district": prop(district_name(town, head.district))})
    return out


def _residents(town: Town) -> list[dict]:
    out = []
    for r in town.residents:
        lon, lat = town.graph.position[r.node]
        out.append({"id": urn("Resident", r.id), "type": "Resident", "age": prop(r.age), "sex": prop(r.sex),
                    "household": rel(urn("Household", r.household)), "address": prop(r.address),
                    "homeNode": rel(urn("RoadNode", r.node)), "location": point(lon, lat),
                    "needsSupport": prop(r.needs_support), "district": prop(district_name(town, r.district))})
    return out


PLACE_TYPES = {"school": "PointOfInterest", "facility": "PointOfInterest", "aed": "PointOfInterest",
               "river": "FloodMonitoring", "rain": "WeatherObserved", "bus": "Vehicle", "busStop": "GtfsStop",
               "beacon": "Device", "solar": "PhotovoltaicMeasurement", "shelter": "EvacuationShelter"}


def place_id(place: dict) -> str:
    return urn(PLACE_TYPES[place["kind"]], f"{place['kind']}-{place['number']:03d}")


def _places(town: Town) -> list[dict]:
    out = []
    for p in town.places:
        entity = {"id": place_id(p), "type": PLACE_TYPES[p["kind"]], "name": prop(p["name"]),
                  "location": point(p["lon"], p["lat"]), "district": prop(district_name(town, p["district"]))}
        entity.update(_details(p))
        out.append(entity)
    return out


def _details(p: dict) -> dict:
    kind = p["kind"]
    if kind == "shelter":
        hazards = ["earthquake", "fire"] + (["flood", "landslide"] if p.get("flood") else [])
        return {"alternateName": prop(p["kana"]), "category": prop(["designatedShelter"]
                                                                    + (["welfareShelter"] if p.get("welfare") else [])),
                "capacity": prop(p["capacity"], unitCode="C62"), "evacueeTotal": prop(0, unitCode="C62"),
                "openingStatus": prop("notOpened"), "disasterTypes": prop(hazards),
                "staffInCharge": prop(f"総務課 {p['number']:02d}班"), "municipalityCode": prop(TENANT_CODE)}
    if kind in ("school", "facility", "aed"):
        return {"category": prop([{"school": "school", "aed": "aed"}.get(kind, p.get("category", "facility"))])}
    if kind == "river":
        return {"currentLevel": prop(p["base"], unitCode="MTR"), "referenceLevel": prop(p["base"], unitCode="MTR"),
                "alertLevel": prop(p["alert"], unitCode="MTR"), "dangerLevel": prop(p["danger"], unitCode="MTR")}
    if kind == "rain":
        return {"precipitation": prop(0.0, unitCode="H67")}
    if kind == "bus":
        return {"vehicleType": prop("bus"), "speed": prop(0.0, unitCode="KMH"),
                "serviceProvided": prop([" → ".join(p["stops"])])}
    if kind == "busStop":
        return {"stopNode": rel(urn("RoadNode", p["node"]))}
    if kind == "beacon":
        return {"deviceCategory": prop(["beaconReader"]), "controlledProperty": prop(["beaconPass"])}
    if kind == "solar":
        return {"activePower": prop(0.0, unitCode="KWT"), "peakPower": prop(p["peakPower"], unitCode="KWT")}
    return {}


CONSENTS = "/portal/me/consents"  # the opt-in services: where a resident sees and switches their consent
SERVICES = [
    ("evacuation", "避難誘導 / Evacuation guidance", "防災",
     "避難指示が出ると、道のりと混雑から空きのある避難所をご案内します（同意した方のみ）。"
     " When an evacuation order is issued, the nearest shelter with room, by road and congestion (opt-in).",
     "/portal#evacuation"),
    ("watchover", "見守り / Watch-over", "福祉",
     "見守りに登録した方に長い時間反応がないとき、地区の外に出たとき、転倒したときにご家族へお知らせします"
     "（ご本人の同意が必要）。 The family is told when a watched person is quiet for hours, leaves the district"
     " or falls (with their consent).", CONSENTS),
    ("ondemand", "オンデマンドバス / On-demand bus", "交通",
     "予約に合わせてミニバスの経路を組み、自宅から公共施設・学校・バス停までお送りします（利用登録した方）。"
     " Minibuses routed for the day's bookings, from home to a facility, school or bus stop (registered riders).",
     CONSENTS),
    ("health", "健康連携 / Health linkage", "健康",
     "特定健診の結果から、メタボリックシンドロームの基準による指標をお示しします（同意した方のみ）。"
     " An indicator from your check-up by the metabolic syndrome criteria (opt-in).", CONSENTS),
    ("currency", "地域通貨 / Local currency", "くらし",
     "健診ポイントなどを町内のお店で使えます。 Points, e.g. for a check-up, to spend at the town's shops.",
     CONSENTS),
]


def _services() -> list[dict]:
    return [{"id": urn("TownService", key), "type": "TownService", "name": prop(name), "category": prop(category),
             "description": prop(description), "url": prop(url)}
            for key, name, category, description, url in SERVICES]
