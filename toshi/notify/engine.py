"""The notifier: reads the change log, matches subscriptions, and queues notifications durably.

One consumer task follows the change log from its stored cursor. For every change it asks each active
subscription of the tenant whether it fires, renders the notification as of that change, and writes
it to the outbox together with the new cursor position, in one transaction. A crash anywhere loses
nothing: either the change is still after the cursor, or its notifications are in the outbox.
Notification ids derive from (subscription, change sequence), so a receiver can deduplicate retries.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence

from toshi.core.access import ReadPath, sight, visible
from toshi.core.expiry import as_of
from toshi.core.times import now_iso, utc_seconds
from toshi.notify.delivery import Deliverer, Job
from toshi.notify.kinds import CompiledSubscription, SubscriptionKind
from toshi.notify.live import LiveStreams

log = logging.getLogger("toshi.notify")
CURSOR = "notifier"
BATCH = 500
IDLE_CHECK = 0.2  # seconds between two looks at the end of the log while nobody listens


def notification_id(subscription_id: str, seq: int) -> str:
    return f"urn:ngsi-ld:Notification:{uuid.uuid5(uuid.NAMESPACE_URL, f'{subscription_id}#{seq}')}"


class SubscriptionIndex:
    """Which subscriptions can concern an entity: those naming its id, plus those selecting by type,
    pattern or attributes only. Spares checking every subscription against every change."""

    def __init__(self):
        self._by_id: dict[str, dict[str, list]] = {}
        self._others: dict[str, list] = {}

    def rebuild(self, subscriptions: dict[str, dict[str, CompiledSubscription]]) -> None:
        self._by_id, self._others = {}, {}
        for tenant, subs in subscriptions.items():
            for sub in subs.values():
                if sub.entity_ids:
                    for entity_id in sub.entity_ids:
                        self._by_id.setdefault(tenant, {}).setdefault(entity_id, []).append(sub)
                else:
                    self._others.setdefault(tenant, []).append(sub)

    def for_entity(self, tenant: str, entity_id: str) -> list:
        named = self._by_id.get(tenant, {}).get(entity_id, [])
        return list(dict.fromkeys(named)) + self._others.get(tenant, [])


class Notifier:
    """`kinds`: the kinds of subscription served (the features declare them); `read_path`: what the
    owner of a subscription may read (notifications and live streams are filtered by it)."""

    def __init__(self, store, settings, kinds: Sequence[SubscriptionKind] = (), read_path: ReadPath | None = None):
        self.store = store
        self.settings = settings
        self.kinds: list[SubscriptionKind] = list(kinds)
        self.read_path = read_path or ReadPath()
        self.deliverer = Deliverer(store, settings, on_result=self._delivered)
        self.live = LiveStreams(self.read_path)
        self._subscriptions: dict[str, dict[str, CompiledSubscription]] = {}  # tenant -> id -> compiled
        self._candidates = SubscriptionIndex()
        self._last_sent: dict[str, float] = {}                  # subscription id -> time (throttling)
        self._wake = asyncio.Event()
        self._idle_cursor: int | None = None  # position passed while nobody listened, saved lazily
        self._idle_checked = -IDLE_CHECK
        self._live_cursor: int | None = None  # a process that does not deliver follows the log for live streams
        self._was_leading = False
        self._tasks: list[asyncio.Task] = []
        self.results = {"sent": 0, "failed": 0}  # notification attempts by outcome (the ops feature's metrics)

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        for tenant, doc in await self.store.subscriptions.all():
            await self._compile(tenant, doc)
        self._candidates.rebuild(self._subscriptions)
        self.store.on_commit.append(self._wake.set)
        self.store.watch("subscription", self._changed_elsewhere)
        await self.deliverer.start(active=self._leading)
        self._tasks = [asyncio.create_task(self._consume(), name="toshi-notifier"),
                       asyncio.create_task(self._periodic(), name="toshi-periodic")]
        self._wake.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.deliverer.stop()
        if self._wake.set in self.store.on_commit:
            self.store.on_commit.remove(self._wake.set)

    # -- subscriptions --------------------------------------------------------------------------

    async def subscription_changed(self, tenant: str, subscription_id: str) -> None:
        """Called by the subscriptions API after a create, update or delete (and told to the other
        processes serving the same database)."""
        await self._reload(tenant, subscription_id)
        self.store.publish("subscription", f"{tenant}\n{subscription_id}")

    def _changed_elsewhere(self, payload: str) -> None:
        tenant, subscription_id = payload.split("\n", 1)
        self._tasks.append(asyncio.create_task(self._reload(tenant, subscription_id)))

    async def _reload(self, tenant: str, subscription_id: str) -> None:
        doc = await self.store.subscriptions.get(tenant, subscription_id)
        self._subscriptions.get(tenant, {}).pop(subscription_id, None)
        if doc is not None:
            await self._compile(tenant, doc, since_seq=await self.store.changes.last_seq())
        self._candidates.rebuild(self._subscriptions)

    async def _compile(self, tenant: str, doc: dict, since_seq: int = 0) -> None:
        """Load a subscription; it fires for changes after `since_seq` (those made after it was saved)."""
        kind = next((kind for kind in self.kinds if kind.owns(doc)), None)
        if kind is None:
            log.warning("subscription %s is of no kind served here", doc.get("id"))
            return
        try:
            compiled = await kind.compile(doc)
        except Exception:  # a subscription whose @context vanished must not stop the others
            log.exception("cannot load %s subscription %s", kind.name, doc.get("id"))
            return
        compiled.since_seq = since_seq
        self._subscriptions.setdefault(tenant, {})[doc["id"]] = compiled

    # -- the change-log consumer ----------------------------------------------------------------

    async def _consume(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while await self._consume_batch():
                    await asyncio.sleep(0)
            except Exception:
                log.exception("notifier batch failed; retrying")
                await asyncio.sleep(1)
                self._wake.set()

    def _leading(self) -> bool:
        """Whether this process delivers notifications: always on SQLite; on PostgreSQL the one
        process that holds the notifier lock (the others follow the log for their live streams)."""
        return self.store.leader("notifier")

    async def _consume_batch(self) -> bool:
        """Process the next batch of changes; True if there may be more."""
        if not self._leading():
            return await self._follow_for_live()
        self._live_cursor = None
        if not self.live.listeners and not any(self._subscriptions.values()):
            # Nobody listens: skip, decode nothing. Where the log ends is asked at most every
            # IDLE_CHECK seconds (a position a little behind is harmless: it only gets re-read).
            if time.monotonic() >= self._idle_checked + IDLE_CHECK:
                self._idle_cursor, self._idle_checked = await self.store.changes.last_seq(), time.monotonic()
            return False
        await self._save_idle_cursor()
        cursor = await self.store.changes.cursor(CURSOR) or 0
        records = await self.store.changes.read(cursor, BATCH)
        if not records:
            return False
        jobs = [job for record in records for job in self._jobs_for(record)]
        self.deliverer.enqueue(jobs, cursor_name=CURSOR, cursor=records[-1].seq)
        for record in records:
            self.live.publish(record)
        return len(records) == BATCH

    async def _follow_for_live(self) -> bool:
        if not self.live.listeners:
            self._live_cursor = None
            return False
        if self._live_cursor is None:
            self._live_cursor = await self.store.changes.last_seq()
        records = await self.store.changes.read(self._live_cursor, BATCH)
        for record in records:
            self.live.publish(record)
        if records:
            self._live_cursor = records[-1].seq
        return len(records) == BATCH

    async def _save_idle_cursor(self) -> None:
        if self._idle_cursor is not None:
            if self._idle_cursor > (await self.store.changes.cursor(CURSOR) or 0):
                self.store.changes.set_cursor(CURSOR, self._idle_cursor)
            self._idle_cursor = None

    def _jobs_for(self, record) -> list[Job]:
        jobs = []
        for sub in self._candidates.for_entity(record.tenant, record.entity_id):
            if record.seq <= sub.since_seq:
                continue
            before, after = self._as_owner_sees(sub, record)
            if (before is None and after is None) or not sub.matches(record.tenant, before, after):
                continue
            if self._throttled(sub):
                continue
            entity = sub.notification_entity(before, after, deleted_at=record.at)
            jobs.append(self._job(sub, record.tenant, [entity], notification_id(sub.id, record.seq),
                                  number=len(jobs) + 1))
        return jobs

    def _as_owner_sees(self, sub, record) -> tuple[dict | None, dict | None]:
        """The change as the subscription's owner may read it now (hidden attributes removed)."""
        with self.read_path.reading_as(self.read_path.guard_of_subscription(record.tenant, sub.id)):
            if sight() is None:
                return record.before, record.after
            # expiry is judged at each state's own instant: the state before as it stood when written
            # (so the sweeper's removal of an expired attribute or entity is seen), the state after
            # at the change (an attribute already expired then is not in it)
            with as_of(record.before.get("modifiedAt") if record.before is not None else None):
                before = visible(record.before)
            with as_of(record.at):
                after = visible(record.after)
        if before is not None and after is not None and before["attrs"] == after["attrs"]:
            return None, None  # only what the owner may not read changed
        return before, after

    def loaded(self, tenant: str) -> list[CompiledSubscription]:
        """The tenant's subscriptions loaded here (every kind)."""
        return list(self._subscriptions.get(tenant, {}).values())

    def notify(self, tenant: str, subscription_id: str, items: list) -> bool:
        """Queue one notification of `items` for a loaded subscription, outside the change log (a
        context source registration changed: toshi/csources). Durable and retried like every other;
        False when the subscription is not loaded here, not active, or throttled."""
        sub = self._subscriptions.get(tenant, {}).get(subscription_id)
        if sub is None or not sub.is_active() or self._throttled(sub):
            return False
        nid = f"urn:ngsi-ld:Notification:{uuid.uuid4()}"
        self.deliverer.enqueue([self._job(sub, tenant, items, nid)])
        return True

    def _throttled(self, sub) -> bool:
        throttling = sub.throttling
        now = time.monotonic()
        if throttling and now - self._last_sent.get(sub.id, -1e18) < throttling:
            return True
        self._last_sent[sub.id] = now
        return False

    def _job(self, sub, tenant: str, entities: list[dict], nid: str, number: int = 1) -> Job:
        """`number`: the notification's place among those of its change (v2: `cbnotif` of the correlator)."""
        endpoint, body = sub.notification(tenant, entities, notification_id=nid, now=now_iso(), number=number)
        return Job(id=nid, tenant=tenant, subscription_id=sub.id, endpoint=endpoint, body=body)

    # -- periodic (timeInterval) subscriptions --------------------------------------------------

    async def _periodic(self) -> None:
        next_due: dict[str, float] = {}
        next_prune = 0.0
        while True:
            await asyncio.sleep(0.2)
            leading = self._leading()
            if leading != self._was_leading:  # took over (or lost) delivery: look at the log afresh
                self._was_leading = leading
                self._wake.set()
            if not leading:
                continue
            await self.flush_statistics()
            await self._save_idle_cursor()
            now = time.monotonic()
            if now >= next_prune:
                next_prune = now + 60
                await self._prune_change_log()
            for tenant, subs in list(self._subscriptions.items()):
                for sub in list(subs.values()):
                    interval = sub.time_interval
                    if not interval or not sub.is_active():
                        continue
                    if now >= next_due.setdefault(sub.id, now + interval):
                        next_due[sub.id] = now + interval
                        await self._notify_periodic(tenant, sub)

    async def _notify_periodic(self, tenant: str, sub) -> None:
        with self.read_path.reading_as(self.read_path.guard_of_subscription(tenant, sub.id)):
            # the query answers what the owner may read
            entities = await self.store.query_entities(tenant, sub.entity_query(limit=self.settings.max_limit))
        data = [sub.notification_entity(None, entity) for entity in entities[0]]
        if data:
            nid = f"urn:ngsi-ld:Notification:{uuid.uuid4()}"
            self.deliverer.enqueue([self._job(sub, tenant, data, nid)])

    async def _prune_change_log(self) -> None:
        cursor = await self.store.changes.cursor(CURSOR) or 0
        cutoff = utc_seconds(time.time() - self.settings.change_retention)
        await self.store.changes.prune(cursor, cutoff)

    # -- results --------------------------------------------------------------------------------

    def _delivered(self, job: Job, ok: bool, error: str | None) -> None:
        self.results["sent" if ok else "failed"] += 1
        sub = self._subscriptions.get(job.tenant, {}).get(job.subscription_id)
        if sub is not None:
            sub.record_delivery(ok, now_iso(), error, job.response_code)

    async def flush_statistics(self) -> None:
        """Persist the notification statistics of every subscription (timesSent, lastSuccess, …)."""
        for tenant, subs in list(self._subscriptions.items()):
            for sub in list(subs.values()):
                if sub.statistics_dirty:
                    sub.statistics_dirty = False
                    stored = await self.store.subscriptions.get(tenant, sub.id)  # as it is now
                    if stored is not None:
                        await self.store.subscriptions.put(tenant, sub.statistics_onto(stored))
