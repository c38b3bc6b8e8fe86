"""The entity a notification carries (ETSI GS CIM 009 v1.8, clauses 5.3.1, 5.8.6 and 5.11).

The entity is rendered as of the change, in the subscription's format and with its attribute selection
(attributes / pick / omit), `sysAttrs`, `lang` and `datasetId`. Deleted attribute instances are shown
with the NGSI-LD Null (`"urn:ngsi-ld:null"` as value / object / json / vocab, `{"@none": ...}` as a
languageMap, `[...]` for lists), as in clause 5.2.1; a deleted entity is its id, type, `deletedAt` and
every attribute it had, nulled. With `showChanges`, every updated or deleted instance also carries its
previous value as `previousValue`, `previousObject`, `previousLanguageMap`, `previousJson`,
`previousVocab`, `previousValueList` or `previousObjectList` (not in keyValues, which has no room for
it). With `sysAttrs`, deleted instances carry `deletedAt`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from toshi.core.diff import CREATED, DELETED, InstanceChange, attribute_changes
from toshi.formats.ngsild_parse import NGSI_LD_NULL, PRINCIPAL, PRINCIPAL_KEYS
from toshi.formats.ngsild_render import KEY_VALUES, render_entity

PREVIOUS = {
    "Property": "previousValue",
    "GeoProperty": "previousValue",
    "Relationship": "previousObject",
    "LanguageProperty": "previousLanguageMap",
    "JsonProperty": "previousJson",
    "VocabProperty": "previousVocab",
    "ListProperty": "previousValueList",
    "ListRelationship": "previousObjectList",
}
NULLED = {
    "Property": NGSI_LD_NULL,
    "GeoProperty": NGSI_LD_NULL,
    "Relationship": NGSI_LD_NULL,
    "LanguageProperty": {"@none": NGSI_LD_NULL},
    "JsonProperty": NGSI_LD_NULL,
    "VocabProperty": NGSI_LD_NULL,
    "ListProperty": [NGSI_LD_NULL],
    "ListRelationship": [NGSI_LD_NULL],
}


@dataclass(frozen=True)
class View:
    """How a subscription shows entities: the render_entity options plus showChanges."""

    form: str = "normalized"
    sys_attrs: bool = False
    attrs: Collection[str] | None = None
    pick: Collection[str] | None = None
    omit: Collection[str] | None = None
    lang: str | None = None
    dataset_id: Collection[str] | None = None
    show_changes: bool = False

    def render(self, entity: dict, ctx) -> dict:
        return render_entity(entity, ctx, form=self.form, sys_attrs=self.sys_attrs, attrs=self.attrs,
                             pick=self.pick, omit=self.omit, lang=self.lang, dataset_id=self.dataset_id)


def notified_entity(before: dict | None, after: dict | None, ctx, view: View, *, deleted_at: str) -> dict:
    """The entity after the change (or the deleted one), as the subscription's view shows it."""
    changes = attribute_changes(before, after, dataset_ids=view.dataset_id)
    if after is None:
        out = view.render(_nulled_entity(before), ctx)
        out["deletedAt"] = deleted_at
        at = deleted_at
    else:
        deleted = [c for c in changes if c.kind == DELETED]
        out = view.render(_with_nulled(after, deleted) if deleted else after, ctx)
        at = after.get("modifiedAt", deleted_at)
    if view.form != KEY_VALUES and (view.show_changes or view.sys_attrs):
        for change in changes:
            if change.kind != CREATED:
                _annotate(out, change, ctx, view, at)
    return out


def _nulled_entity(before: dict) -> dict:
    entity = {key: value for key, value in before.items() if key != "attrs"}
    entity["attrs"] = {name: [nulled_instance(inst) for inst in instances]
                       for name, instances in before["attrs"].items()}
    return entity


def _with_nulled(after: dict, deleted: list[InstanceChange]) -> dict:
    entity = dict(after)
    entity["attrs"] = dict(after["attrs"])
    for change in deleted:
        entity["attrs"][change.attr] = [*entity["attrs"].get(change.attr, []), nulled_instance(change.before)]
    return entity


def nulled_instance(inst: dict) -> dict:
    """The NGSI-LD Null form of a deleted instance (same type, datasetId and system times)."""
    kind = inst["type"]
    out = {"type": kind, PRINCIPAL[kind]: NULLED[kind]}
    for key in ("datasetId", "createdAt", "modifiedAt"):
        if key in inst:
            out[key] = inst[key]
    return out


def _annotate(out: dict, change: InstanceChange, ctx, view: View, at: str) -> None:
    """Add the previous value (showChanges) and deletedAt (sysAttrs) to a rendered instance."""
    target = _rendered_instance(out, ctx.compact_iri(change.attr), change.dataset_id)
    if target is None:
        return
    if view.show_changes:
        kind = change.before["type"]
        target[PREVIOUS[kind]] = _previous(change.before, ctx)
    if view.sys_attrs and change.kind == DELETED:
        target["deletedAt"] = at


def _rendered_instance(out: dict, name: str, dataset_id: str | None) -> dict | None:
    """The rendered instance of `name` with that datasetId; a bare concise value becomes {"value": ...}."""
    if name not in out:
        return None
    rendered = out[name]
    if isinstance(rendered, list):
        return next((item for item in rendered
                     if isinstance(item, dict) and item.get("datasetId") == dataset_id), None)
    if _is_instance(rendered):
        return rendered if rendered.get("datasetId") == dataset_id else None
    if dataset_id is not None:
        return None
    out[name] = {"value": rendered}
    return out[name]


def _is_instance(rendered: Any) -> bool:
    return isinstance(rendered, dict) and not (PRINCIPAL_KEYS | {"type"}).isdisjoint(rendered)


def _previous(inst: dict, ctx) -> Any:
    kind = inst["type"]
    value = inst[PRINCIPAL[kind]]
    if kind == "VocabProperty":
        return [ctx.compact_value(v) for v in value] if isinstance(value, list) else ctx.compact_value(value)
    if kind == "ListRelationship":
        return [{"object": uri} for uri in value]
    return value
