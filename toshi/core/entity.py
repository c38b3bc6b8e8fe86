"""Pure operations on the internal entity (see docs/internals.md).

Each function takes the current state and a parsed payload and returns the new state; none touches
the store. `toshi.core.write.apply` runs them inside a transaction.
"""

from __future__ import annotations

import copy

from toshi.core.errors import AlreadyExists, BadRequestData, ResourceNotFound
from toshi.core.expiry import is_expired
from toshi.core.times import now_iso as now_iso  # re-exported: writers call ops.now_iso()

NULL_VALUES = (None, "urn:ngsi-ld:null")


def new_entity(parsed: dict, now: str) -> dict:
    entity = {"id": parsed["id"], "type": parsed["type"]}
    if parsed.get("scope"):
        entity["scope"] = parsed["scope"]
    if parsed.get("expiresAt"):
        entity["expiresAt"] = parsed["expiresAt"]
    entity.update(createdAt=now, modifiedAt=now, attrs=parsed.get("attrs", {}))
    return entity


def create(before: dict | None, parsed: dict, now: str) -> dict:
    if before is not None and not gone(before):
        raise AlreadyExists(f"Entity {parsed['id']} already exists")
    return new_entity(parsed, now)


def replace(before: dict | None, parsed: dict, now: str) -> dict:
    """PUT /entities/{id}: same id and creation time, everything else from the payload."""
    _must_exist(before, parsed["id"])
    after = new_entity(parsed, now)
    after["createdAt"] = before["createdAt"]
    return after


def upsert(before: dict | None, parsed: dict, now: str, *, mode: str) -> dict:
    if before is None or gone(before):
        return new_entity(parsed, now)
    if mode == "update":
        return append(before, parsed, now, overwrite=True)[0]
    return replace(before, parsed, now)


def append(before: dict | None, fragment: dict, now: str, *, overwrite: bool = True,
           entity_id: str = "") -> tuple[dict, list[str], list[dict]]:
    """POST /entities/{id}/attrs: add attributes, overwriting existing instances unless told not to."""
    _must_exist(before, entity_id or fragment.get("id", ""))
    after = _touched(before, fragment, now, merge_types=True)
    updated, not_updated = [], []
    for name, instances in fragment.get("attrs", {}).items():
        current = after["attrs"].get(name)
        if current is not None and not overwrite:
            kept = [i for i in instances if _find_instance(current, i.get("datasetId")) is None]
            if len(kept) < len(instances):
                not_updated.append({"attributeName": name, "reason": "attribute exists and noOverwrite is set"})
            if not kept:
                continue
            instances = kept
        after["attrs"][name] = _put_instances(current or [], instances, now)
        updated.append(name)
    return after, updated, not_updated


def update_existing(before: dict | None, fragment: dict, now: str,
                    entity_id: str = "") -> tuple[dict, list[str], list[dict]]:
    """PATCH /entities/{id}/attrs: only attribute instances that already exist are replaced."""
    _must_exist(before, entity_id or fragment.get("id", ""))
    after = _touched(before, fragment, now, merge_types=False)
    updated, not_updated = [], []
    for name, instances in fragment.get("attrs", {}).items():
        current = after["attrs"].get(name)
        existing = [i for i in instances if current and _find_instance(current, i.get("datasetId")) is not None]
        if len(existing) < len(instances):
            not_updated.append({"attributeName": name, "reason": "attribute (or datasetId) does not exist"})
        if existing:
            after["attrs"][name] = _put_instances(current, existing, now)
            updated.append(name)
    return after, updated, not_updated


def merge(before: dict | None, fragment: dict, now: str, entity_id: str = "") -> dict:
    """PATCH /entities/{id} (merge-patch): attributes merged member by member; null deletes."""
    _must_exist(before, entity_id)
    after = _touched(before, fragment, now, merge_types=True)
    for member in ("scope", "expiresAt"):
        if member in fragment:
            _set_or_drop(after, member, fragment[member])
    for name, instances in fragment.get("attrs", {}).items():
        for patch in instances:
            _merge_attribute(after, name, patch, now)
    return after


def _merge_attribute(after: dict, name: str, patch: dict, now: str) -> None:
    current = after["attrs"].get(name)
    if _is_null(patch):
        if current is not None:
            remaining = [i for i in current if i.get("datasetId") != patch.get("datasetId")]
            _set_or_drop(after["attrs"], name, remaining)
        return
    old = _find_instance(current or [], patch.get("datasetId"))
    merged = patch if old is None else merge_instance(old, patch, now)
    after["attrs"][name] = _put_instances(current or [], [merged], now)


def merge_instance(old: dict, patch: dict, now: str) -> dict:
    """An attribute instance with the members of `patch` merged in (sub-attributes one level down)."""
    merged = copy.deepcopy(old)
    if patch.get("type") and patch["type"] != old.get("type"):
        for key in ("value", "object", "objectList", "languageMap", "json", "vocab", "valueList"):
            merged.pop(key, None)
    for key, value in patch.items():
        if key in ("createdAt", "sub"):
            continue
        merged[key] = value
    subs = dict(merged.get("sub") or {})
    for sub_name, sub_patch in (patch.get("sub") or {}).items():
        if _is_null(sub_patch):
            subs.pop(sub_name, None)
        elif sub_name in subs:
            subs[sub_name] = merge_instance(subs[sub_name], sub_patch, now)
        else:
            subs[sub_name] = sub_patch
    if subs:
        merged["sub"] = subs
    else:
        merged.pop("sub", None)
    merged["modifiedAt"] = now
    return merged


def update_attribute(before: dict | None, name: str, patch: dict, now: str, entity_id: str) -> dict:
    """PATCH /entities/{id}/attrs/{attrId}: partial update of one existing attribute instance."""
    _must_exist(before, entity_id)
    current = before["attrs"].get(name)
    old = _find_instance(current or [], patch.get("datasetId"))
    if old is None:
        raise ResourceNotFound(f"Attribute {name} (datasetId {patch.get('datasetId')}) not found in {entity_id}")
    after = _touched(before, {}, now, merge_types=False)
    after["attrs"][name] = _put_instances(current, [merge_instance(old, patch, now)], now)
    return after


def replace_attribute(before: dict | None, name: str, instances: list[dict], now: str, entity_id: str) -> dict:
    """PUT /entities/{id}/attrs/{attrId}: the attribute (instance) must exist and is replaced whole."""
    _must_exist(before, entity_id)
    current = before["attrs"].get(name)
    for inst in instances:
        if _find_instance(current or [], inst.get("datasetId")) is None:
            raise ResourceNotFound(f"Attribute {name} not found in {entity_id}")
    after = _touched(before, {}, now, merge_types=False)
    after["attrs"][name] = _put_instances(current, instances, now)
    return after


def delete_attribute(before: dict | None, name: str, now: str, entity_id: str, *,
                     dataset_id: str | None = None, delete_all: bool = False) -> dict:
    _must_exist(before, entity_id)
    current = before["attrs"].get(name)
    if current is None:
        raise ResourceNotFound(f"Attribute {name} not found in {entity_id}")
    if delete_all:
        remaining = []
    else:
        if _find_instance(current, dataset_id) is None:
            raise ResourceNotFound(f"Attribute {name} has no instance with datasetId {dataset_id}")
        remaining = [i for i in current if i.get("datasetId") != dataset_id]
    after = _touched(before, {}, now, merge_types=False)
    _set_or_drop(after["attrs"], name, remaining)
    return after


def delete(before: dict | None, entity_id: str) -> None:
    _must_exist(before, entity_id)


# -- helpers ------------------------------------------------------------------------------------

def _must_exist(before: dict | None, entity_id: str) -> None:
    if before is None or gone(before):
        raise ResourceNotFound(f"Entity {entity_id} not found")


def gone(before: dict) -> bool:
    """A transient NGSI-LD entity past its `expiresAt` no longer exists, for writes as for reads, even
    before the sweeper (toshi/ngsild/transient.py) has deleted it: updating it is 404, creating it
    again makes a new entity."""
    return isinstance(before.get("expiresAt"), str) and is_expired(before)


def _touched(before: dict, fragment: dict, now: str, *, merge_types: bool) -> dict:
    """A copy of `before` marked modified now, with the fragment's types, scope and expiresAt applied."""
    after = dict(before)
    after["attrs"] = dict(before["attrs"])
    after["modifiedAt"] = now
    new_types = fragment.get("type")
    if new_types and merge_types:
        after["type"] = before["type"] + [t for t in new_types if t not in before["type"]]
    if fragment.get("scope") and merge_types:
        after["scope"] = list(dict.fromkeys((before.get("scope") or []) + fragment["scope"]))
    if fragment.get("expiresAt"):  # a transient entity's expiry is set or moved by any write naming it
        after["expiresAt"] = fragment["expiresAt"]
    if fragment.get("id") and fragment["id"] != before["id"]:
        raise BadRequestData(f"Entity id in payload ({fragment['id']}) differs from {before['id']}")
    return after


def _find_instance(instances: list[dict], dataset_id: str | None) -> dict | None:
    for inst in instances:
        if inst.get("datasetId") == dataset_id:
            return inst
    return None


def _put_instances(current: list[dict], new: list[dict], now: str) -> list[dict]:
    """Instances with each new one replacing the one of the same datasetId (keeping its createdAt)."""
    result = list(current)
    for inst in new:
        for n, old in enumerate(result):
            if old.get("datasetId") == inst.get("datasetId"):
                result[n] = {**inst, "createdAt": old.get("createdAt", now), "modifiedAt": now}
                break
        else:
            result.append(inst)
    return result


def _set_or_drop(attrs: dict, name: str, instances: list[dict]) -> None:
    if instances:
        attrs[name] = instances
    else:
        attrs.pop(name, None)


def _is_null(instance: dict) -> bool:
    """A merge-patch deletion marker: the attribute's value was JSON null or urn:ngsi-ld:null."""
    return instance.get("null") is True
