"""Geo-queries (ETSI GS CIM 009 v1.8, clause 4.10) and strict GeoJSON geometry validation (RFC 7946).

A geoQ compares the GeoJSON geometry of an entity's GeoProperty (default `location`) with a reference
geometry: `rel(entity geometry, reference geometry)` with the OGC Simple Features predicates, so
`within` = the entity lies within the reference and `contains` = the entity contains the reference.
Coordinates are `[longitude, latitude(, altitude)]`; lines and edges are straight in lon/lat space as
RFC 7946 says, and altitude is ignored by every predicate and distance.

Distances (`near`) are metres on a sphere of radius `EARTH_RADIUS_M` (the IUGG mean radius; within
0.5 % of the WGS84 ellipsoid). Point to point is the haversine formula. For other geometries the
closest pair of points is found in a local equirectangular plane (longitude scaled by the cosine of a
reference latitude, an affine map, so the pair are genuine points of both geometries), refined once
around the pair's mid-latitude, and the result is the haversine distance of that pair. This is exact
for points, and for other shapes is never below the true spherical distance; it can overestimate a
little when a shape spans a large range of latitudes or is close to a pole.

Known gaps: no antimeridian handling for shapes (a shape is never split at ±180°; points do wrap);
polygon validity follows OGC (self-intersecting rings and overlapping MultiPolygon parts are rejected).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import orjson

from toshi.core.errors import BadRequestData

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

EARTH_RADIUS_M = 6_371_008.8
LOCATION = "https://uri.etsi.org/ngsi-ld/location"
GEOQ_GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
RELATIONS = ("near", "within", "contains", "intersects", "disjoint", "equals", "overlaps")
DISTANCE_MODIFIERS = ("maxDistance", "minDistance")

Bbox = tuple[float, float, float, float]
_BBOX_MARGIN_DEG = 1e-7  # ~1 cm: absorbs floating-point rounding in search_bbox


@cache
def _shapely():
    """shapely, imported when the first geometry is built: it loads numpy, a tenth of a second that
    `import toshi.app` and the CLI should not pay (tests/architecture/test_light_import.py)."""
    import shapely
    import shapely.ops

    return shapely

# rel(entity, reference); the reference is prepared, so it goes first where the predicate allows.
_PREDICATES: dict[str, Callable[[BaseGeometry, BaseGeometry], bool]] = {
    "within": lambda e, ref: _shapely().contains(ref, e),
    "contains": lambda e, ref: _shapely().within(ref, e),
    "intersects": lambda e, ref: _shapely().intersects(ref, e),
    "disjoint": lambda e, ref: _shapely().disjoint(ref, e),
    "equals": lambda e, ref: _shapely().equals(e, ref),
    "overlaps": lambda e, ref: _shapely().overlaps(e, ref),
    # NGSI-v2 `coveredBy` (not an NGSI-LD georel): within, the reference's border included
    "coveredBy": lambda e, ref: _shapely().covers(ref, e),
}


# --- GeoJSON validation ---------------------------------------------------------------------------


def validate_geometry(obj: Any, *, where: str = "geometry") -> BaseGeometry:
    """Check `obj` is a valid RFC 7946 geometry object and return it as a shapely geometry.

    Raises BadRequestData naming the offending member, e.g. `geometry.coordinates[0][2]: ...`.
    """
    if not isinstance(obj, dict):
        raise _bad(f"{where} must be a GeoJSON geometry object, got {_show(obj)}")
    kind = obj.get("type")
    if kind == "GeometryCollection":
        return _validate_collection(obj, where)
    if kind not in _COORDINATE_CHECKS:
        raise _bad(f"{where}.type must be one of {', '.join(_COORDINATE_CHECKS)} or GeometryCollection, "
                   f"got {_show(kind)}")
    if "coordinates" not in obj:
        raise _bad(f"{where} has no 'coordinates' member")
    return _build(kind, obj["coordinates"], f"{where}.coordinates")


def check_geometry(obj: Any, *, where: str = "geometry") -> None:
    """`validate_geometry` without the shapely object: a Point is checked by its position alone (a
    valid position is always a valid Point), so the common case costs no geometry construction."""
    if isinstance(obj, dict) and obj.get("type") == "Point" and "coordinates" in obj:
        _check_position(obj["coordinates"], f"{where}.coordinates", set())
        return
    validate_geometry(obj, where=where)


def _validate_collection(obj: dict, where: str) -> BaseGeometry:
    members = obj.get("geometries")
    if not isinstance(members, list) or not members:
        raise _bad(f"{where}.geometries must be a non-empty array of geometry objects")
    parts = [validate_geometry(m, where=f"{where}.geometries[{i}]") for i, m in enumerate(members)]
    return _shapely().geometrycollections(parts)


def _build(kind: str, coordinates: Any, where: str) -> BaseGeometry:
    """Check the coordinates of a `kind` geometry, then build it and check OGC validity."""
    dims: set[int] = set()
    _COORDINATE_CHECKS[kind](coordinates, where, dims)
    if len(dims) > 1:
        raise _bad(f"{where} mixes positions with and without altitude")
    shapely = _shapely()
    geometry = shapely.geometry.shape({"type": kind, "coordinates": coordinates})
    if not shapely.is_valid(geometry):
        raise _bad(f"{where} is not a valid {kind}: {shapely.is_valid_reason(geometry)}")
    return geometry


def _check_position(c: Any, where: str, dims: set[int]) -> None:
    if not isinstance(c, list) or len(c) not in (2, 3):
        raise _bad(f"{where} must be a position [longitude, latitude] or [longitude, latitude, altitude], "
                   f"got {_show(c)}")
    for i, n in enumerate(c):
        if isinstance(n, bool) or not isinstance(n, (int, float)) or not math.isfinite(n):
            raise _bad(f"{where}[{i}] must be a finite number, got {_show(n)}")
    if not -180 <= c[0] <= 180:
        raise _bad(f"{where}: longitude {c[0]} is outside [-180, 180]")
    if not -90 <= c[1] <= 90:
        raise _bad(f"{where}: latitude {c[1]} is outside [-90, 90]")
    dims.add(len(c))


def _array_of(item: Callable, minimum: int, noun: str) -> Callable[[Any, str, set[int]], None]:
    """A check for an array of at least `minimum` items, each checked by `item`."""

    def check(c: Any, where: str, dims: set[int]) -> None:
        if not isinstance(c, list) or len(c) < minimum:
            raise _bad(f"{where} must be an array of at least {minimum} {noun}, got {_show(c)}")
        for i, x in enumerate(c):
            item(x, f"{where}[{i}]", dims)

    return check


_check_line = _array_of(_check_position, 2, "positions")
_check_ring_positions = _array_of(_check_position, 4, "positions")


def _check_ring(c: Any, where: str, dims: set[int]) -> None:
    _check_ring_positions(c, where, dims)
    if c[0] != c[-1]:
        raise _bad(f"{where} is not a closed linear ring: first position {c[0]} differs from last {c[-1]}")


_check_polygon = _array_of(_check_ring, 1, "linear rings")

_COORDINATE_CHECKS: dict[str, Callable[[Any, str, set[int]], None]] = {
    "Point": _check_position,
    "MultiPoint": _array_of(_check_position, 1, "positions"),
    "LineString": _check_line,
    "MultiLineString": _array_of(_check_line, 1, "line coordinate arrays"),
    "Polygon": _check_polygon,
    "MultiPolygon": _array_of(_check_polygon, 1, "polygon coordinate arrays"),
}


def entity_bboxes(entity: dict) -> list[tuple[str, Bbox]]:
    """(attribute, bounding box) of every GeoProperty instance of a stored entity, for indexing."""
    return [(name, geometry_bbox(inst["value"])) for name, instances in entity["attrs"].items()
            for inst in instances if inst.get("type") == "GeoProperty" and isinstance(inst.get("value"), dict)]


def geometry_bbox(geojson: dict) -> Bbox:
    """(minx, miny, maxx, maxy) of a stored (already validated) GeoJSON geometry, for indexing."""
    if geojson.get("type") == "Point":
        x, y = geojson["coordinates"][:2]
        return (x, y, x, y)
    xs, ys = [], []
    _collect_positions(geojson, xs, ys)
    if not xs:
        raise BadRequestData("geometry has no positions")
    return (min(xs), min(ys), max(xs), max(ys))


def _collect_positions(geojson: dict, xs: list, ys: list) -> None:
    if geojson.get("type") == "GeometryCollection":
        for part in geojson.get("geometries", []):
            _collect_positions(part, xs, ys)
        return
    stack = [geojson.get("coordinates", [])]
    while stack:
        item = stack.pop()
        if item and isinstance(item[0], (int, float)):
            xs.append(item[0])
            ys.append(item[1])
        else:
            stack.extend(item)


@lru_cache(maxsize=8192)
def _cached_shape(key: bytes) -> BaseGeometry:
    """validate_geometry, cached by the geometry's JSON text (stored entities repeat across queries)."""
    return validate_geometry(orjson.loads(key))


# --- geoQ parsing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeoQuery:
    """A parsed geoQ. `relation` is one of RELATIONS; `geometry` the reference GeoJSON geometry."""

    relation: str
    geometry: dict
    shape: BaseGeometry = field(compare=False, repr=False)
    geoproperty: str = LOCATION
    max_distance: float | None = None
    min_distance: float | None = None

    @property
    def georel(self) -> str:
        """The georel as the spec writes it, e.g. `near;maxDistance==1000`."""
        parts = [self.relation]
        if self.max_distance is not None:
            parts.append(f"maxDistance=={_number_text(self.max_distance)}")
        if self.min_distance is not None:
            parts.append(f"minDistance=={_number_text(self.min_distance)}")
        return ";".join(parts)

    def as_dict(self) -> dict:
        """The POST/subscription form, with the geoproperty left expanded."""
        return {"georel": self.georel, "geometry": self.geometry["type"],
                "coordinates": self.geometry["coordinates"], "geoproperty": self.geoproperty}

    def matches(self, entity: dict, geoproperty: str | None = None) -> bool:
        """True if any instance of the entity's geoproperty (or of `geoproperty`) satisfies the query."""
        return any(self._matches_geometry(g)
                   for g in _entity_geometries(entity, geoproperty or self.geoproperty))

    def distance(self, entity: dict, geoproperty: str | None = None) -> float | None:
        """Metres from the reference geometry to the closest geoproperty instance; None if it has none."""
        distances = [_distance_m(self.shape, g)
                     for g in _entity_geometries(entity, geoproperty or self.geoproperty)]
        return min(distances, default=None)

    def search_bbox(self) -> Bbox | None:
        """A box that the bbox of every matching entity geometry intersects; None when none exists."""
        if self.relation == "disjoint":
            return None
        if self.relation == "near":
            return None if self.max_distance is None else expand_bbox(self.shape.bounds, self.max_distance)
        return tuple(self.shape.bounds)  # type: ignore[return-value]

    def _matches_geometry(self, geometry: BaseGeometry) -> bool:
        if self.relation == "near":
            d = _distance_m(self.shape, geometry)
            return ((self.max_distance is None or d <= self.max_distance)
                    and (self.min_distance is None or d >= self.min_distance))
        try:
            return bool(_PREDICATES[self.relation](geometry, self.shape))
        except _shapely().errors.GEOSException:
            return False


def parse_geoq(georel: str | None, geometry: str | None, coordinates: Any, geoproperty: str | None = None,
               expand: Callable[[str], str] = lambda term: term) -> GeoQuery:
    """Parse the geoQ parts (URL parameters, or the members of a POST body `geoQ`)."""
    missing = [name for name, v in (("georel", georel), ("geometry", geometry), ("coordinates", coordinates))
               if v is None or v == ""]
    if missing:
        raise _bad(f"Incomplete geo-query: missing {', '.join(missing)} "
                   "(georel, geometry and coordinates must be given together)")
    relation, max_distance, min_distance = _parse_georel(georel)
    kind = _geometry_type(geometry)
    coords = _parse_coordinates(coordinates)
    reference = _build(kind, coords, "geoQ coordinates")
    _shapely().prepare(reference)
    if not isinstance(geoproperty, (str, type(None))):
        raise _bad(f"geoproperty must be an attribute name, got {_show(geoproperty)}")
    return GeoQuery(relation=relation, geometry={"type": kind, "coordinates": coords}, shape=reference,
                    geoproperty=expand(geoproperty) if geoproperty else LOCATION,
                    max_distance=max_distance, min_distance=min_distance)


def geoq_from_body(obj: Any, expand: Callable[[str], str] = lambda term: term) -> GeoQuery:
    """Parse the POST form `{"georel": ..., "geometry": ..., "coordinates": ..., "geoproperty": ...}`."""
    if not isinstance(obj, dict):
        raise _bad(f"geoQ must be a JSON object, got {_show(obj)}")
    unknown = sorted(set(obj) - {"georel", "geometry", "coordinates", "geoproperty"})
    if unknown:
        raise _bad(f"geoQ has unknown members: {', '.join(unknown)}")
    return parse_geoq(obj.get("georel"), obj.get("geometry"), obj.get("coordinates"),
                      obj.get("geoproperty"), expand)


def reference_geometry(geometry: Any, coordinates: Any, what: str) -> BaseGeometry:
    """The shape of a geometry given as a type name and coordinates (e.g. orderGeometry / orderFrom)."""
    shape = _build(_geometry_type(geometry), _parse_coordinates(coordinates), what)
    _shapely().prepare(shape)
    return shape


def distance_from(shape: BaseGeometry, entity: dict, geoproperty: str) -> float | None:
    """Metres from `shape` to the closest GeoProperty instance of `geoproperty`; None if it has none."""
    return min((_distance_m(shape, g) for g in _entity_geometries(entity, geoproperty)), default=None)


def _parse_georel(text: Any) -> tuple[str, float | None, float | None]:
    if not isinstance(text, str):
        raise _bad(f"georel must be a string, got {_show(text)}")
    name, *modifiers = text.strip().split(";")
    if name not in RELATIONS:
        raise _bad(f"Unknown georel {name!r}: expected near;maxDistance==N, near;minDistance==N, "
                   "within, contains, intersects, disjoint, equals or overlaps")
    if name != "near":
        if modifiers:
            raise _bad(f"georel {name!r} takes no modifiers, got {text!r}")
        return name, None, None
    return ("near", *_parse_near(modifiers, text))


def _parse_near(modifiers: list[str], text: str) -> tuple[float | None, float | None]:
    """(maxDistance, minDistance) from the `;`-separated parts after `near`."""
    distances: dict[str, float] = {}
    for modifier in modifiers:
        key, sep, value = modifier.strip().partition("==")
        if not sep or key not in DISTANCE_MODIFIERS or key in distances:
            raise _bad(f"Invalid near modifier {modifier!r} in georel {text!r}: "
                       "expected maxDistance==N or minDistance==N (metres)")
        distances[key] = _parse_distance(value, text)
    if len(distances) != 1:  # clause 4.10: near takes exactly one of maxDistance and minDistance
        raise _bad(f"georel 'near' needs exactly one distance, near;maxDistance==N or near;minDistance==N "
                   f"(metres), got {text!r}")
    return distances.get("maxDistance"), distances.get("minDistance")


def _parse_distance(value: str, georel: str) -> float:
    try:
        distance = float(value)
    except ValueError:
        distance = math.nan
    if not math.isfinite(distance) or distance < 0:
        raise _bad(f"Invalid distance {value!r} in georel {georel!r}: "
                   "expected a non-negative number of metres")
    return distance


def _geometry_type(name: Any) -> str:
    """The geoQ geometry name; case-insensitive, since clients often send e.g. `point`."""
    if isinstance(name, str):
        for kind in GEOQ_GEOMETRIES:
            if name.lower() == kind.lower():
                return kind
    raise _bad(f"Invalid geoQ geometry {_show(name)}: expected one of {', '.join(GEOQ_GEOMETRIES)}")


def _parse_coordinates(value: Any) -> list:
    """The coordinates as a list: given parsed (POST body) or as JSON text (URL, maybe still encoded)."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        text = unquote(value) if "%" in value else value
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return parsed
    raise _bad(f"geoQ coordinates must be a JSON array such as [135.47,34.82], got {_show(value)}")


# --- evaluation -----------------------------------------------------------------------------------


def _entity_geometries(entity: dict, geoproperty: str) -> Iterator[BaseGeometry]:
    """Shapes of the entity's valid GeoProperty instances of `geoproperty` (invalid ones are skipped)."""
    for instance in entity.get("attrs", {}).get(geoproperty, ()):
        if isinstance(instance, dict) and instance.get("type") == "GeoProperty":
            try:
                yield _cached_shape(orjson.dumps(instance.get("value")))
            except (BadRequestData, orjson.JSONEncodeError):
                continue


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two lon/lat points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _distance_m(a: BaseGeometry, b: BaseGeometry) -> float:
    """Metres between two geometries (see the module docstring for the method)."""
    if a.geom_type == "Point" and b.geom_type == "Point":
        return haversine_m(a.x, a.y, b.x, b.y)
    if _shapely().intersects(a, b):
        return 0.0
    first = _nearest_pair(a, b, (a.bounds[1] + a.bounds[3]) / 2)
    second = _nearest_pair(a, b, (first[1] + first[3]) / 2)
    return min(haversine_m(*first), haversine_m(*second))


def _nearest_pair(a: BaseGeometry, b: BaseGeometry, lat: float) -> tuple[float, float, float, float]:
    """The closest points (lon_a, lat_a, lon_b, lat_b) in a plane where longitude is scaled by cos(lat)."""
    k = max(math.cos(math.radians(lat)), 1e-6)
    shapely = _shapely()
    pa, pb = shapely.ops.nearest_points(shapely.transform(a, lambda c: c * (k, 1.0)),
                                        shapely.transform(b, lambda c: c * (k, 1.0)))
    return pa.x / k, pa.y, pb.x / k, pb.y


def expand_bbox(bounds: Bbox | tuple[float, ...], metres: float) -> Bbox:
    """A lon/lat box holding every point within `metres` (on the sphere) of some point of `bounds`.

    Latitudes grow by the angular distance; longitudes by asin(sin d / cos lat) at the box's
    highest |lat|. If a pole is reachable, or the box would cross ±180°, the full range is used.
    """
    minx, miny, maxx, maxy = bounds
    delta = metres / EARTH_RADIUS_M
    dlat = math.degrees(delta) + _BBOX_MARGIN_DEG
    south, north = miny - dlat, maxy + dlat
    if south <= -90 or north >= 90:
        return (-180.0, max(south, -90.0), 180.0, min(north, 90.0))
    # The pole is out of reach, so the ratio is below 1 (min() only guards rounding).
    ratio = math.sin(delta) / math.cos(math.radians(max(abs(miny), abs(maxy))))
    dlon = math.degrees(math.asin(min(1.0, ratio))) + _BBOX_MARGIN_DEG
    west, east = minx - dlon, maxx + dlon
    if west < -180 or east > 180:
        return (-180.0, south, 180.0, north)
    return (west, south, east, north)


# --- helpers --------------------------------------------------------------------------------------


def _bad(detail: str) -> BadRequestData:
    return BadRequestData(detail)


def _show(value: Any) -> str:
    """A short rendering of a client value for error details."""
    text = "nothing" if value is None else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _number_text(n: float) -> str:
    return str(int(n)) if n == int(n) else repr(n)
