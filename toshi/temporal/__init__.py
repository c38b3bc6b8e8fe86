"""The NGSI-LD temporal API (ETSI GS CIM 009 v1.8 clauses 4.5.6-4.5.9, 4.5.19, 5.6.11-5.6.16, 5.7.3-5.7.4).

`history` keeps every attribute instance a write produced; `web` serves /ngsi-ld/v1/temporal; `mapping`
says which entities a temporal entity map names (5.14.5, served by the NGSI-LD feature). See
docs/temporal.md.

Other features read the history through these functions (a resident's export, the erasure of their
data): the internal form, to be filtered by the caller's read path.
"""

from __future__ import annotations

from toshi.temporal.history import history_for, instance_id
from toshi.temporal.mapping import temporal_candidates as temporal_candidates


def attribute_history(store, tenant: str, entity_id: str, attrs: set[str] | None) -> dict[str, list[dict]]:
    """Every recorded instance of these attributes of an entity (expanded names; None: all), deletion rows
    included, each with its `instanceId`, in the order they were recorded."""
    history = history_for(store)
    out: dict[str, list[dict]] = {}
    for series in history.series(tenant, entity_id, attrs):
        out.setdefault(series.attr, []).extend({**row.instance, "instanceId": instance_id(row.seq)}
                                               for row in history.all_instances(series.id))
    return out


def former_entities(store, tenant: str, types: list[str]) -> list[dict]:
    """The last known states of the entities of these types that only the history still has (deleted,
    or only ever written through the temporal API)."""
    return [entity.doc for entity in history_for(store).entities(tenant, types=types) if entity.doc is not None]
