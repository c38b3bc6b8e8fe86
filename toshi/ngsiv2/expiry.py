"""Transient entities (Orion's `dateExpires`).

An entity with an attribute `dateExpires` (type `DateTime`) expires at that instant. It is stored as an
ordinary attribute of the internal entity (`dateExpires`, a Property whose value is the date-time text,
`v2Type: DateTime`), so NGSI-LD sees it as a property too. Expired entities are hidden by the v2 reads
(queries and single-entity reads; see docs/ngsi-v2.md for NGSI-LD) and deleted by `sweep_expired`, a
periodic task that deletes them through the one write path, so deletions reach the change log, history
and subscriptions (`entityDelete`).
"""

from __future__ import annotations

import asyncio
import logging

from toshi.core.errors import NgsiError
from toshi.core.expiry import EXPIRES_IRI, expiry_of, is_expired, not_expired  # noqa: F401 - re-exported
from toshi.core.times import now_iso
from toshi.query.planner import EntityQuery

log = logging.getLogger(__name__)

SWEEP_BATCH = 1000


class _NotExpired(NgsiError):
    status = 409
    title = "The entity is no longer expired"


def _delete_if_expired(entity_id: str, now: str):
    def edit(before):
        if before is None or not is_expired(before, now):
            raise _NotExpired(entity_id)  # changed since it was found: skipped, nothing written
        return None
    return edit


async def sweep_once(services, now: str | None = None) -> int:
    """Delete every expired entity of every tenant through the Writer; the number deleted."""
    now = now or now_iso()
    deleted = 0
    tenants = set(await services.store.tenants()) | {""}
    for tenant in sorted(tenants):
        query = EntityQuery(attrs={EXPIRES_IRI}, limit=SWEEP_BATCH)
        query.extra.append(lambda e: is_expired(e, now))
        while True:
            found, _ = await services.store.query_entities(tenant, query)
            if not found:
                break
            outcomes = await services.writer.apply(
                tenant, [(e["id"], _delete_if_expired(e["id"], now)) for e in found])
            done = sum(1 for o in outcomes if o.change is not None)
            deleted += done
            if len(found) < SWEEP_BATCH or done == 0:
                break
    return deleted


async def sweep_expired(services, every: float) -> None:
    """Run forever: every `every` seconds delete the expired entities (start it as a task, cancel it)."""
    while True:
        try:
            deleted = await sweep_once(services)
            if deleted:
                log.info("deleted %d expired entities", deleted)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a failing sweep is logged; the next one tries again
            log.exception("sweeping expired entities failed")
        await asyncio.sleep(every)
