"""Rendered JSON of entities, reused while the entity is unchanged.

The store hands out one shared, never-mutated object per entity state, and every write creates a
new object. So a rendering can be keyed by the entity object itself (plus how it was rendered): an
identity check tells whether it is still current, and no invalidation is needed.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

MAX_ENTRIES = 20_000


class RenderCache:
    def __init__(self, max_entries: int = MAX_ENTRIES):
        self._entries: dict[tuple, tuple[dict, object, bytes]] = {}
        self.max_entries = max_entries

    def bytes_of(self, entity: dict, ctx, variant: tuple, render: Callable[[], object]) -> bytes:
        """The JSON bytes of `render()`, cached for this entity object, context and output variant."""
        key = (id(entity), id(ctx), variant)
        hit = self._entries.get(key)
        if hit is not None and hit[0] is entity and hit[1] is ctx:
            return hit[2]
        data = orjson.dumps(render())
        if len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (entity, ctx, data)  # holding both keeps their ids from being reused
        return data
