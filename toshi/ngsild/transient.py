"""Transient entities and attributes: an entity or an attribute instance with `expiresAt` is gone at
that instant (NGSI-LD v1.9.1 clause 4.22).

Reads hide an expired entity and leave out an expired attribute at once: the read path's expiry layer
(toshi.core.expiry.ExpiryFilter) does, for every outlet, in the tenants this module marks as holding
transient data (every write leaving an `expiresAt` or a `dateExpires`, and at start what the store
holds). This module deletes the entity, or removes the
attribute, through the one write path soon after, so the change reaches the change log, history and
subscriptions. The earliest expiry every write leaves is remembered in a heap of due instants (a
write listener); at start the heap is seeded from the store.
"""

from __future__ import annotations

import asyncio
import heapq
import logging

from toshi.core.errors import NgsiError
from toshi.core.expiry import (
    EXPIRES_IRI,
    expires_whole,
    has_expiring_attributes,
    is_expired,
    mark_transient,
    unexpired_attributes,
)
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
        """Write listener: remember every entity a write leaves with an `expiresAt` (its own or an
        attribute's)."""
        for change in changes:
            if change.after is not None:
                self._remember(change.tenant, change.after)

    def _remember(self, tenant: str, entity: dict) -> None:
        keys = _expiries(entity)
        if keys:
            heapq.heappush(self.due, (min(keys), tenant, entity["id"]))
        if expires_whole(entity):  # the read path then hides it once expired
            mark_transient(self.services.store, tenant)
        if has_expiring_attributes(entity):
            mark_transient(self.services.store, tenant, attributes_only=True)

    async def seed(self) -> None:
        store = self.services.store
        for tenant in {"", *await store.tenants()}:
            if await store.has_attribute(tenant, EXPIRES_IRI):  # NGSI-v2 transient entities (dateExpires)
                mark_transient(store, tenant)
            query = EntityQuery(limit=10**9, extra=[lambda e: bool(_expiries(e))])
            found, _ = await store.query_entities(tenant, query)
            for entity in found:
                self._remember(tenant, entity)

    async def sweep_once(self, now: str | None = None) -> int:
        """Delete the entities whose expiry has come, remove the attributes whose expiry has come; the
        number of entities changed."""
        now_key = instant_key(now or now_iso())
        taken: dict[str, list[tuple[str, str, str]]] = {}
        while self.due and self.due[0][0] <= now_key:
            entry = heapq.heappop(self.due)
            taken.setdefault(entry[1], []).append(entry)
        deleted = 0
        for tenant in list(taken):
            ids = [entity_id for _, _, entity_id in taken[tenant]]
            try:
                outcomes = await self.services.writer.apply(tenant, [(i, _expire(i, now)) for i in ids])
            except BaseException:  # the write did not happen: what was taken and not done is due again
                self.due.extend(entry for entries in taken.values() for entry in entries)
                heapq.heapify(self.due)
                raise
            del taken[tenant]
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


def _expiries(entity: dict) -> list[str]:
    """The instant keys of the entity's `expiresAt` and of its attribute instances' ones."""
    stamps = [entity.get("expiresAt")]
    stamps += [inst.get("expiresAt") for instances in entity["attrs"].values() for inst in instances]
    keys = [instant_key(stamp) for stamp in stamps if isinstance(stamp, str)]
    return [key for key in keys if key is not None]


def _expire(entity_id: str, now: str | None):
    """The edit that deletes the entity once expired, else removes its expired attribute instances."""
    def edit(before):
        if before is None:
            raise _NotExpired(entity_id)  # deleted since: nothing written
        if is_expired(before, now):
            return None
        after = unexpired_attributes(before, now)
        if after is before:
            raise _NotExpired(entity_id)  # extended or removed since: nothing written
        return {**after, "modifiedAt": now or now_iso()}
    return edit
