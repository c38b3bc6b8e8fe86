"""History -> the temporal representations of an entity (clauses 4.5.7, 4.5.9, 4.5.19).

- normalized (4.5.7): every attribute is an array of its instances, each with its `instanceId`, merged
  over datasetIds; an instance also shows the time property the query used, and `deletedAt` when it
  records a deletion.
- temporalValues (4.5.9): per attribute (and datasetId) `{"type", "values": [[value, time], ...]}`
  (`objects`, `languageMaps`, `vocabs`, `jsons`, `valueLists`, `objectLists` for the other types).
- aggregatedValues (4.5.19): per attribute (and datasetId) `{"type", method: [[value, start, end], ...]}`.

In the last two an attribute with one datasetId is one object, with several an array of them.
"""

from __future__ import annotations

from typing import Any

from toshi.core.times import to_iso
from toshi.formats.ngsild_render import render_attribute
from toshi.temporal.aggregate import Bucket
from toshi.temporal.history import HistoryRow, Series, TemporalEntity, instance_id

VALUES_KEYS = {"Property": "values", "GeoProperty": "values", "Relationship": "objects",
               "LanguageProperty": "languageMaps", "VocabProperty": "vocabs", "JsonProperty": "jsons",
               "ListProperty": "valueLists", "ListRelationship": "objectLists"}
_PRINCIPAL = {"Property": "value", "GeoProperty": "value", "Relationship": "object",
              "LanguageProperty": "languageMap", "VocabProperty": "vocab", "JsonProperty": "json",
              "ListProperty": "valueList", "ListRelationship": "objectList"}


def header(entity: TemporalEntity, state: dict | None, ctx, *, sys_attrs: bool) -> dict:
    """id, type, scope (last known) and, with sysAttrs, the entity's createdAt/modifiedAt/deletedAt."""
    types = [ctx.compact_iri(t) for t in entity.types]
    out: dict[str, Any] = {"id": entity.id, "type": types[0] if len(types) == 1 else types}
    if state is not None and state.get("scope"):
        scope = state["scope"]
        out["scope"] = scope[0] if len(scope) == 1 else scope
    if sys_attrs:
        out["createdAt"] = entity.created_at
        out["modifiedAt"] = entity.modified_at
        if entity.deleted_at:
            out["deletedAt"] = entity.deleted_at
    return out


def normalized(iri: str, rows: list[HistoryRow], ctx, *, timeproperty: str, sys_attrs: bool) -> list[dict]:
    out = []
    for row in rows:
        inst = row.instance
        rendered = render_attribute(iri, [inst], ctx, sys_attrs=sys_attrs)
        rendered["instanceId"] = instance_id(row.seq)
        if timeproperty in inst:
            rendered[timeproperty] = inst[timeproperty]
        if "deletedAt" in inst:
            rendered["deletedAt"] = inst["deletedAt"]
        out.append(rendered)
    return out


def temporal_values(series: Series, rows: list[HistoryRow], ctx, *, timeproperty: str) -> dict:
    kind = rows[-1].instance.get("type", series.kind) if rows else series.kind
    pairs = [[_value(row.instance, ctx), row.instance.get(timeproperty) or to_iso(row.time)] for row in rows]
    return _with_dataset({"type": kind, VALUES_KEYS.get(kind, "values"): pairs}, series)


def aggregated(series: Series, buckets: list[Bucket], methods: tuple[str, ...]) -> dict:
    out: dict[str, Any] = {"type": series.kind}
    for method in methods:
        out[method] = [[b.values[method], to_iso(b.start), to_iso(b.end)] for b in buckets]
    return _with_dataset(out, series)


def one_or_many(items: list[dict]) -> dict | list[dict]:
    return items[0] if len(items) == 1 else items


def _value(inst: dict, ctx) -> Any:
    kind = inst.get("type", "Property")
    value = inst.get(_PRINCIPAL.get(kind, "value"))
    if kind == "VocabProperty" and value is not None:
        return [ctx.compact_value(v) for v in value] if isinstance(value, list) else ctx.compact_value(value)
    return value


def _with_dataset(out: dict, series: Series) -> dict:
    if series.dataset_id is not None:
        out["datasetId"] = series.dataset_id
    return out
