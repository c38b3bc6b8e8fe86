"""NGSI-v2 entities and attributes <-> the internal entity (expanded NGSI-LD, docs/internals.md).

One mapping for every v2 endpoint (documented in docs/ngsi-v2.md):

* attribute `{"type": T, "value": V, "metadata": M}` -> one default instance (no datasetId):
  a Relationship (object V) when T is `Relationship` and V a string; a GeoProperty for `geo:json`
  (V the geometry) and for the simple location formats `geo:point` / `geo:line` / `geo:box` /
  `geo:polygon` (converted to GeoJSON, the original text kept as `v2Value`); otherwise a Property.
  An explicit T that differs from the type Orion would infer is kept as `v2Type`.
* metadata `unitCode` -> `unitCode`; `TimeInstant` / `observedAt` -> `observedAt` (`v2ObservedAs`
  remembers TimeInstant); every other metadata item -> a sub-property (with its `v2Type`).
* names (entity type, attribute, metadata) go through the core @context: `temperature` <-> its IRI.
"""

from __future__ import annotations

import math
from typing import Any

from toshi.core.errors import BadRequestData
from toshi.core.times import is_datetime
from toshi.formats.ngsild_http import check_depth
from toshi.ngsiv2.dates import DATE_TYPES, canonical_datetime
from toshi.ngsiv2.errors import bad_request, parse_error
from toshi.query.regex import compile_pattern

GEO_TYPES = ("geo:point", "geo:line", "geo:box", "geo:polygon", "geo:json")
GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
FORBIDDEN = set('<>"\'=;()')
FORBIDDEN_IN_NAMES = FORBIDDEN | set("&?/#")
MAX_NAME = 256
# the manual's "Attribute names restrictions"; builtin names (dateCreated, ...) are discouraged but
# allowed: "Orion will let you do so" (User attributes or metadata matching builtin name)
RESERVED_ATTRS = ("id", "type", "geo:distance", "*")
ATTR_KEYS = {"type", "value", "metadata"}
DEFAULT_ENTITY_TYPE = "Thing"
TIME_METADATA = ("TimeInstant", "observedAt")
EXPIRES = "dateExpires"  # a builtin attribute that clients write (transient entities)


# -- field syntax ---------------------------------------------------------------------------------

def check_name(value: Any, what: str) -> str:
    """An id, type or name that follows Orion's field syntax rules, else 400 BadRequest."""
    if not isinstance(value, str):
        raise bad_request(f"Invalid JSON type for {what}")
    if not value:
        raise bad_request(f"{what} length: 0, min length supported: 1")
    if len(value) > MAX_NAME:
        raise bad_request(f"{what} length: {len(value)}, max length supported: {MAX_NAME}")
    if bad_characters(value):
        raise bad_request(f"Invalid characters in {what}")
    return value


def bad_characters(value: str) -> bool:
    """Characters Orion's identifier rules forbid: `<>"'=;()`, `&?/#`, whitespace, control and non-ASCII."""
    return any(c in FORBIDDEN_IN_NAMES or not c.isascii() or not c.isprintable() or c.isspace() for c in value)


MAX_VALUE_NESTING = 50  # Orion's limit on compound attribute and metadata values (its "Known limitations")
TOO_DEEP = f"attribute or metadata value has overpassed maximum nesting limit: {MAX_VALUE_NESTING}"


def check_nesting(value: Any, limit: int = MAX_VALUE_NESTING) -> None:
    """A value (or a body) with an object / array at a level greater than `limit` is 400 ParseError, as
    Orion: its parseCompoundValue calls the outermost container level 0 and refuses `deep >
    MAX_JSON_NESTING`, so `limit` + 1 containers nest, one more does not."""
    try:
        check_depth(value, limit + 1)
    except BadRequestData:
        raise parse_error(TOO_DEEP) from None


def check_value(value: Any) -> None:
    """Orion refuses the characters <>"'=;() in attribute values (use type TextUnrestricted)."""
    if isinstance(value, str):
        if any(c in FORBIDDEN for c in value):
            raise bad_request("Invalid characters in attribute value")
    elif isinstance(value, dict):
        for item in value.values():
            check_value(item)
    elif isinstance(value, list):
        for item in value:
            check_value(item)


def whole_numbers(value: Any) -> Any:
    """`value` with every integral float as an int (`1.0` -> `1`, also inside compound values): Orion
    keeps one kind of number (a double) and renders a whole one without a fraction."""
    if type(value) is float:
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()} if _has_float(value) else value
    if isinstance(value, list):
        return [whole_numbers(v) for v in value] if _has_float(value) else value
    return value


def _has_float(value: Any) -> bool:
    todo = [value]
    while todo:
        item = todo.pop()
        if type(item) is float:
            return True
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return False


def infer_type(value: Any) -> str:
    """The attribute / metadata type Orion uses when the request gives none."""
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, (int, float)):
        return "Number"
    if isinstance(value, str):
        return "Text"
    if value is None:
        return "None"
    return "StructuredValue"


# -- v2 -> internal -------------------------------------------------------------------------------

def parse_entity(data: Any, ctx, now: str, *, key_values: bool, scope: list[str], batch: bool = False) -> dict:
    """A v2 entity payload -> the parsed form `toshi.core.entity` operations take.

    Checked as Orion's parseEntity does: `id` must be there, then the members in the order the payload
    gives them (the JSON type and characters of `id`, of `type` and its emptiness, each attribute), then
    an empty id and the lengths (Orion's later Entity::check). An entity of op/update (`batch`, Orion's
    parseEntityObject) may give `typePattern`, which then stands for the type (`batch_type`)."""
    if not isinstance(data, dict):
        raise bad_request("Invalid JSON type for entity: it must be an object")
    if "id" not in data:
        raise bad_request("entity id length: 0, min length supported: 1")
    attrs: dict[str, list[dict]] = {}
    for name, raw in data.items():
        if name == "typePattern" and batch:
            _check_type_pattern(raw)
            continue
        if name in ("id", "type"):
            what = f"entity {name}"
            if not isinstance(raw, str):
                raise bad_request(f"Invalid JSON type for {what}")
            if name == "type" and not raw:
                raise bad_request("entity type length: 0, min length supported: 1")
            if bad_characters(raw):
                raise bad_request(f"Invalid characters in {what}")
            continue
        iri, inst = _parsed_attribute(name, raw, ctx, now, key_values)
        attrs[iri] = [inst]
    entity_id = check_name(data["id"], "entity id")
    entity_type = check_name(batch_type(data) or DEFAULT_ENTITY_TYPE, "entity type")
    parsed = {"id": entity_id, "type": [ctx.expand_term(entity_type)], "attrs": attrs}
    if scope:
        parsed["scope"] = scope
    return parsed


def batch_type(data: dict) -> str | None:
    """The type an op/update entity gives: the later of `type` / `typePattern` (each overwrites Orion's
    one type field), a pattern compared literally, as Orion's batch update looks the entity up by a
    type equal to its text; an empty pattern (or neither member) is no type."""
    given = [name for name, value in data.items() if name in ("type", "typePattern") and isinstance(value, str)]
    return (data[given[-1]] or None) if given else None


def _check_type_pattern(raw: Any) -> None:
    if not isinstance(raw, str):
        raise bad_request("Invalid JSON type for entity typePattern")
    try:
        compile_pattern(raw)
    except BadRequestData:
        raise bad_request("Invalid regex for entity typePattern") from None


def parse_attrs(data: Any, ctx, now: str, *, key_values: bool) -> dict[str, list[dict]]:
    """A v2 attributes object (no id / type) -> {expanded name: [instance]}."""
    if not isinstance(data, dict):
        raise bad_request("Invalid JSON type: attributes must be given as a JSON object")
    for name in ("id", "type"):  # a payload of attributes only (the entity is in the URL): Orion looks first
        if name in data:
            raise bad_request(f"entity {name} specified in payload")
    attrs: dict[str, list[dict]] = {}
    for name, raw in data.items():
        iri, inst = _parsed_attribute(name, raw, ctx, now, key_values)
        attrs[iri] = [inst]
    return attrs


def _parsed_attribute(name: str, raw: Any, ctx, now: str, key_values: bool) -> tuple[str, dict]:
    if name == EXPIRES:
        return ctx.expand_term(name), _expiry_attribute(raw, ctx, now, key_values)
    inst = parse_attribute(raw, ctx, now, key_values=key_values, orion_dates=True, name=name)
    return ctx.expand_term(name), inst


def _expiry_attribute(raw: Any, ctx, now: str, key_values: bool) -> dict:
    """`dateExpires` (transient entities, toshi.ngsiv2.expiry): a DateTime, else 400 as Orion."""
    if key_values:
        raw = {"value": raw}
    if not isinstance(raw, dict) or set(raw) - ATTR_KEYS:
        raise bad_request("attribute must be a JSON object, unless keyValues option is used")
    value = canonical_datetime(raw.get("value"))
    if raw.get("type", "DateTime") != "DateTime" or value is None:
        raise bad_request("date has invalid format")
    inst = {"type": "Property", "value": value, "v2Type": "DateTime", "createdAt": now, "modifiedAt": now}
    _apply_metadata(inst, raw.get("metadata"), ctx, now)
    return inst


def check_attr_name(name: str) -> str:
    check_name(name, "attribute name")
    if name in RESERVED_ATTRS:
        raise bad_request(f"Invalid attribute name: {name} is a reserved name")
    return name


class ValueGivenTwice(dict):
    """A JSON object of a request body in which `value` was given twice (toshi.ngsiv2.request.read_json
    marks it; the last one is kept): as an attribute, Orion refuses it."""


def parse_attribute(raw: Any, ctx, now: str, *, key_values: bool = False, orion_dates: bool = False,
                    name: str | None = None) -> dict:
    """One v2 attribute (or, in keyValues, its bare value) -> an internal instance. `orion_dates` (the
    /v2 API): DateTime values are checked and stored in Orion's form (toshi.ngsiv2.dates); without it
    (other features' writers, e.g. the IoT agent) they are kept as written.

    Checked in Orion's order: the JSON of the attribute member by member (parseContextAttributeObject:
    the type's JSON type, `value` given twice, the metadata's structure, unknown members), a DateTime
    value, then (ContextAttribute::check) the `name` when given, the type, the value's characters and
    the metadata's names, types and values."""
    if key_values:
        raw = {"value": raw}
    elif not isinstance(raw, dict):
        raise bad_request("attribute must be a JSON object, unless keyValues option is used")
    for key, member in raw.items():
        if key == "type":
            if not isinstance(member, str):
                raise bad_request("invalid JSON type for attribute type")
        elif key == "value":
            if isinstance(raw, ValueGivenTwice):
                raise bad_request("duplicated value key in attribute")
        elif key == "metadata":
            _check_metadata_json(member, orion_dates)
        else:
            raise bad_request("unrecognized property for context attribute")
    value = whole_numbers(raw.get("value"))
    check_nesting(value)
    given = raw.get("type")
    metadata = raw.get("metadata")
    if given in DATE_TYPES and orion_dates:
        value = _date_value(value)
    if name is not None:
        check_attr_name(name)
    if given is not None:
        check_name(given, "attribute type")
    if given != "TextUnrestricted" and not _flag(metadata, "TextUnrestricted"):
        check_value(value)
    inst = _instance(given, value, ignore_type=_flag(metadata, "ignoreType"))
    inst.update(createdAt=now, modifiedAt=now)
    _apply_metadata(inst, metadata, ctx, now, orion_dates)
    return inst


def _check_metadata_json(metadata: Any, orion_dates: bool) -> None:
    """The `metadata` member as Orion's parseMetadataVector / parseMetadataObject read it, with their
    texts: an object of objects holding only `type` (a string) and `value`; a DateTime readable."""
    if not isinstance(metadata, dict):
        raise bad_request("metadata not a JSON object")
    for item in metadata.values():
        if not isinstance(item, dict):
            raise bad_request("metadata must be a JSON object")
        for key, member in item.items():
            if key == "type":
                if not isinstance(member, str):
                    raise bad_request("invalid JSON type for attribute metadata type")
            elif key != "value":
                raise bad_request("invalid JSON field for attribute metadata")
        if item.get("type") in DATE_TYPES and orion_dates:
            _date_value(item.get("value"))


def _flag(metadata: Any, name: str) -> bool:
    """A boolean metadata item of the request set to true (`TextUnrestricted`, `ignoreType`)."""
    item = metadata.get(name) if isinstance(metadata, dict) else None
    return isinstance(item, dict) and item.get("value") is True


def _date_value(value: Any) -> Any:
    """A DateTime value in Orion's form (null stays null; an update operator is computed later)."""
    from toshi.ngsiv2.operators import operation_of  # operators.py builds on this module

    if value is None or operation_of(value) is not None:
        return value
    canonical = canonical_datetime(value)
    if canonical is None:
        raise bad_request("date has invalid format")
    return canonical


def _instance(given: str | None, value: Any, *, ignore_type: bool = False) -> dict:
    if given == "Relationship" and isinstance(value, str):
        return {"type": "Relationship", "object": value, "v2Type": given}
    if given in GEO_TYPES and (value is None or ignore_type):
        # the manual: a null location, or one with `ignoreType`, is no location (not in geo-queries)
        return {"type": "Property", "value": value, "v2Type": given}
    if given in GEO_TYPES:
        inst = {"type": "GeoProperty", "value": geometry_of(given, value), "v2Type": given}
        if given != "geo:json":
            inst["v2Value"] = value
        return inst
    inst = {"type": "Property", "value": value}
    if given is not None and given != infer_type(value):
        inst["v2Type"] = given
    return inst


def _apply_metadata(inst: dict, metadata: Any, ctx, now: str, orion_dates: bool = False) -> None:
    if metadata is None:
        return
    _check_metadata_json(metadata, orion_dates)
    subs: dict[str, dict] = {}
    # both TimeInstant and observedAt given: observedAt is the instance's, TimeInstant ordinary metadata
    shadowed = {"TimeInstant"} if "observedAt" in metadata else set()
    for name, item in metadata.items():
        check_name(name, "metadata name")
        value, given = whole_numbers(item.get("value")), item.get("type")
        check_nesting(value)
        if given is not None:
            check_name(given, "metadata type")
        if isinstance(value, str) and any(c in FORBIDDEN for c in value):  # TextUnrestricted lifts nothing here
            raise bad_request("Invalid characters in metadata value")
        if given in DATE_TYPES and orion_dates:
            value = _date_value(value)
        # unitCode / TimeInstant / observedAt become the instance's own members only when they render
        # back as given (Text; DateTime); else they are metadata like any other
        if name == "unitCode" and isinstance(value, str) and given in (None, "Text"):
            inst["unitCode"] = value
        elif name in TIME_METADATA and given == "DateTime" and is_datetime(value) and name not in shadowed:
            inst["observedAt"] = value
            if name == "TimeInstant":
                inst["v2ObservedAs"] = name
        else:
            sub = {"type": "Property", "value": value, "createdAt": now, "modifiedAt": now}
            if given is not None and given != infer_type(value):
                sub["v2Type"] = given
            subs[ctx.expand_term(name)] = sub
    if subs:
        inst["sub"] = subs


LOCATION_ERROR = "error parsing location attribute: "


def geometry_of(v2_type: str, value: Any) -> dict:
    """The GeoJSON geometry of a geo:* attribute value, else 400 BadRequest with the texts of Orion's
    getGeoJson (location.cpp). A geo:json `Feature` gives its `geometry`, a `FeatureCollection` of one
    Feature that Feature's (the manual: only that part is rendered back)."""
    if v2_type == "geo:json":
        geometry = _feature_geometry(value)
        if isinstance(geometry, dict) and geometry.get("type") in GEOMETRY_TYPES and "coordinates" in geometry:
            return geometry
        raise bad_request(LOCATION_ERROR + "geo:json needs a GeoJSON geometry")
    if v2_type == "geo:point":
        lat, lon = _pair(value if isinstance(value, str) else "")
        return {"type": "Point", "coordinates": [lon, lat]}
    if not isinstance(value, list):
        raise bad_request(LOCATION_ERROR + "geo:line, geo:box and geo:polygon needs array of strings as value")
    if not all(isinstance(item, str) for item in value):
        raise bad_request(LOCATION_ERROR + "geo:line, geo:box and geo:polygon needs array of strings but some "
                          "element is not a string")
    points = [_pair(item) for item in value]
    coords = [[lon, lat] for lat, lon in points]
    if v2_type == "geo:box":
        if len(coords) != 2:
            raise bad_request(LOCATION_ERROR + "geo:box uses exactly 2 coordinates")
        (x1, y1), (x2, y2) = coords
        if x1 == x2 or y1 == y2:
            raise bad_request(LOCATION_ERROR + "geo:box coordinates are not defining an actual box")
        ring = [[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]
        return {"type": "Polygon", "coordinates": [ring]}
    if v2_type == "geo:line":
        if len(coords) < 2:
            raise bad_request(LOCATION_ERROR + "geo:line uses at least 2 coordinates")
        return {"type": "LineString", "coordinates": coords}
    if len(coords) < 4:
        raise bad_request(LOCATION_ERROR + "geo:polygon uses at least 4 coordinates")
    if coords[0] != coords[-1]:
        raise bad_request(LOCATION_ERROR + "geo:polygon first and last coordinates must match")
    return {"type": "Polygon", "coordinates": [coords]}


def _feature_geometry(value: Any) -> Any:
    """The geometry of a GeoJSON Feature / FeatureCollection (one Feature), else `value` itself."""
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "FeatureCollection":
        if "features" not in value:
            raise bad_request(LOCATION_ERROR + "features field not found in FeatureCollection")
        features = value["features"]
        if not isinstance(features, list):
            raise bad_request(LOCATION_ERROR + "features in FeatureCollection is not an array")
        if not features:
            raise bad_request(LOCATION_ERROR + "features in FeatureCollection has 0 items")
        if len(features) > 1:
            raise bad_request(LOCATION_ERROR + "features in FeatureCollection has more than 1 item")
        value, kind = features[0], "Feature"
        if not isinstance(value, dict):
            raise bad_request(LOCATION_ERROR + "geometry in Feature not found")
    if kind == "Feature":
        if "geometry" not in value:
            raise bad_request(LOCATION_ERROR + "geometry in Feature not found")
        if not isinstance(value["geometry"], dict):
            raise bad_request(LOCATION_ERROR + "geometry in Feature is not an object")
        return value["geometry"]
    return value


def _pair(text: str) -> tuple[float, float]:
    """'lat, lon' -> (lat, lon), within WGS84 ranges, else Orion's format error."""
    try:
        lat, lon = (float(p) for p in text.split(","))
    except ValueError:
        lat = lon = math.nan
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise bad_request(LOCATION_ERROR + f"geo coordinates format error [see Orion user manual]: {text}")
    return lat, lon


# -- internal -> v2 -------------------------------------------------------------------------------

def main_instance(instances: list[dict]) -> dict:
    """The instance v2 shows: the default one (no datasetId), else the first."""
    return next((i for i in instances if "datasetId" not in i), instances[0])


def v2_value(inst: dict, ctx) -> Any:
    kind = inst["type"]
    if kind == "GeoProperty":
        return _geo_value(inst)
    if kind == "Relationship":
        return inst["object"]
    if kind == "ListRelationship":
        return inst["objectList"]
    if kind == "LanguageProperty":
        return inst["languageMap"]
    if kind == "JsonProperty":
        return inst["json"]
    if kind == "VocabProperty":
        vocab = inst["vocab"]
        return [ctx.compact_iri(v) for v in vocab] if isinstance(vocab, list) else ctx.compact_iri(vocab)
    if kind == "ListProperty":
        return inst["valueList"]
    return inst.get("value")


def v2_type(inst: dict) -> str:
    kind = inst["type"]
    given = inst.get("v2Type")
    if kind == "Property":
        if given in GEO_TYPES:  # a location that is none: null or `ignoreType` (see _instance)
            return given if inst.get("value") is None or _ignored(inst) else infer_type(inst.get("value"))
        return given or infer_type(inst.get("value"))
    if kind == "GeoProperty":
        return given if given in GEO_TYPES and _geo_value(inst) is not inst.get("value") else "geo:json"
    return kind  # Relationship, LanguageProperty, JsonProperty, VocabProperty, ListProperty, ...


def _ignored(inst: dict) -> bool:
    return any(iri.endswith("ignoreType") and sub.get("value") is True for iri, sub in (inst.get("sub") or {}).items())


def _geo_value(inst: dict) -> Any:
    """The original simple-location text when it still describes the stored geometry, else GeoJSON."""
    original, given = inst.get("v2Value"), inst.get("v2Type")
    if original is not None and given in GEO_TYPES:
        try:
            if geometry_of(given, original) == inst.get("value"):
                return original
        except Exception:  # noqa: BLE001 - a stale or foreign v2Value is simply not used
            pass
    return inst.get("value")


def render_attribute(inst: dict, ctx, metadata: list[str] | None = None) -> dict:
    return {"type": v2_type(inst), "value": v2_value(inst, ctx), "metadata": render_metadata(inst, ctx, metadata)}


def render_metadata(inst: dict, ctx, wanted: list[str] | None) -> dict:
    """Metadata of an instance; `wanted` as the `metadata` parameter ('*' = all user metadata)."""
    user: dict[str, dict] = {}
    if "unitCode" in inst:
        user["unitCode"] = {"type": "Text", "value": inst["unitCode"]}
    if "observedAt" in inst:
        user[inst.get("v2ObservedAs", "observedAt")] = {"type": "DateTime", "value": inst["observedAt"]}
    for iri, sub in (inst.get("sub") or {}).items():
        user[ctx.compact_iri(iri)] = {"type": v2_type(sub), "value": v2_value(sub, ctx)}
    if wanted is None:
        return user
    builtin = {"dateCreated": inst.get("createdAt"), "dateModified": inst.get("modifiedAt")}
    out: dict[str, dict] = {}
    for name in wanted:
        if name == "*":
            out.update(user)
        elif name in builtin and builtin[name] is not None:
            out[name] = {"type": "DateTime", "value": builtin[name]}
        elif name in user:
            out[name] = user[name]
    return out


def entity_type(entity: dict, ctx) -> str:
    return ctx.compact_iri(entity["type"][0]) if entity.get("type") else DEFAULT_ENTITY_TYPE


def listed_names(wanted: list[str], user_names: list[str]) -> list[str]:
    """The names an `attrs` list selects, in Orion's order (its filterAndOrderAttrs): as listed, or,
    when the list holds `*`, every user attribute in the entity's order, then the other names listed."""
    if "*" in wanted:
        wanted = user_names + [name for name in wanted if name != "*"]
    return list(dict.fromkeys(wanted))


def selected_attrs(entity: dict, ctx, attrs: list[str] | None,
                   metadata: list[str] | None = None) -> list[tuple[str, dict]]:
    """(name, v2 attribute) pairs in output order; `attrs` as the `attrs` parameter."""
    user = [name for iri, instances in entity["attrs"].items()
            if instances and (name := ctx.compact_iri(iri)) != EXPIRES]  # dateExpires: only when asked
    builtin = {"dateCreated": entity.get("createdAt"), "dateModified": entity.get("modifiedAt"),
               "servicePath": (entity.get("scope") or ["/"])[0]}
    pairs: list[tuple[str, dict]] = []
    for name in listed_names(attrs if attrs is not None else ["*"], user):
        if name in builtin and ctx.expand_term(name) not in entity["attrs"]:  # a user attribute wins
            if builtin[name] is not None:
                kind = "Text" if name == "servicePath" else "DateTime"
                pairs.append((name, {"type": kind, "value": builtin[name], "metadata": {}}))
        else:
            instances = entity["attrs"].get(ctx.expand_term(name))
            if instances:
                pairs.append((name, render_attribute(main_instance(instances), ctx, metadata)))
    return pairs


def render_entity(entity: dict, ctx, *, form: str = "normalized", attrs: list[str] | None = None,
                  metadata: list[str] | None = None, with_id: bool = True) -> Any:
    """An entity in one of Orion's forms: normalized, keyValues, values (a list)."""
    pairs = selected_attrs(entity, ctx, attrs, metadata)
    if form == "values":
        return [attr["value"] for _, attr in pairs]
    out: dict[str, Any] = {"id": entity["id"], "type": entity_type(entity, ctx)} if with_id else {}
    for name, attr in pairs:
        out[name] = attr["value"] if form == "keyValues" else attr
    return out
