"""Transient entities: an entity with `expiresAt` is gone at that instant (NGSI-LD v1.9).

Reads hide an expired entity at once (toshi.core.expiry: retrieve, queries, temporal, NGSI-v2); this
module deletes it through the one write path soon after, so the deletion reaches the change log,
history and subscriptions. Every write that leaves an `expiresAt` is remembered in a heap of due
instants (a write listener); at start the heap is seeded from the store.
"""

from __future__ import annotations

import asyncio
import heapq
import logging

from toshi.core.errors import NgsiError
from toshi.core.expiry import is_expired, mark_transient
from toshi.core.times import instant_key, now_iso
from toshi.query.planner import EntityQuery

log = logging.getLogger(__name__)
SWEEP_EVERY = 1.0  # seconds


class _NotExpired(NgsiError):
    status = 409
    title = "The entity is no longer expired"


class Transients:
    def __init__(self, services):
        self.services = services
        self.due: list[tuple[str, str, str]] = []  # (instant key, tenant, entity id)

    def record(self, _tx, changes: list) -> None:
        """Write listener: remember every entity a write leaves with an `expiresAt`."""
        for change in changes:
            after = change.after
            if after is not None and isinstance(after.get("expiresAt"), str):
                self._remember(change.tenant, after)

    def _remember(self, tenant: str, entity: dict) -> None:
        key = instant_key(entity["expiresAt"])
        if key is not None:
            heapq.heappush(self.due, (key, tenant, entity["id"]))
            mark_transient(self.services.store, tenant)

    async def seed(self) -> None:
        store = self.services.store
        for tenant in {"", *await store.tenants()}:
            query = EntityQuery(limit=10**9, extra=[lambda e: "expiresAt" in e])
            found, _ = await store.query_entities(tenant, query)
            for entity in found:
                self._remember(tenant, entity)

    async def sweep_once(self, now: str | None = None) -> int:
        """Delete the entities whose expiry has come; the number deleted."""
        now_key = instant_key(now or now_iso())
        by_tenant: dict[str, list[str]] = {}
        while self.due and self.due[0][0] <= now_key:
            _, tenant, entity_id = heapq.heappop(self.due)
            by_tenant.setdefault(tenant, []).append(entity_id)
        deleted = 0
        for tenant, ids in by_tenant.items():
            outcomes = await self.services.writer.apply(tenant, [(i, _delete_if_expired(i, now)) for i in ids])
            deleted += sum(1 for o in outcomes if o.change is not None)
        return deleted

    async def sweep_forever(self) -> None:
        await self.seed()
        while True:
            try:
                await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a failing sweep is logged; the next one tries again
                log.exception("deleting expired transient entities failed")
            await asyncio.sleep(SWEEP_EVERY)


def _delete_if_expired(entity_id: str, now: str | None):
    def edit(before):
        if before is None or not is_expired(before, now):
            raise _NotExpired(entity_id)  # extended or deleted since: nothing written
        return None
    return edit
