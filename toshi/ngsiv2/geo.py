"""NGSI-v2 geographical queries (`georel`, `geometry`, `coords`), evaluated by toshi.query.geo.

Syntax and error texts are Orion's (GeoFilter::fill, Georel::parse, Geometry::parse):

    georel   = near;maxDistance:N | near;minDistance:N (both may be given) | coveredBy | intersects
               | equals | disjoint
    geometry = point | line | polygon | box
    coords   = "lat,lon;lat,lon;..."        (v2 puts the LATITUDE first; GeoJSON is lon,lat)

`coveredBy` is the entity lying inside the reference shape, its border included (shapely `covers`);
`near` takes a point only; `box` is the rectangle of its two corners. The entity's location is the
attribute that is a GeoProperty (v2 `geo:json`, `geo:point`, `geo:line`, `geo:box`, `geo:polygon`, or an
NGSI-LD GeoProperty) under whatever name: Orion allows one location attribute per entity. When an
entity has several (possible through NGSI-LD), the one with metadata `defaultLocation` = true is used,
else `location`, else the first one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from toshi.core.errors import BadRequestData
from toshi.ngsiv2.errors import bad_request
from toshi.query.geo import GeoQuery, _build

RELATIONS = ("near", "coveredBy", "intersects", "equals", "disjoint")
GEOMETRIES = ("point", "line", "box", "polygon")
PARTIAL = "partial geo expression: geometry, georel and coords have to be provided together"
LOCATION_NAMES = ("https://uri.etsi.org/ngsi-ld/location",)
DEFAULT_LOCATION = "https://uri.etsi.org/ngsi-ld/default-context/defaultLocation"


class GeoSyntaxError(Exception):
    """An Orion geo-query parse error (the text without its prefix)."""


@dataclass(frozen=True)
class V2GeoFilter:
    """A GeoQuery applied to the entity's location attribute, whatever its name.

    `geoproperty` is None so that the SQLite planner filters on every GeoProperty in its R*Tree."""

    query: GeoQuery
    geoproperty: None = None

    def search_bbox(self):
        return self.query.search_bbox()

    def matches(self, entity: dict) -> bool:
        attr = location_attr(entity)
        return attr is not None and self.query.matches(entity, attr)

    def distance(self, entity: dict) -> float | None:
        attr = location_attr(entity)
        return None if attr is None else self.query.distance(entity, attr)

    @property
    def is_near(self) -> bool:
        return self.query.relation == "near"


def location_attr(entity: dict) -> str | None:
    """The expanded name of the entity's location attribute (see the module docstring)."""
    geo = [name for name, instances in entity.get("attrs", {}).items()
           if any(isinstance(i, dict) and i.get("type") == "GeoProperty" for i in instances)]
    if len(geo) <= 1:
        return geo[0] if geo else None
    for name in geo:
        for inst in entity["attrs"][name]:
            if ((inst.get("sub") or {}).get(DEFAULT_LOCATION) or {}).get("value") is True:
                return name
    return next((n for n in geo if n in LOCATION_NAMES), geo[0])


def from_url(georel: str | None, geometry: str | None, coords: str | None) -> V2GeoFilter | None:
    """The filter of GET /v2/entities URL parameters (errors as Orion's getEntities)."""
    georel, geometry, coords = georel or "", geometry or "", coords or ""
    if not (georel or geometry or coords):
        return None
    if coords and not geometry:
        raise bad_request("Invalid query: URI param /coords/ used without /geometry/")
    if geometry and not coords:
        raise bad_request("Invalid query: URI param /geometry/ used without /coords/")
    if georel and not geometry:
        raise bad_request("Invalid query: URI param /georel/ used without /geometry/")
    if not georel:
        raise bad_request("Invalid query: " + PARTIAL)
    try:
        return V2GeoFilter(parse(georel, geometry, coords))
    except GeoSyntaxError as exc:
        raise bad_request(f"Invalid query: {exc}") from None


def from_expression(expression: dict) -> V2GeoFilter | None:
    """The filter of a POST /v2/op/query `expression` (errors as Orion's expression parser)."""
    values = {}
    for key in ("geometry", "coords", "georel"):  # Orion's order
        value = expression.get(key)
        if value is not None and not isinstance(value, str):
            raise bad_request(f"{key} is not a string")
        if value == "":
            raise bad_request(f"{key} is empty")
        values[key] = value
    given = [v for v in values.values() if v]
    if not given:
        return None
    if len(given) < 3:
        raise bad_request(PARTIAL)
    try:
        return V2GeoFilter(parse(values["georel"], values["geometry"], values["coords"]))
    except GeoSyntaxError as exc:
        raise bad_request(f"error parsing geo-query fields: {exc}") from None


def parse(georel: str, geometry: str, coords: str) -> GeoQuery:
    kind = _geometry(geometry)
    relation, max_d, min_d = _georel(georel)
    if kind == "line" and relation == "coveredBy":
        raise GeoSyntaxError("line geometry cannot be used with coveredBy georel")
    if kind == "point" and relation == "coveredBy":
        raise GeoSyntaxError("point geometry cannot be used with coveredBy georel")
    if kind != "point" and relation == "near":
        raise GeoSyntaxError("georel /near/ used with geometry different than point")
    points = _points(coords)
    geojson = _geojson(kind, points)
    try:
        shape = _build(geojson["type"], geojson["coordinates"], "coords")
    except BadRequestData as exc:
        raise GeoSyntaxError(f"invalid coordinates: {exc.detail}") from None
    import shapely  # loaded by _build already; not at import (start-up time)

    shapely.prepare(shape)
    return GeoQuery(relation=relation, geometry=geojson, shape=shape, max_distance=max_d, min_distance=min_d)


def _geometry(text: str) -> str:
    items = [i for i in text.split(";") if i]
    if not items:
        raise GeoSyntaxError("error parsing geometry: empty geometry")
    kind = ""
    for item in items:
        if item not in GEOMETRIES:
            raise GeoSyntaxError("error parsing geometry: Invalid selector in geometry specification")
        if kind:
            raise GeoSyntaxError("error parsing geometry: geometry-type present more than once")
        kind = item
    return kind


def _georel(text: str) -> tuple[str, float | None, float | None]:
    items = [i for i in text.split(";") if i]
    if not items:
        raise GeoSyntaxError("empty georel")
    kind, distances = "", {}
    for item in items:
        if item in RELATIONS:
            if kind:
                raise GeoSyntaxError("georel type present more than once")
            kind = item
            continue
        name, sep, number = item.partition(":")
        if not sep or name not in ("maxDistance", "minDistance"):
            raise GeoSyntaxError("Invalid modifier in georel parameter")
        if name in distances:
            raise GeoSyntaxError(f"{name} present more than once")
        value = _double(number)
        if value is None:
            raise GeoSyntaxError(f"invalid number for {name}")
        distances[name] = value
    for name in distances:
        if kind != "near":
            raise GeoSyntaxError(f"{name} erroneously used with georel /{kind}/")
    if kind == "near" and not distances:
        raise GeoSyntaxError("georel /near/ without either minDistance nor maxDistance")
    if not kind:
        raise GeoSyntaxError("Invalid modifier in georel parameter")
    return kind, distances.get("maxDistance"), distances.get("minDistance")


def _points(coords: str) -> list[tuple[float, float]]:
    """`lat,lon;lat,lon` -> [(lat, lon)]."""
    parts = [p for p in coords.split(";") if p]
    if not parts:
        raise GeoSyntaxError("erroneous coordinates for geometry")
    points = []
    for part in parts:
        pair = [c for c in part.split(",") if c]
        if len(pair) != 2:
            raise GeoSyntaxError("invalid point in URI param /coords/")
        lat, lon = _double(pair[0]), _double(pair[1])
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise GeoSyntaxError("invalid coordinates")
        points.append((lat, lon))
    return points


def _geojson(kind: str, points: list[tuple[float, float]]) -> dict:
    positions = [[lon, lat] for lat, lon in points]
    if kind == "point":
        if len(points) != 1:
            raise GeoSyntaxError("invalid number of coordinates for /point/")
        return {"type": "Point", "coordinates": positions[0]}
    if kind == "line":
        if len(points) < 2:
            raise GeoSyntaxError("invalid number of coordinates for /line/")
        return {"type": "LineString", "coordinates": positions}
    if kind == "box":
        if len(points) != 2:
            raise GeoSyntaxError("invalid number of coordinates for /box/")
        (lat1, lon1), (lat2, lon2) = points
        south, north, west, east = min(lat1, lat2), max(lat1, lat2), min(lon1, lon2), max(lon1, lon2)
        if south == north or west == east:
            raise GeoSyntaxError("box coordinates are not defining an actual box")
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        return {"type": "Polygon", "coordinates": [ring]}
    if len(points) < 4:
        raise GeoSyntaxError("Too few coordinates for polygon")
    if points[0] != points[-1]:
        raise GeoSyntaxError("First and last point in polygon not the same")
    return {"type": "Polygon", "coordinates": [positions]}


def _double(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None
