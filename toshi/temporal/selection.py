"""Which temporal entities a query selects.

Entity filters (id, idPattern, type, q, geoQ, scopeQ) apply to the entity's current state, or to its
last known state when it was deleted or only ever written through the temporal API (as Orion-LD and
Stellio do); `attrs` selects entities with a history of at least one of the attributes. The temporal
entities of the tenant are scanned in id order (ids, idPattern and a plain list of types narrow the
scan in SQL; the state of each candidate is then checked with `EntityQuery.matches_residual`).
"""

from __future__ import annotations

from dataclasses import dataclass

from toshi.core.access import visible, visible_attrs
from toshi.query.planner import EntityQuery
from toshi.temporal.history import TemporalEntity, TemporalHistory


@dataclass
class Selected:
    entity: TemporalEntity
    state: dict         # current or last known state (read-only: may be the store's cached document)


def select(history: TemporalHistory, store, tenant: str, query: EntityQuery) -> tuple[list[Selected], int | None]:
    """One page of matching temporal entities, and their total when the query asks for a count."""
    page: list[Selected] = []
    matched = 0
    types = query.types.simple_names() if query.types is not None else None
    for entity in history.entities(tenant, query.ids, query.id_pattern, types):
        state = visible(last_state(entity, store, tenant))
        if state is None or not query.matches_residual(state, types=True, attrs=False, q=True):
            continue
        if query.attrs is not None and not history.series(tenant, entity.id, query.attrs):
            continue
        if query.offset <= matched < query.offset + query.limit:
            page.append(Selected(entity, state))
        matched += 1
        if not query.count and len(page) >= query.limit:
            break
    return page, matched if query.count else None


def readable_series(series: list, state: dict) -> list:
    """The series (attribute histories) of an entity that the current request may read."""
    allowed = visible_attrs(state)
    return series if allowed is None else [s for s in series if s.attr in allowed]


def last_state(entity: TemporalEntity, store, tenant: str) -> dict:
    if entity.doc is not None:
        return entity.doc
    live = store.load_entity(tenant, entity.id)
    return live if live is not None else {"id": entity.id, "type": entity.types, "attrs": {}}
