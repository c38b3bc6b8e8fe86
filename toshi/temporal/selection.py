"""Which temporal entities a query selects.

Entity filters (id, idPattern, type, geoQ, scopeQ) apply to the entity's current state, or to its
last known state when it was deleted or only ever written through the temporal API (as Orion-LD and
Stellio do). `q` sees the instances inside the time window of the temporal query (timerel, timeAt,
endTimeAt on timeproperty; the whole history without timerel), not the current value: `q=speed>50`
selects entities whose speed was above 50 at some time in the window (each attribute the `q` names is
given all its instances of the window, so a comparison matches when one of them does). `attrs` selects
entities with a history of at least one of the attributes. The temporal entities of the tenant are
scanned in id order (ids, idPattern and a plain list of types narrow the scan in SQL; each candidate is
then checked with `EntityQuery.matches_residual`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from toshi.core.access import visible, visible_attrs
from toshi.core.expiry import is_expired
from toshi.query.planner import EntityQuery
from toshi.temporal.history import TemporalEntity, TemporalHistory
from toshi.temporal.timequery import TimeQuery

WINDOW_LIMIT = 10_000  # instances of one attribute (datasetId) a q looks at


@dataclass
class Selected:
    entity: TemporalEntity
    state: dict         # current or last known state (read-only: may be the store's cached document)


def select(history: TemporalHistory, store, tenant: str, query: EntityQuery,
           time: TimeQuery | None = None, *, descending: bool = False) -> tuple[list[Selected], int | None, bool]:
    """One page of matching temporal entities in id order (`descending`: from the last), their total
    when the query asks for a count, and whether more follow the page. `time`: the window a `q` sees
    (None: the current state)."""
    page: list[Selected] = []
    matched = 0
    more = False
    types = query.types.simple_names() if query.types is not None else None
    for entity in history.entities(tenant, query.ids, query.id_pattern, types, descending=descending):
        state = seen(last_state(entity, store, tenant))
        if state is None:
            continue
        judged = state if query.q is None or time is None else _in_window(history, tenant, state, query, time)
        if not query.matches_residual(judged, types=True, attrs=False, q=True):
            continue
        if query.attrs is not None and not history.series(tenant, entity.id, query.attrs):
            continue
        if matched >= query.offset + query.limit:  # one beyond the page
            more = True
            if not query.count:
                break
        elif matched >= query.offset:
            page.append(Selected(entity, state))
        matched += 1
    return page, matched if query.count else None, more


def _in_window(history: TemporalHistory, tenant: str, state: dict, query: EntityQuery,
               time: TimeQuery) -> dict:
    """The state with each attribute `q` names holding its readable instances of the time window
    (deletions left out)."""
    window = dataclasses.replace(time, last_n=None)
    named = query.q.attribute_names()
    attrs = {name: instances for name, instances in state["attrs"].items() if name not in named}
    for series in readable_series(history.series(tenant, state["id"], named), state):
        rows, _ = history.instances(series.id, window, WINDOW_LIMIT)
        attrs.setdefault(series.attr, []).extend(r.instance for r in rows if "deletedAt" not in r.instance)
    return {**state, "attrs": attrs}


def seen(state: dict) -> dict | None:
    """What the reader may see of a (current or last known) state: nothing of a transient entity that
    expired (the entity API's gate), else what the read path shows."""
    return None if is_expired(state) else visible(state)


def readable_series(series: list, state: dict) -> list:
    """The series (attribute histories) of an entity that the current request may read."""
    allowed = visible_attrs(state)
    return series if allowed is None else [s for s in series if s.attr in allowed]


def last_state(entity: TemporalEntity, store, tenant: str) -> dict:
    if entity.doc is not None:
        return entity.doc
    live = store.load_entity(tenant, entity.id)
    return live if live is not None else {"id": entity.id, "type": entity.types, "attrs": {}}
