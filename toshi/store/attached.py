"""Feature state that lives exactly as long as a store (a feature's tables, caches, counters)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_attached: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def attached(store, factory: Callable[[object], T]) -> T:
    """The one object `factory(store)` made for this store, made on first use."""
    per_store = _attached.setdefault(store, {})
    if factory not in per_store:
        per_store[factory] = factory(store)
    return per_store[factory]
