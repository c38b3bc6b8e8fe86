"""Internal entity (docs/internals.md) -> NGSI-LD output, per ETSI GS CIM 009 v1.8 clauses 4.5, 4.15.

Forms: `normalized` (clause 4.5.2), `concise` (4.5.3: `type` dropped where the parser can infer it,
a Property with nothing but a value given as the bare value), `keyValues` / `simplified` (4.5.4: the
value, the object, the valueList, the objectList as an array of URIs, `{"languageMap": ...}`,
`{"json": ...}`, `{"vocab": ...}`; an attribute with several instances becomes
`{"dataset": {datasetId or "@none": value}}`). GeoJSON per 4.5.16 / 4.5.17.

The output has no @context: the HTTP layer adds it (body or Link header). This is the hot path of GET:
no work is done per call beyond building the output.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable
from typing import Any

from toshi.core.errors import BadRequestData, InvalidRequest
from toshi.formats.ngsild_parse import GEO_ATTRS, GEOMETRY_TYPES, NGSI_LD, PRINCIPAL_KEYS, ActiveContextLike

NORMALIZED, CONCISE, KEY_VALUES = "normalized", "concise", "keyValues"
_FORMS = {"normalized": NORMALIZED, "concise": CONCISE, "keyValues": KEY_VALUES, "simplified": KEY_VALUES}
LOCATION = NGSI_LD + "location"
_BARE_CLASH = PRINCIPAL_KEYS | {"type"}  # keys that would make a bare concise value read back differently


def render_entity(
    entity: dict,
    ctx: ActiveContextLike,
    *,
    form: str = NORMALIZED,
    sys_attrs: bool = False,
    attrs: Collection[str] | None = None,
    pick: Collection[str] | None = None,
    omit: Collection[str] | None = None,
    lang: str | None = None,
    dataset_id: Collection[str] | None = None,
) -> dict:
    """Render one entity.

    attrs: expanded attribute names to keep (None = all). pick / omit: top-level member names to keep /
    drop, compact or expanded, `id`, `type` and `scope` included (v1.8 clause 5.7.1). lang: the `lang`
    parameter (clause 4.15). dataset_id: datasetIds of the instances to keep, "@none" for the default one.
    """
    mode = _form(form)
    ranges = language_ranges(lang) if lang is not None else None
    out: dict[str, Any] = {}
    if _wanted("id", "id", pick, omit):
        out["id"] = entity["id"]
    if "type" in entity and _wanted("type", "type", pick, omit):
        out["type"] = _one_or_many([ctx.compact_iri(iri) for iri in entity["type"]])
    if entity.get("scope") and _wanted("scope", "scope", pick, omit):
        out["scope"] = _one_or_many(entity["scope"])
    if sys_attrs:
        _copy_times(entity, out)
    for iri, instances in entity["attrs"].items():
        if attrs is not None and iri not in attrs:
            continue
        name = ctx.compact_iri(iri)
        if not _wanted(name, iri, pick, omit):
            continue
        if dataset_id is not None:
            instances = [inst for inst in instances if inst.get("datasetId", "@none") in dataset_id]
            if not instances:
                continue
        out[name] = render_attribute(iri, instances, ctx, form=mode, sys_attrs=sys_attrs, ranges=ranges)
    return out


def render_attribute(
    iri: str,
    instances: list[dict],
    ctx: ActiveContextLike,
    *,
    form: str = NORMALIZED,
    sys_attrs: bool = False,
    ranges: tuple[str, ...] | None = None,
) -> Any:
    """One attribute: a single instance as itself, several as a list (a dataset map in keyValues)."""
    if form == KEY_VALUES:
        if len(instances) == 1:
            return _simple(instances[0], ctx, ranges)
        return {"dataset": {inst.get("datasetId", "@none"): _simple(inst, ctx, ranges) for inst in instances}}
    if len(instances) == 1:
        return _instance(iri, instances[0], ctx, form, sys_attrs, ranges, True)
    return [_instance(iri, inst, ctx, form, sys_attrs, ranges, False) for inst in instances]


def render_geojson(
    entity: dict,
    ctx: ActiveContextLike,
    *,
    geometry_property: str = LOCATION,
    form: str = NORMALIZED,
    **options: Any,
) -> dict:
    """A GeoJSON Feature (clauses 4.5.16, 4.5.17); `geometry_property` is expanded, options as render_entity.

    The geometry is the value of the default instance (else the first) of that attribute, or null when
    the entity lacks it or its value is not a GeoJSON geometry.
    """
    properties = render_entity(entity, ctx, form=form, **options)
    properties.pop("id", None)
    return {
        "id": entity["id"],
        "type": "Feature",
        "geometry": _geometry(entity["attrs"].get(geometry_property)),
        "properties": properties,
    }


def render_feature_collection(features: Iterable[dict]) -> dict:
    """A GeoJSON FeatureCollection of render_geojson() Features (clause 4.5.16.3)."""
    return {"type": "FeatureCollection", "features": list(features)}


_LANGUAGE_RANGE = re.compile(r"\*|[a-z]{1,8}(?:-[a-z0-9]{1,8})*")  # RFC 4647 2.1 (lower case here)


@functools.lru_cache(maxsize=256)
def language_ranges(lang: str) -> tuple[str, ...]:
    """The `lang` parameter -> lower-case language ranges by decreasing q (clause 4.15, RFC 7231 style).

    `en`, `fr-CH,fr;q=0.9,*;q=0.5` and `*` are valid; q=0 ranges are dropped.
    """
    weighted: list[tuple[float, str]] = []
    for item in lang.split(","):
        tag, _, params = item.strip().partition(";")
        tag = tag.strip().lower()
        weight = 1.0
        if params:
            name, _, number = params.strip().partition("=")
            try:
                weight = float(number)
            except ValueError:
                weight = -1.0
            if name.strip() != "q" or not 0 <= weight <= 1:
                raise BadRequestData(f"invalid lang parameter {lang!r}: bad weight {params.strip()!r}")
        if not _LANGUAGE_RANGE.fullmatch(tag):
            raise BadRequestData(f"invalid lang parameter {lang!r}: {tag!r} is no language range")
        if weight > 0:
            weighted.append((weight, tag))
    weighted.sort(key=lambda pair: -pair[0])  # stable: equal weights keep their order
    return tuple(tag for _, tag in weighted)


def best_language(language_map: dict, ranges: tuple[str, ...]) -> str | None:
    """The key of `language_map` to show for `ranges`: per range exact, then shorter, then longer tag
    (RFC 4647 lookup, case-insensitive); `*` matches every language: None, the whole map is shown
    (clause 4.15); finally @none, else any language."""
    lowered = {tag.lower(): tag for tag in language_map}
    for wanted in ranges:
        if wanted == "*":
            return None
        if wanted in lowered:
            return lowered[wanted]
        cut = wanted.rfind("-")
        while cut > 0:
            if wanted[:cut] in lowered:
                return lowered[wanted[:cut]]
            cut = wanted.rfind("-", 0, cut)
        prefix = wanted + "-"
        for low, tag in lowered.items():
            if low.startswith(prefix):
                return tag
    if "@none" in language_map:
        return "@none"
    return next(iter(language_map))


def _form(form: str) -> str:
    mode = _FORMS.get(form)
    if mode is None:
        raise InvalidRequest(f"unknown representation {form!r}: use normalized, concise or keyValues")
    return mode


def _wanted(name: str, iri: str, pick: Collection[str] | None, omit: Collection[str] | None) -> bool:
    if pick is not None and name not in pick and iri not in pick:
        return False
    return omit is None or (name not in omit and iri not in omit)


def _one_or_many(items: list) -> Any:
    return items[0] if len(items) == 1 else items


def _copy_times(source: dict, out: dict) -> None:
    if "createdAt" in source:
        out["createdAt"] = source["createdAt"]
    if "modifiedAt" in source:
        out["modifiedAt"] = source["modifiedAt"]
    if "expiresAt" in source:  # a transient entity's expiry is shown with the system attributes
        out["expiresAt"] = source["expiresAt"]


def _instance(
    iri: str,
    inst: dict,
    ctx: ActiveContextLike,
    form: str,
    sys_attrs: bool,
    ranges: tuple[str, ...] | None,
    alone: bool,
) -> Any:
    """Normalized or concise instance; `alone` is False inside a multi-attribute list (never bare)."""
    kind = inst["type"]
    out: dict[str, Any] = {}
    tag = best_language(inst["languageMap"], ranges) if kind == "LanguageProperty" and ranges is not None else None
    if tag is not None:
        if form == NORMALIZED:
            out["type"] = "Property"
        out["value"] = inst["languageMap"][tag]
        out["lang"] = tag
    else:
        if form == NORMALIZED or not _inferable(iri, inst):
            out["type"] = kind
        _principal(inst, kind, ctx, out)
    for key in ("objectType", "datasetId", "observedAt", "unitCode"):
        if key in inst:
            out[key] = inst[key] if key != "objectType" else _compact_all(inst[key], ctx.compact_iri)
    if sys_attrs:
        _copy_times(inst, out)
    sub = inst.get("sub")
    if sub:
        for sub_iri, sub_inst in sub.items():
            out[ctx.compact_iri(sub_iri)] = _instance(sub_iri, sub_inst, ctx, form, sys_attrs, ranges, True)
    if form == CONCISE and alone and len(out) == 1 and "value" in out and _bare_ok(out["value"]):
        return out["value"]
    return out


def _principal(inst: dict, kind: str, ctx: ActiveContextLike, out: dict) -> None:
    if kind == "Property" or kind == "GeoProperty":
        out["value"] = inst["value"]
    elif kind == "Relationship":
        out["object"] = inst["object"]
    elif kind == "ListRelationship":
        out["objectList"] = [{"object": uri} for uri in inst["objectList"]]
    elif kind == "VocabProperty":
        out["vocab"] = _compact_all(inst["vocab"], ctx.compact_value)
    elif kind == "LanguageProperty":
        out["languageMap"] = inst["languageMap"]
    elif kind == "JsonProperty":
        out["json"] = inst["json"]
    else:
        out["valueList"] = inst["valueList"]


def _simple(inst: dict, ctx: ActiveContextLike, ranges: tuple[str, ...] | None) -> Any:
    """keyValues value of one instance (clause 4.5.4)."""
    kind = inst["type"]
    if kind == "Property" or kind == "GeoProperty":
        return inst["value"]
    if kind == "Relationship":
        return inst["object"]
    if kind == "ListProperty":
        return inst["valueList"]
    if kind == "ListRelationship":
        return inst["objectList"]
    if kind == "LanguageProperty":
        tag = best_language(inst["languageMap"], ranges) if ranges is not None else None
        return {"languageMap": inst["languageMap"]} if tag is None else inst["languageMap"][tag]
    if kind == "VocabProperty":
        return {"vocab": _compact_all(inst["vocab"], ctx.compact_value)}
    return {"json": inst["json"]}


def _inferable(iri: str, inst: dict) -> bool:
    """Whether the parser gets the type back without `type` (see parse.py, concise inference)."""
    kind = inst["type"]
    if kind == "GeoProperty":
        return iri in GEO_ATTRS
    if kind == "Property":
        return iri not in GEO_ATTRS or not _is_geometry(inst["value"])
    return True


def _bare_ok(value: Any) -> bool:
    """A concise Property may be its bare value unless that value would parse as something else."""
    if isinstance(value, dict):
        return _BARE_CLASH.isdisjoint(value)
    if isinstance(value, list):
        return not any(isinstance(item, dict) for item in value)
    return value is not None


def _compact_all(value: str | list[str], compact: Any) -> str | list[str]:
    if isinstance(value, list):
        return [compact(item) for item in value]
    return compact(value)


def _is_geometry(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("type"), str) and value["type"] in GEOMETRY_TYPES


def _geometry(instances: list[dict] | None) -> dict | None:
    if not instances:
        return None
    chosen = next((inst for inst in instances if "datasetId" not in inst), instances[0])
    value = chosen.get("value")
    return value if _is_geometry(value) else None
