"""History -> the temporal representations of an entity (clauses 4.5.7, 4.5.9, 4.5.19).

- normalized (4.5.7): every attribute is an array of its instances, each with its `instanceId`, merged
  over datasetIds; an instance also shows the time property the query used, and `deletedAt` when it
  records a deletion.
- concise (4.5.8): the same instances without the `type` members the type can be told from.
- temporalValues (4.5.9): per attribute (and datasetId) `{"type", "values": [[value, time], ...]}`
  (`objects`, `languageMaps`, `vocabs`, `jsons`, `valueLists`, `objectLists` for the other types).
- aggregatedValues (4.5.19): per attribute (and datasetId) `{"type", method: [[value, start, end], ...]}`.

In the last two an attribute with one datasetId is one object, with several an array of them.

Times are the instances' own (observedAt as the client wrote it, createdAt/modifiedAt as the broker
stamped them); period bounds are written by the caller (see timequery.written_like).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from toshi.core.times import to_iso
from toshi.formats.ngsild_render import best_language, render_attribute
from toshi.temporal.aggregate import Bucket
from toshi.temporal.history import HistoryRow, Series, TemporalEntity, instance_id

VALUES_KEYS = {"Property": "values", "GeoProperty": "values", "Relationship": "objects",
               "LanguageProperty": "languageMaps", "VocabProperty": "vocabs", "JsonProperty": "jsons",
               "ListProperty": "valueLists", "ListRelationship": "objectLists"}
_PRINCIPAL = {"Property": "value", "GeoProperty": "value", "Relationship": "object",
              "LanguageProperty": "languageMap", "VocabProperty": "vocab", "JsonProperty": "json",
              "ListProperty": "valueList", "ListRelationship": "objectList"}


def header(entity: TemporalEntity, state: dict | None, ctx, *, sys_attrs: bool,
           member: Callable[[str], bool] = lambda name: True) -> dict:
    """id, type, scope (last known) and, with sysAttrs, the entity's createdAt/modifiedAt/deletedAt;
    `member` says which of id, type and scope are wanted (pick/omit)."""
    types = [ctx.compact_iri(t) for t in entity.types]
    out: dict[str, Any] = {}
    if member("id"):
        out["id"] = entity.id
    if member("type"):
        out["type"] = types[0] if len(types) == 1 else types
    if state is not None and state.get("scope") and member("scope"):
        scope = state["scope"]
        out["scope"] = scope[0] if len(scope) == 1 else scope
    if sys_attrs:
        out["createdAt"] = entity.created_at
        out["modifiedAt"] = entity.modified_at
        if entity.deleted_at:
            out["deletedAt"] = entity.deleted_at
    return out


def normalized(iri: str, rows: list[HistoryRow], ctx, *, timeproperty: str, sys_attrs: bool,
               concise: bool = False, ranges: tuple[str, ...] | None = None) -> list[dict]:
    """`ranges`: the `lang` filter; a LanguageProperty instance then becomes a Property of the chosen
    language's string with its `lang` (clause 4.15), as in the entity API."""
    out = []
    form = "concise" if concise else "normalized"
    for row in rows:
        inst = row.instance
        language = ranges if isinstance(inst.get("languageMap", {}), dict) else None  # a deletion: as is
        rendered = render_attribute(iri, [inst], ctx, form=form, sys_attrs=sys_attrs, ranges=language)
        if not isinstance(rendered, dict):  # a concise bare value: an instance keeps its members
            rendered = {"value": rendered}
        rendered["instanceId"] = instance_id(row.seq)
        if timeproperty in inst:
            rendered[timeproperty] = inst[timeproperty]
        if "deletedAt" in inst:
            rendered["deletedAt"] = inst["deletedAt"]
        out.append(rendered)
    return out


def temporal_values(series: Series, rows: list[HistoryRow], ctx, *, timeproperty: str,
                    ranges: tuple[str, ...] | None = None) -> dict:
    """`ranges` (the `lang` filter) turns a LanguageProperty into a Property: `values` pairs of the
    chosen language's strings."""
    kind = rows[-1].instance.get("type", series.kind) if rows else series.kind
    if kind == "LanguageProperty" and ranges is not None:
        pairs = [[_language_value(row.instance, ranges), written_time(row, timeproperty)] for row in rows]
        return _with_dataset({"type": "Property", "values": pairs}, series)
    pairs = [[_value(row.instance, ctx), written_time(row, timeproperty)] for row in rows]
    return _with_dataset({"type": kind, VALUES_KEYS.get(kind, "values"): pairs}, series)


def written_time(row: HistoryRow, timeproperty: str) -> str:
    """The instance's time property as it was written (by the client, or the broker for system times)."""
    return row.instance.get(timeproperty) or to_iso(row.time)


def aggregated(series: Series, buckets: list[Bucket], methods: tuple[str, ...],
               write: Callable[[int], str]) -> dict:
    """`write` turns a period bound (milliseconds) into the DateTime returned."""
    out: dict[str, Any] = {"type": series.kind}
    for method in methods:
        out[method] = [[b.values[method], write(b.start), write(b.end)] for b in buckets]
    return _with_dataset(out, series)


def one_or_many(items: list[dict]) -> dict | list[dict]:
    return items[0] if len(items) == 1 else items


def _value(inst: dict, ctx) -> Any:
    kind = inst.get("type", "Property")
    value = inst.get(_PRINCIPAL.get(kind, "value"))
    if kind == "VocabProperty" and value is not None:
        return [ctx.compact_value(v) for v in value] if isinstance(value, list) else ctx.compact_value(value)
    return value


def _language_value(inst: dict, ranges: tuple[str, ...]) -> Any:
    language_map = inst.get("languageMap")
    if not isinstance(language_map, dict) or not language_map:
        return language_map  # a deletion (the NGSI-LD Null) stays as recorded
    tag = best_language(language_map, ranges)
    return language_map if tag is None else language_map[tag]  # `*`: every language


def _with_dataset(out: dict, series: Series) -> dict:
    if series.dataset_id is not None:
        out["datasetId"] = series.dataset_id
    return out
