"""What an update changed, compactly: enough to rebuild the previous state from the new one.

The change log stores the new state and this delta instead of both full states, which keeps the
write small when one attribute of a large entity changes.
"""

from __future__ import annotations

ABSENT = None  # a key that did not exist before the write


def entity_delta(before: dict, after: dict) -> dict:
    """The previous values of every top-level member and attribute that differ in `after`."""
    delta = {key: before.get(key, ABSENT) for key in before.keys() | after.keys()
             if key != "attrs" and before.get(key) != after.get(key)}
    old, new = before["attrs"], after["attrs"]
    delta["attrs"] = {name: old.get(name, ABSENT) for name in old.keys() | new.keys()
                      if old.get(name) != new.get(name)}
    return delta


def previous_state(after: dict, delta: dict) -> dict:
    """Rebuild the state before the write from the state after it and its delta."""
    before = {key: value for key, value in after.items() if key != "attrs"}
    _apply(before, {k: v for k, v in delta.items() if k != "attrs"})
    before["attrs"] = dict(after["attrs"])
    _apply(before["attrs"], delta["attrs"])
    return before


def _apply(target: dict, previous: dict) -> None:
    for key, value in previous.items():
        if value is ABSENT:
            target.pop(key, None)
        else:
            target[key] = value
