"""What one change did to an entity's attributes, instance by instance (datasetId by datasetId).

An instance is *updated* when anything in it differs, its modifiedAt included: every write touches
the modifiedAt of the instances it writes, so an update that repeats the current value still counts
(as in Orion-LD, which notifies every update of a watched attribute), while attributes the write did
not touch compare equal and count as unchanged.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

CREATED, UPDATED, DELETED = "created", "updated", "deleted"
DEFAULT_INSTANCE = "@none"  # the datasetId key of the default instance, as in a subscription's datasetId


@dataclass(frozen=True)
class InstanceChange:
    attr: str               # expanded attribute name
    dataset_id: str | None  # None: the default instance
    kind: str               # CREATED, UPDATED or DELETED
    before: dict | None
    after: dict | None


def attribute_changes(before: dict | None, after: dict | None, *, names: Collection[str] | None = None,
                      dataset_ids: Collection[str] | None = None) -> list[InstanceChange]:
    """The instances created, updated or deleted between two states of an entity (None: absent).

    names: only these attributes (None: all). dataset_ids: only these instances, "@none" standing for
    the default one (None: all).
    """
    old_attrs = before["attrs"] if before is not None else {}
    new_attrs = after["attrs"] if after is not None else {}
    changes: list[InstanceChange] = []
    for attr in dict.fromkeys([*old_attrs, *new_attrs]):
        if names is not None and attr not in names:
            continue
        old = _by_dataset(old_attrs.get(attr, []), dataset_ids)
        new = _by_dataset(new_attrs.get(attr, []), dataset_ids)
        for key in dict.fromkeys([*old, *new]):
            change = _compare(attr, key, old.get(key), new.get(key))
            if change is not None:
                changes.append(change)
    return changes


def _by_dataset(instances: list[dict], dataset_ids: Collection[str] | None) -> dict[str | None, dict]:
    found = {inst.get("datasetId"): inst for inst in instances}
    if dataset_ids is None:
        return found
    return {key: inst for key, inst in found.items() if (key or DEFAULT_INSTANCE) in dataset_ids}


def _compare(attr: str, dataset_id: str | None, old: dict | None, new: dict | None) -> InstanceChange | None:
    if old is None:
        return InstanceChange(attr, dataset_id, CREATED, None, new)
    if new is None:
        return InstanceChange(attr, dataset_id, DELETED, old, None)
    if old != new:
        return InstanceChange(attr, dataset_id, UPDATED, old, new)
    return None


def entity_members_changed(before: dict, after: dict) -> bool:
    """Whether the entity's types or scopes changed (attributes aside)."""
    return before.get("type") != after.get("type") or before.get("scope") != after.get("scope")
