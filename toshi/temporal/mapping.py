"""The entities an entity map of a temporal query names (v1.9 clause 5.14.5.4, Create EntityMap for Query
Temporal Evolution of Entities): the NGSI-LD feature stores and serves the map (toshi/ngsild/entity_maps.py),
this module says which entities are its candidates.

S is the entities the query selects by id, id pattern and type; S1 keeps those whose history holds an
instance inside the time window (of the query's attributes, or any); the values query sees the instances
of the window, the geoquery and scope query the entity (as the temporal query does, toshi/temporal/
selection.py). Entities are judged on the read path, not handed over: a map shows ids only."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from toshi.core.access import judging
from toshi.core.errors import BadRequestData
from toshi.query.planner import EntityQuery
from toshi.temporal.history import history_for
from toshi.temporal.selection import readable_series, select
from toshi.temporal.timequery import parse_time_query

ALL = 10**9


def temporal_candidates(store, tenant: str, query: EntityQuery, values: Mapping[str, Any]) -> list[str]:
    """The ids of the entities whose temporal evolution the query selects, in id order; `values` the
    temporal query (URL parameters, or a Query's temporalQ merged over them). 400 without one."""
    time = parse_time_query(values)
    if time.timerel is None:
        raise BadRequestData("An entity map of a temporal query needs a temporal query (timerel and timeAt)")
    history = history_for(store)
    window = dataclasses.replace(time, last_n=None)
    everything = dataclasses.replace(query, limit=ALL, offset=0, count=False)
    mark = judging.set(True)
    try:
        selected, _, _ = select(history, store, tenant, everything, time)
        return [s.entity.id for s in selected
                if any(history.instances(series.id, window, 1)[0]
                       for series in readable_series(history.series(tenant, s.entity.id, query.attrs), s.state))]
    finally:
        judging.reset(mark)
