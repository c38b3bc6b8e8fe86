"""Edit functions for the one write path (toshi.core.write.Writer) with Orion's semantics.

Each `*_edit` returns an `Edit`: a function of the entity's current state that returns its new state,
or `(state, detail)`. Where Orion's rules match NGSI-LD's, toshi.core.entity does the work; the rest
is here: attribute updates keep the metadata the request does not mention (Orion's default; with
`keep_metadata=False`, `options=overrideMetadata`, the request's metadata replace them), strict append,
replace-all-attributes, attribute value updates; and the marks a write leaves on the new state for the
notifier (`marked`: the request's correlator, forcedUpdate), and Orion's limit of one location
attribute per entity (`marked` checks every v2 write).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from toshi.core import entity as ops
from toshi.jsonld.context import core_context
from toshi.ngsiv2 import operators
from toshi.ngsiv2.errors import (
    ALREADY_EXIST,
    ATTRIBUTE_NOT_FOUND,
    DO_NOT_EXIST,
    AttributesRefused,
    EntityMissing,
    V2Error,
    not_found,
    unprocessable,
)
from toshi.ngsiv2.mapping import parse_attribute, v2_type

KEPT_METADATA = ("unitCode", "observedAt", "v2ObservedAs")
FORCED_KEY = "v2ForcedAt"
CORRELATOR_KEY = "v2Correlator"
REPLACED_KEY = "v2ReplacedAt"


@dataclass(frozen=True)
class Target:
    """Which entity a request addresses: its id, optionally its (expanded) type and service paths."""

    entity_id: str
    type_iri: str | None = None
    in_path: Callable[[dict], bool] | None = None
    type_name: str | None = None  # the type as the request gave it (error texts show it only then)

    @property
    def label(self) -> str:
        """`E/T` (or `E` when the request gave no type), as Orion's error texts name an entity."""
        return f"{self.entity_id}/{self.type_name}" if self.type_name else self.entity_id

    def check(self, before: dict | None) -> dict:
        """The entity, if it exists and matches the type and service path, else 404 NotFound."""
        if before is None or (self.type_iri is not None and self.type_iri not in before["type"]):
            raise EntityMissing(self.label)
        if self.in_path is not None and not self.in_path(before):
            raise EntityMissing(self.label)
        return before


def create_edit(parsed: dict, now: str):
    def edit(before):
        return ops.create(before, parsed if before is not None else _created(parsed), now)
    return edit


def _created(parsed: dict) -> dict:
    """A new entity's attributes with their update operators against the references (operators.py)."""
    return {**parsed, "attrs": operators.resolved_attrs(parsed["attrs"])}


def upsert_edit(parsed: dict, now: str, *, strict: bool = False, keep_metadata: bool = True,
                label: str | None = None, any_type: bool = False):
    """Create, or (existing entity) append its attributes: POST /v2/entities?options=upsert, op append.
    `any_type`: the request named no type (op/update), so the entity of that id is appended to
    whatever its type, as Orion matches such an entity by id alone."""
    def edit(before):
        if before is None:
            return ops.new_entity(_created(parsed), now)
        if not any_type and parsed["type"][0] not in before["type"]:
            raise unprocessable(f"entity {parsed['id']} exists with another type")
        return _append(before, parsed["attrs"], now, strict, keep_metadata, label or parsed["id"])
    return edit


def append_edit(target: Target, attrs: dict, now: str, *, strict: bool = False, keep_metadata: bool = True):
    """POST /v2/entities/{id}/attrs: update or add; `strict` (options=append): only add."""
    return lambda before: _append(target.check(before), attrs, now, strict, keep_metadata, target.label)


def _append(before: dict, attrs: dict, now: str, strict: bool, keep_metadata: bool,
            label: str) -> tuple[dict, dict]:
    """Strict: the attributes that exist are refused (all of them: nothing is written, 422)."""
    existing = [name for name in attrs if name in before["attrs"]]
    if strict and existing and len(existing) == len(attrs):
        raise AttributesRefused(ALREADY_EXIST, label, _compact(existing))
    after = touched(before, now)
    for name, instances in attrs.items():
        if not (strict and name in existing):
            put_attribute(after, name, instances[0], now, keep_metadata=keep_metadata)
    return after, {"existing": existing if strict else []}


def update_edit(target: Target, attrs: dict, now: str, *, keep_metadata: bool = True):
    """PATCH /v2/entities/{id}/attrs: update the attributes that exist; report the others (none
    exists: nothing is written, 422)."""
    def edit(before):
        before = target.check(before)
        if attrs and not any(name in before["attrs"] for name in attrs):
            raise AttributesRefused(DO_NOT_EXIST, target.label, _compact(list(attrs)))
        after = touched(before, now)
        missing = []
        for name, instances in attrs.items():
            if name in before["attrs"]:
                put_attribute(after, name, instances[0], now, keep_metadata=keep_metadata)
            else:
                missing.append(name)
        return after, {"missing": missing}
    return edit


def replace_attrs_edit(target: Target, attrs: dict, now: str):
    """PUT /v2/entities/{id}/attrs (and op/update `replace`): all attributes replaced by the request's.
    The new state carries the replace mark `v2ReplacedAt` = its `modifiedAt` (stale after the next
    write, as the forced mark): Orion runs a replace through its update path, so the notifications of
    this change mark every written attribute `actionType` `update`, also those the entity did not have
    (`is_replace`). Renderers ignore it."""
    def edit(before):
        after = touched(target.check(before), now)
        after["attrs"] = operators.resolved_attrs(attrs)  # "create or replace": against the references
        after[REPLACED_KEY] = after["modifiedAt"]
        return after
    return edit


def is_replace(after: dict | None) -> bool:
    """Whether this state was made by a replace of all attributes (`replace_attrs_edit`)."""
    return after is not None and REPLACED_KEY in after and after[REPLACED_KEY] == after.get("modifiedAt")


def replace_attribute_edit(target: Target, name: str, inst: dict, now: str, *, keep_metadata: bool = True):
    """PUT /v2/entities/{id}/attrs/{attr}: the attribute must exist."""
    def edit(before):
        before = target.check(before)
        if name not in before["attrs"]:
            raise not_found(ATTRIBUTE_NOT_FOUND)
        after = touched(before, now)
        put_attribute(after, name, inst, now, keep_metadata=keep_metadata)
        return after
    return edit


def set_value_edit(target: Target, name: str, value: Any, ctx, now: str):
    """PUT /v2/entities/{id}/attrs/{attr}/value: new value, same type and metadata."""
    def edit(before):
        before = target.check(before)
        if name not in before["attrs"]:
            raise not_found(ATTRIBUTE_NOT_FOUND)
        old = _default(before["attrs"][name]) or before["attrs"][name][0]
        inst = parse_attribute({"type": v2_type(old), "value": value}, ctx, now, orion_dates=True)  # type kept
        after = touched(before, now)
        put_attribute(after, name, inst, now)
        return after
    return edit


def delete_entity_edit(target: Target):
    def edit(before):
        target.check(before)
        return None
    return edit


def delete_attrs_edit(target: Target, names: list[str], now: str, *, report_missing: bool = False):
    """DELETE /v2/entities/{id}/attrs/{attr}: every instance of the attribute (404 if it has none).
    `report_missing` (op/update delete): the attributes that exist are deleted, the others reported
    (none exists: nothing is deleted, 422)."""
    def edit(before):
        after = target.check(before)
        missing = [name for name in names if name not in after["attrs"]]
        if missing and not report_missing:
            raise not_found(ATTRIBUTE_NOT_FOUND)
        if missing and len(missing) == len(names):
            raise AttributesRefused(DO_NOT_EXIST, target.label, _compact(missing))
        for name in names:
            if name not in missing:
                after = ops.delete_attribute(after, name, now, target.entity_id, delete_all=True)
        return after, {"missing": missing}
    return edit


def marked(edit, *, correlator: str, forced: bool, now: str):
    """The marks a v2 write leaves on the new state for the notifications it triggers: its
    Fiware-Correlator (`correlated`) and, with `options=forcedUpdate`, the forced mark (`forced`);
    and the write refused when it would give the entity a second location (`one_location`)."""
    edit = correlated(_marking(edit, one_location), correlator)
    return forced_edit(edit, now) if forced else edit


TOO_MANY_LOCATIONS = "You cannot use more than one geo location attribute when creating an entity [see Orion user manual]"


def one_location(before: dict | None, after: dict) -> dict:
    """The manual's "Geospatial properties of entities": Orion limits the location attributes of an
    entity to one and answers an attempt to add another with 413 `NoResourcesAvailable` (its text).
    A location is a GeoProperty (`geo:*` with `ignoreType` or a null value is not one). An entity
    that has several already (made through NGSI-LD) may be updated as long as none is added."""
    count = _locations(after)
    if count > 1 and count > _locations(before):
        raise V2Error(413, "NoResourcesAvailable", TOO_MANY_LOCATIONS)
    return after


def _locations(state: dict | None) -> int:
    if state is None:
        return 0
    return sum(1 for instances in state["attrs"].values() if any(i.get("type") == "GeoProperty" for i in instances))


def forced_edit(edit, now: str):
    """`options=forcedUpdate`: the update counts as a change for subscriptions (`entityChange`) even
    when no value changes. The mark is the entity key `v2ForcedAt` equal to its `modifiedAt`: it
    travels with the new state through the change log to the notifier, and the next write (which
    sets another `modifiedAt`) makes it stale, so no cleanup is needed. Renderers ignore it."""
    def mark(before, after):
        return {**after, FORCED_KEY: after.get("modifiedAt", now)} if before is not None else after
    return _marking(edit, mark)


def is_forced(after: dict | None) -> bool:
    return after is not None and FORCED_KEY in after and after[FORCED_KEY] == after.get("modifiedAt")


def correlated(edit, correlator: str):
    """The request's Fiware-Correlator kept on the new state (as Orion's `lastCorrelator`), as the
    entity key `v2Correlator` = [modifiedAt, correlator]: the notifier sends it with the notifications
    of this change; a later write (another `modifiedAt`) makes it stale. Renderers ignore it."""
    return _marking(edit, lambda before, after: {**after, CORRELATOR_KEY: [after.get("modifiedAt"), correlator]})


def correlator_of(state: dict | None) -> str | None:
    """The correlator of the request that made this state, if a v2 write made it."""
    mark = state.get(CORRELATOR_KEY) if state is not None else None
    return mark[1] if isinstance(mark, list) and mark[0] == state.get("modifiedAt") else None


def _marking(edit, mark):
    """`edit`, with `mark(before, after)` applied to the new state it returns (not to a deletion)."""
    def wrapped(before):
        result = edit(before)
        after, detail = result if isinstance(result, tuple) else (result, None)
        if after is not None:
            after = mark(before, after)
        return after if detail is None else (after, detail)
    return wrapped


# -- helpers --------------------------------------------------------------------------------------

def _compact(iris: list[str]) -> list[str]:
    """Attribute names as the request wrote them (v2 names are core-context terms)."""
    return [core_context().compact_iri(iri) for iri in iris]


def touched(before: dict, now: str) -> dict:
    return {**before, "attrs": dict(before["attrs"]), "modifiedAt": now}


def put_attribute(after: dict, name: str, inst: dict, now: str, *, keep_metadata: bool = True) -> None:
    """Set the default instance of `name`, keeping metadata the new one does not give (as Orion)
    unless `keep_metadata` is False (options=overrideMetadata)."""
    current = after["attrs"].get(name) or []
    old = _default(current)
    inst = operators.resolved(inst, old)  # an update operator: the new value from the current one
    if inst is operators.DROPPED:
        return
    if old is not None:
        inst = _with_old_metadata(inst, old) if keep_metadata else dict(inst)
        inst["createdAt"] = old.get("createdAt", now)
    after["attrs"][name] = [i for i in current if "datasetId" in i] + [inst]


def _default(instances: list[dict]) -> dict | None:
    return next((i for i in instances if "datasetId" not in i), None)


def _with_old_metadata(inst: dict, old: dict) -> dict:
    merged = dict(inst)
    for key in KEPT_METADATA:
        if key in old and key not in inst and not (key == "v2ObservedAs" and "observedAt" in inst):
            merged[key] = old[key]
    subs = {**(old.get("sub") or {}), **(inst.get("sub") or {})}
    if subs:
        merged["sub"] = subs
    return merged
