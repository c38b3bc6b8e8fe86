"""Geo-queries (toshi.query.geo): GeoJSON validation, geoQ parsing, predicates, distances, bbox prefilter."""

from __future__ import annotations

import math
import random

import pytest

from toshi.core.errors import BadRequestData
from toshi.query.geo import (
    EARTH_RADIUS_M,
    LOCATION,
    GeoQuery,
    geometry_bbox,
    geoq_from_body,
    haversine_m,
    parse_geoq,
    validate_geometry,
)

# Toyono / Toyonaka area, north of Osaka.
LON, LAT = 135.47, 34.82
M_PER_DEG_LAT = EARTH_RADIUS_M * math.pi / 180  # 111 195.08 m


def offset(north_m: float = 0.0, east_m: float = 0.0, lon: float = LON, lat: float = LAT) -> list[float]:
    """The point `north_m` north and `east_m` east of (lon, lat), for small offsets."""
    return [lon + east_m / (M_PER_DEG_LAT * math.cos(math.radians(lat))), lat + north_m / M_PER_DEG_LAT]


def entity(*values: dict, attr: str = LOCATION, kind: str = "GeoProperty") -> dict:
    return {"id": "urn:ngsi-ld:Shelter:001", "type": ["https://example.org/Shelter"],
            "attrs": {attr: [{"type": kind, "value": v} for v in values]}}


def point(coords: list[float]) -> dict:
    return {"type": "Point", "coordinates": coords}


def square(west: float, south: float, east: float, north: float) -> list:
    return [[[west, south], [east, south], [east, north], [west, north], [west, south]]]


def polygon(west: float, south: float, east: float, north: float) -> dict:
    return {"type": "Polygon", "coordinates": square(west, south, east, north)}


def q(georel: str, geometry: str, coordinates, geoproperty: str | None = None) -> GeoQuery:
    return parse_geoq(georel, geometry, coordinates, geoproperty, lambda t: "https://example.org/" + t)


def boxes_intersect(a: tuple, b: tuple) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


# A 2 km x 2 km-ish square around the reference point, and shapes relative to it.
AREA = square(135.46, 34.81, 135.48, 34.83)
AREA_TEXT = "[[[135.46,34.81],[135.48,34.81],[135.48,34.83],[135.46,34.83],[135.46,34.81]]]"


# --- distances ------------------------------------------------------------------------------------


def test_haversine_known_values():
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111_195.08, abs=0.01)
    assert haversine_m(0, 0, 0, 1) == pytest.approx(111_195.08, abs=0.01)
    assert haversine_m(0, 90, 180, -90) == pytest.approx(math.pi * EARTH_RADIUS_M)
    assert haversine_m(179.99, 0, -179.99, 0) == pytest.approx(0.02 * M_PER_DEG_LAT, rel=1e-9)
    # Osaka station -> Kyoto station: about 39.5 km as the crow flies.
    assert haversine_m(135.4959, 34.7025, 135.7588, 34.9858) == pytest.approx(39_500, rel=0.01)


def test_near_max_distance_matches_800m_not_1200m():
    query = q("near;maxDistance==1000", "Point", f"[{LON},{LAT}]")
    near, far = entity(point(offset(north_m=800))), entity(point(offset(east_m=1200)))
    assert query.matches(near)
    assert not query.matches(far)
    assert query.distance(near) == pytest.approx(800, abs=0.5)
    assert query.distance(far) == pytest.approx(1200, abs=0.5)


def test_near_min_distance_is_the_complement():
    query = q("near;minDistance==1000", "Point", [LON, LAT])
    assert not query.matches(entity(point(offset(north_m=800))))
    assert query.matches(entity(point(offset(east_m=1200))))
    assert query.matches(entity(point([139.767, 35.681])))  # Tokyo station


def test_near_with_both_distances_is_rejected():
    """Clause 4.10: near takes one distance (NGSI-v2 builds its rings with GeoQuery directly)."""
    with pytest.raises(BadRequestData, match="exactly one distance"):
        q("near;minDistance==500;maxDistance==1000", "Point", [LON, LAT])


def test_near_zero_distance_matches_the_same_point_only():
    query = q("near;maxDistance==0", "Point", [LON, LAT])
    assert query.matches(entity(point([LON, LAT])))
    assert not query.matches(entity(point(offset(north_m=1))))


def test_near_is_measured_in_metres_not_degrees():
    # 0.01 degree of longitude is ~913 m at 34.82 N but ~1112 m at the equator.
    query = q("near;maxDistance==1000", "Point", [LON, LAT])
    assert query.matches(entity(point([LON + 0.01, LAT])))
    assert not q("near;maxDistance==1000", "Point", [LON, 0]).matches(entity(point([LON + 0.01, 0])))


def test_near_wraps_around_the_antimeridian_for_points():
    query = q("near;maxDistance==3000", "Point", [179.99, 10])
    assert query.matches(entity(point([-179.99, 10])))  # ~2.2 km


def test_near_line_reference():
    line = f"[[135.46,{LAT}],[135.48,{LAT}]]"
    beside = entity(point(offset(north_m=500)))
    beyond_end = entity(point(offset(east_m=500, lon=135.48)))
    assert q("near;maxDistance==600", "LineString", line).matches(beside)
    assert not q("near;maxDistance==400", "LineString", line).matches(beside)
    assert q("near;maxDistance==600", "LineString", line).distance(beside) == pytest.approx(500, abs=1)
    assert q("near;maxDistance==600", "LineString", line).distance(beyond_end) == pytest.approx(500, abs=1)


def test_near_polygon_entity_distance_is_to_its_edge():
    shelter = entity(polygon(*offset(north_m=300), *offset(north_m=800, east_m=500)))
    query = q("near;maxDistance==350", "Point", [LON, LAT])
    assert query.distance(shelter) == pytest.approx(300, abs=1)
    assert query.matches(shelter)
    assert not q("near;maxDistance==250", "Point", [LON, LAT]).matches(shelter)


def test_near_inside_a_polygon_is_distance_zero():
    assert q("near;maxDistance==1", "Polygon", AREA_TEXT).distance(entity(point([LON, LAT]))) == 0
    assert q("near;maxDistance==1", "Point", [LON, LAT]).distance(entity({"type": "Polygon",
                                                                          "coordinates": AREA})) == 0


def test_shape_distance_agrees_with_brute_force_haversine():
    # A long diagonal line ~100 km, and a point off it: compare with a densely sampled minimum.
    a, b = (135.0, 34.5), (136.0, 35.2)
    target = (135.8, 34.6)
    query = q("near;maxDistance==100000", "LineString", [list(a), list(b)])
    n = 20000
    brute = min(haversine_m(a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n, *target)
                for i in range(n + 1))
    assert query.distance(entity(point(list(target)))) == pytest.approx(brute, rel=1e-4)


# --- spatial predicates ---------------------------------------------------------------------------


def test_within():
    query = q("within", "Polygon", AREA_TEXT)
    assert query.matches(entity(point([LON, LAT])))
    assert not query.matches(entity(point([135.50, LAT])))
    assert not query.matches(entity(point([135.46, LAT])))  # on the boundary: not within (OGC)
    inner_line = {"type": "LineString", "coordinates": [[135.465, 34.815], [135.475, 34.825]]}
    assert query.matches(entity(inner_line))
    assert query.matches(entity(polygon(135.465, 34.815, 135.475, 34.825)))
    assert not query.matches(entity(polygon(135.465, 34.815, 135.495, 34.825)))


def test_contains():
    area = entity({"type": "Polygon", "coordinates": AREA})
    assert q("contains", "Point", [LON, LAT]).matches(area)
    assert q("contains", "Polygon", square(135.465, 34.815, 135.475, 34.825)).matches(area)
    assert not q("contains", "Point", [135.50, LAT]).matches(area)
    assert not q("contains", "Polygon", AREA_TEXT).matches(entity(point([LON, LAT])))


def test_intersects():
    query = q("intersects", "Polygon", AREA_TEXT)
    crossing = {"type": "LineString", "coordinates": [[135.45, LAT], [135.49, LAT]]}
    touching = polygon(135.48, 34.81, 135.49, 34.82)
    assert query.matches(entity(crossing))
    assert query.matches(entity(touching))
    assert query.matches(entity(point([135.46, LAT])))  # boundary counts
    assert not query.matches(entity(point([135.50, LAT])))


def test_disjoint():
    query = q("disjoint", "Polygon", AREA_TEXT)
    assert query.matches(entity(point([135.50, LAT])))
    assert not query.matches(entity(point([LON, LAT])))
    assert not query.matches(entity(point([135.46, LAT])))
    assert not query.matches({"id": "urn:x", "type": [], "attrs": {}})  # no location: never matches


def test_equals_is_topological():
    rotated = [[[135.48, 34.81], [135.48, 34.83], [135.46, 34.83], [135.46, 34.81], [135.48, 34.81]]]
    query = q("equals", "Polygon", AREA_TEXT)
    assert query.matches(entity({"type": "Polygon", "coordinates": rotated}))
    assert not query.matches(entity(polygon(135.46, 34.81, 135.48, 34.84)))
    assert q("equals", "Point", [LON, LAT]).matches(entity(point([LON, LAT])))
    assert not q("equals", "Point", [LON, LAT]).matches(entity(point([LON, LAT + 1e-6])))


def test_overlaps():
    query = q("overlaps", "Polygon", AREA_TEXT)
    assert query.matches(entity(polygon(135.47, 34.82, 135.49, 34.84)))
    assert not query.matches(entity(polygon(135.465, 34.815, 135.475, 34.825)))  # inside
    assert not query.matches(entity(polygon(135.50, 34.82, 135.51, 34.84)))  # apart
    assert not query.matches(entity(point([LON, LAT])))  # different dimension


def test_multi_geometries():
    multipoint = {"type": "MultiPoint", "coordinates": [[LON, LAT], [135.60, 34.70]]}
    assert q("intersects", "Polygon", AREA_TEXT).matches(entity(multipoint))
    assert not q("within", "Polygon", AREA_TEXT).matches(entity(multipoint))
    two_areas = [square(135.46, 34.81, 135.48, 34.83), square(135.59, 34.69, 135.61, 34.71)]
    assert q("within", "MultiPolygon", two_areas).matches(entity(multipoint))
    lines = {"type": "MultiLineString", "coordinates": [[[135.0, 34.0], [135.1, 34.1]],
                                                        [[135.45, LAT], [135.49, LAT]]]}
    assert q("intersects", "Polygon", AREA_TEXT).matches(entity(lines))
    assert q("intersects", "MultiLineString", lines["coordinates"]).matches(entity(point([LON, LAT])))
    assert q("near;maxDistance==1000", "MultiPoint", [[0, 0], [LON, LAT]]).matches(entity(point([LON, LAT])))


def test_geometry_collection_entity():
    collection = {"type": "GeometryCollection", "geometries": [point([LON, LAT]),
                                                                polygon(135.465, 34.815, 135.475, 34.825)]}
    assert q("within", "Polygon", AREA_TEXT).matches(entity(collection))
    assert q("near;maxDistance==10", "Point", [LON, LAT]).matches(entity(collection))


def test_any_instance_matches():
    two = entity(point([139.767, 35.681]), point(offset(north_m=100)))
    query = q("near;maxDistance==1000", "Point", [LON, LAT])
    assert query.matches(two)
    assert query.distance(two) == pytest.approx(100, abs=0.5)


def test_custom_geoproperty_and_ignored_instances():
    query = q("within", "Polygon", AREA_TEXT, geoproperty="observationSpace")
    assert query.geoproperty == "https://example.org/observationSpace"
    assert query.matches(entity(point([LON, LAT]), attr="https://example.org/observationSpace"))
    assert not query.matches(entity(point([LON, LAT])))  # location is not the geoproperty asked for
    default = q("within", "Polygon", AREA_TEXT)
    assert default.geoproperty == LOCATION
    assert not default.matches(entity(point([LON, LAT]), kind="Property"))
    assert not default.matches(entity({"type": "Point", "coordinates": [500, 0]}))  # bad stored data
    assert default.distance({"attrs": {}}) is None


# --- geoQ parsing ---------------------------------------------------------------------------------


def test_coordinate_forms():
    expected = {"type": "Point", "coordinates": [135.5, 34.7]}
    assert q("within", "Point", "[135.5,34.7]").geometry == expected
    assert q("within", "Point", "%5B135.5%2C34.7%5D").geometry == expected
    assert q("within", "Point", " [135.5, 34.7] ").geometry == expected
    assert q("within", "point", [135.5, 34.7]).geometry == expected


def test_geoq_from_body():
    query = geoq_from_body({"georel": "near;maxDistance==1000", "geometry": "Point",
                            "coordinates": [LON, LAT], "geoproperty": "location"},
                           lambda t: LOCATION if t == "location" else t)
    assert (query.relation, query.max_distance, query.geoproperty) == ("near", 1000.0, LOCATION)
    assert query.as_dict() == {"georel": "near;maxDistance==1000", "geometry": "Point",
                               "coordinates": [LON, LAT], "geoproperty": LOCATION}
    with pytest.raises(BadRequestData, match="unknown members: coords"):
        geoq_from_body({"georel": "within", "geometry": "Point", "coords": [1, 2]})
    with pytest.raises(BadRequestData, match="JSON object"):
        geoq_from_body(["within"])
    with pytest.raises(BadRequestData, match="missing coordinates"):
        geoq_from_body({"georel": "within", "geometry": "Point"})


def test_fractional_distance():
    assert q("near;maxDistance==12.5", "Point", [0, 0]).georel == "near;maxDistance==12.5"


@pytest.mark.parametrize(
    ("georel", "geometry", "coordinates", "detail"),
    [
        ("within", None, None, "missing geometry, coordinates"),
        (None, "Point", [1, 2], "missing georel"),
        ("within", "Point", "", "missing coordinates"),
        ("inside", "Point", [1, 2], "Unknown georel 'inside'"),
        ("near", "Point", [1, 2], "needs exactly one distance"),
        ("near;maxDistance==-1", "Point", [1, 2], "non-negative"),
        ("near;maxDistance==abc", "Point", [1, 2], "Invalid distance 'abc'"),
        ("near;maxDistance==inf", "Point", [1, 2], "Invalid distance"),
        ("near;maxDistance:1000", "Point", [1, 2], "Invalid near modifier"),
        ("near;radius==10", "Point", [1, 2], "Invalid near modifier"),
        ("near;maxDistance==1;maxDistance==2", "Point", [1, 2], "Invalid near modifier"),
        ("near;maxDistance==1;minDistance==2", "Point", [1, 2], "needs exactly one distance"),
        ("within;maxDistance==1", "Point", [1, 2], "takes no modifiers"),
        ("within", "Circle", [1, 2], "Invalid geoQ geometry 'Circle'"),
        ("within", "GeometryCollection", [1, 2], "Invalid geoQ geometry"),
        ("within", "Point", "135.5,34.7", "must be a JSON array"),
        ("within", "Point", "[135.5,", "must be a JSON array"),
        ("within", "Point", {"lon": 1}, "must be a JSON array"),
        ("within", "Point", [[1, 2]], "geoQ coordinates must be a position"),
        ("within", "Point", [[1, 2], 3], "geoQ coordinates[0] must be a finite number"),
        ("within", "Point", [34.7, 135.5], "latitude 135.5 is outside [-90, 90]"),
        ("within", "LineString", [[1, 2]], "at least 2 positions"),
        ("within", "Polygon", [[[0, 0], [1, 0], [1, 1], [0, 0.5]]], "not a closed linear ring"),
        ("within", "Polygon", [[0, 0], [1, 0], [1, 1], [0, 0]], "geoQ coordinates[0] must be an array"),
    ],
)
def test_invalid_geoq(georel, geometry, coordinates, detail):
    with pytest.raises(BadRequestData, match=detail.replace("[", r"\[").replace("]", r"\]")) as err:
        parse_geoq(georel, geometry, coordinates, None, lambda t: t)
    assert err.value.status == 400


# --- GeoJSON validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "geometry",
    [
        point([LON, LAT]),
        point([LON, LAT, 12.5]),
        point([-180, -90]),
        {"type": "MultiPoint", "coordinates": [[0, 0], [1, 1]]},
        {"type": "LineString", "coordinates": [[0, 0], [1, 1], [2, 0]]},
        {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[2, 2], [3, 3]]]},
        polygon(0, 0, 1, 1),
        {"type": "Polygon", "coordinates": square(0, 0, 10, 10) + [[[2, 2], [2, 3], [3, 3], [2, 2]]]},
        {"type": "MultiPolygon", "coordinates": [square(0, 0, 1, 1), square(2, 2, 3, 3)]},
        {"type": "GeometryCollection", "geometries": [point([0, 0]), polygon(0, 0, 1, 1)]},
        {"type": "Point", "coordinates": [1, 2], "bbox": [1, 2, 1, 2]},
    ],
)
def test_valid_geometries(geometry):
    assert validate_geometry(geometry).geom_type == geometry["type"]


@pytest.mark.parametrize(
    ("geometry", "detail"),
    [
        ("POINT (1 2)", "must be a GeoJSON geometry object"),
        ({"type": "Circle", "coordinates": [1, 2]}, "geometry.type must be one of"),
        ({"type": "Feature", "geometry": point([1, 2])}, "got 'Feature'"),
        ({"type": "point", "coordinates": [1, 2]}, "got 'point'"),
        ({"type": "Point"}, "no 'coordinates' member"),
        (point([1]), "must be a position"),
        (point([1, 2, 3, 4]), "must be a position"),
        (point(["135.5", 34.7]), r"coordinates\[0\] must be a finite number, got '135.5'"),
        (point([True, 34.7]), "must be a finite number, got True"),
        (point([float("nan"), 34.7]), "must be a finite number"),
        (point([181, 0]), "longitude 181 is outside"),
        (point([0, -90.5]), "latitude -90.5 is outside"),
        ({"type": "MultiPoint", "coordinates": []}, "at least 1 positions"),
        ({"type": "MultiPoint", "coordinates": [[0, 0], [1, 1, 1]]}, "mixes positions"),
        ({"type": "LineString", "coordinates": [[0, 0]]}, "at least 2 positions"),
        ({"type": "LineString", "coordinates": [[0, 0], [0, 0]]}, "not a valid LineString: Too few points"),
        ({"type": "MultiLineString", "coordinates": [[0, 0], [1, 1]]},
         r"coordinates\[0\]\[0\] must be a position"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "at least 4 positions"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "not a closed linear ring"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "Self-intersection"),
        ({"type": "Polygon", "coordinates": []}, "at least 1 linear rings"),
        ({"type": "MultiPolygon", "coordinates": [square(0, 0, 2, 2), square(1, 1, 3, 3)]}, "not a valid"),
        ({"type": "MultiPolygon", "coordinates": square(0, 0, 1, 1)},
         r"coordinates\[0\]\[0\] must be an array of at least 4 positions"),
        ({"type": "GeometryCollection", "geometries": []}, "non-empty array"),
        ({"type": "GeometryCollection", "geometries": [point([0, 0]), point([0, 99])]},
         r"geometry.geometries\[1\].coordinates: latitude 99 is outside"),
    ],
)
def test_invalid_geometries(geometry, detail):
    with pytest.raises(BadRequestData, match=detail):
        validate_geometry(geometry)


def test_validation_path_prefix():
    with pytest.raises(BadRequestData, match=r"^location.value.coordinates: longitude 200 is outside"):
        validate_geometry(point([200, 0]), where="location.value")


# --- bounding boxes -------------------------------------------------------------------------------


def test_geometry_bbox():
    assert geometry_bbox(point([LON, LAT, 10])) == (LON, LAT, LON, LAT)
    assert geometry_bbox({"type": "Polygon", "coordinates": AREA}) == (135.46, 34.81, 135.48, 34.83)
    assert geometry_bbox({"type": "GeometryCollection", "geometries": [point([0, 0]), point([5, -3])]}) == (
        0, -3, 5, 0)
    assert geometry_bbox({"type": "MultiLineString", "coordinates": [[[1, 2], [3, -4]], [[-5, 6], [0, 0]]]}) == (
        -5, -4, 3, 6)


def test_search_bbox_per_relation():
    for georel in ("within", "contains", "intersects", "equals", "overlaps"):
        assert q(georel, "Polygon", AREA_TEXT).search_bbox() == (135.46, 34.81, 135.48, 34.83)
    assert q("disjoint", "Polygon", AREA_TEXT).search_bbox() is None
    assert q("near;minDistance==10", "Point", [LON, LAT]).search_bbox() is None


def test_search_bbox_near_scales_longitude():
    west, south, east, north = q("near;maxDistance==1000", "Point", [LON, LAT]).search_bbox()
    assert north - LAT == pytest.approx(1000 / M_PER_DEG_LAT, rel=1e-4)
    assert LAT - south == pytest.approx(1000 / M_PER_DEG_LAT, rel=1e-4)
    assert east - LON == pytest.approx(1000 / M_PER_DEG_LAT / math.cos(math.radians(LAT)), rel=1e-4)
    assert LON - west == pytest.approx(east - LON)


def test_search_bbox_near_poles_and_antimeridian():
    assert q("near;maxDistance==20000", "Point", [10, 89.9]).search_bbox() == pytest.approx(
        (-180, 89.9 - 20000 / M_PER_DEG_LAT, 180, 90), abs=1e-6)
    assert q("near;maxDistance==20000", "Point", [10, -89.9]).search_bbox()[::2] == (-180, 180)
    assert q("near;maxDistance==5000", "Point", [179.99, 0]).search_bbox()[::2] == (-180, 180)
    assert q("near;maxDistance==30000000", "Point", [0, 0]).search_bbox() == (-180, -90, 180, 90)


def destination(lon: float, lat: float, bearing: float, metres: float) -> tuple[float, float]:
    """The point `metres` from (lon, lat) along `bearing` (radians) on the sphere."""
    d, phi, lam = metres / EARTH_RADIUS_M, math.radians(lat), math.radians(lon)
    phi2 = math.asin(math.sin(phi) * math.cos(d) + math.cos(phi) * math.sin(d) * math.cos(bearing))
    lam2 = lam + math.atan2(math.sin(bearing) * math.sin(d) * math.cos(phi),
                            math.cos(d) - math.sin(phi) * math.sin(phi2))
    return (math.degrees(lam2) + 540) % 360 - 180, math.degrees(phi2)


def random_reference(rng: random.Random) -> tuple[float, float]:
    choice = rng.random()
    if choice < 0.2:
        return rng.uniform(-180, 180), rng.choice((-1, 1)) * rng.uniform(85, 90)  # near a pole
    if choice < 0.4:
        return rng.choice((-1, 1)) * rng.uniform(179, 180), rng.uniform(-60, 60)  # near ±180
    if choice < 0.6:
        return LON + rng.uniform(-0.1, 0.1), LAT + rng.uniform(-0.1, 0.1)
    return rng.uniform(-180, 180), rng.uniform(-80, 80)


def ring_of_points(rng: random.Random, lon: float, lat: float, metres: float) -> list[tuple[float, float]]:
    """Points just inside `metres` of (lon, lat) at 360 bearings (where the box is tightest), plus some
    random ones inside and outside."""
    start = rng.uniform(0, 2 * math.pi)
    edge = [destination(lon, lat, start + i * math.pi / 180, metres * (1 - 1e-9)) for i in range(360)]
    return edge + [destination(lon, lat, rng.uniform(0, 2 * math.pi), metres * rng.uniform(0, 1.3))
                   for _ in range(20)]


def test_near_search_bbox_holds_every_matching_point():
    rng = random.Random(20261124)
    matched = 0
    for _ in range(150):
        lon, lat = random_reference(rng)
        max_distance = rng.choice((10, 500, 5_000, 200_000, 2_000_000))
        query = q(f"near;maxDistance=={max_distance}", "Point", [lon, lat])
        box = query.search_bbox()
        for p in ring_of_points(rng, lon, lat, max_distance):
            if query.matches(entity(point(list(p)))):
                matched += 1
                assert boxes_intersect(geometry_bbox(point(list(p))), box), (lon, lat, max_distance, p)
    assert matched > 150 * 360


def test_near_search_bbox_holds_for_shapes():
    # Reference lines spanning up to 10 degrees of latitude: the box must use the highest latitude.
    rng = random.Random(7)
    matched = 0
    for _ in range(60):
        lon, lat = rng.uniform(-170, 170), rng.uniform(-75, 75)
        end = [lon + rng.uniform(-5, 5), lat + rng.uniform(-10, 10)]
        max_distance = rng.choice((1_000, 50_000, 500_000))
        query = q(f"near;maxDistance=={max_distance}", "LineString", [[lon, lat], end])
        box = query.search_bbox()
        highest = max([(lon, lat), tuple(end)], key=lambda v: abs(v[1]))
        for x, y in ring_of_points(rng, *highest, max_distance):
            size = rng.uniform(0, 0.01)
            shape = polygon(x - size, y - size, x, y) if size > 1e-6 and y - size > -90 else point([x, y])
            if query.matches(entity(shape)):
                matched += 1
                assert boxes_intersect(geometry_bbox(shape), box), (lon, lat, end, max_distance, x, y)
    assert matched > 60 * 300


def test_relation_search_bbox_holds_for_random_shapes():
    rng = random.Random(42)
    for georel in ("within", "contains", "intersects", "overlaps", "equals"):
        query = q(georel, "Polygon", AREA_TEXT)
        box = query.search_bbox()
        for _ in range(300):
            x, y = rng.uniform(135.44, 135.50), rng.uniform(34.79, 34.85)
            size = rng.uniform(0.001, 0.03)
            shape = rng.choice((point([x, y]), polygon(x, y, x + size, y + size)))
            if query.matches(entity(shape)):
                assert boxes_intersect(geometry_bbox(shape), box)
