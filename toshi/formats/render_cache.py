"""Rendered JSON of entities, reused while the entity is unchanged.

The store hands out one shared, never-mutated object per entity state, and every write creates a
new object. So a rendering can be keyed by the entity object itself (plus how it was rendered): an
identity check tells whether it is still current, and no invalidation is needed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import orjson

MAX_ENTRIES = 20_000


class RenderCache:
    def __init__(self, max_entries: int = MAX_ENTRIES):
        # oldest first; OrderedDict evicts in O(1) (next(iter(dict)) walks the slots earlier evictions emptied)
        self._entries: OrderedDict[tuple, tuple[dict, object, bytes]] = OrderedDict()
        self.max_entries = max_entries

    def bytes_of(self, entity: dict, ctx, variant: tuple, render: Callable[[], object]) -> bytes:
        """The JSON bytes of `render()`, cached for this entity object, context and output variant."""
        key = (id(entity), id(ctx), variant)
        hit = self._entries.get(key)
        if hit is not None and hit[0] is entity and hit[1] is ctx:
            return hit[2]
        data = orjson.dumps(render())
        if len(self._entries) >= self.max_entries:
            self._entries.popitem(last=False)
        self._entries[key] = (entity, ctx, data)  # holding both keeps their ids from being reused
        return data
