"""Delivery of queued notifications: per-receiver queues, retries with backoff, dead letters.

Every notification is in the outbox table before anything is sent; it leaves the outbox when the
receiver accepted it, or moves to the dead letters after `notify_max_attempts` failures (or the
endpoint's own `attempts`: NGSI-v2 tries once, as Orion does). Each
receiver (scheme, host, port) has its own bounded queue and a few workers, so a slow or dead
receiver only delays its own notifications. What does not fit in memory waits in the outbox and is
picked up by the sweeper.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from toshi.core.times import now_iso
from toshi.notify.senders import Senders

log = logging.getLogger("toshi.notify")
WORKERS_PER_RECEIVER = 16
SWEEP_SECONDS = 0.5


@dataclass
class Job:
    id: str
    tenant: str
    subscription_id: str
    endpoint: dict                 # where and how to send: see toshi/notify/kinds.py
    body: Any                      # what is sent (JSON, or text when the endpoint says `raw`)
    attempts: int = 0
    response_code: int | None = None  # HTTP status of the last attempt (not persisted)

    def payload(self) -> str:
        return orjson.dumps({"endpoint": self.endpoint, "body": self.body}).decode()

    @classmethod
    def from_row(cls, row: tuple) -> Job:
        notification_id, tenant, subscription_id, payload, attempts = row
        data = orjson.loads(payload)
        return cls(notification_id, tenant, subscription_id, data["endpoint"], data["body"], attempts)


def receiver_key(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.hostname}:{parts.port}"


class Deliverer:
    def __init__(self, store, settings, on_result: Callable[[Job, bool, str | None], None]):
        self.store = store
        self.settings = settings
        self.on_result = on_result
        self.senders = Senders(settings)
        self._queues: dict[str, asyncio.Queue] = {}
        self._in_flight: set[str] = set()
        self._tasks: list[asyncio.Task] = []
        self._active: Callable[[], bool] = lambda: True
        self._delivered: list[str] = []  # ids to remove from the outbox, in one statement per loop turn

    async def start(self, active: Callable[[], bool] = lambda: True) -> None:
        """Start sending; the outbox is swept only while `active()` (one process of several sends)."""
        self._active = active
        self._tasks.append(asyncio.create_task(self._sweep(), name="toshi-outbox-sweeper"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._queues.clear()
        await self.senders.close()

    def enqueue(self, jobs: list[Job], *, cursor_name: str | None = None, cursor: int | None = None) -> None:
        """Make jobs durable (with the change-log cursor that produced them), then start sending."""
        now = time.time()
        rows = [(job.id, job.tenant, job.subscription_id, job.payload(), now) for job in jobs]
        self.store.outbox.add(rows, (cursor_name, cursor) if cursor_name else None)
        for job in jobs:
            self._offer(job)

    def _offer(self, job: Job) -> None:
        if job.id in self._in_flight:
            return
        key = receiver_key(job.endpoint["uri"])
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue(self.settings.notify_queue_per_receiver)
            self._tasks.extend(asyncio.create_task(self._work(queue), name=f"toshi-send-{key}")
                               for _ in range(WORKERS_PER_RECEIVER))
        if not queue.full():  # else it stays in the outbox; the sweeper offers it again later
            self._in_flight.add(job.id)
            queue.put_nowait(job)

    async def _work(self, queue: asyncio.Queue) -> None:
        while True:
            job = await queue.get()
            try:
                await self._deliver(job)
            except Exception:
                log.exception("delivery of %s failed unexpectedly", job.id)
            finally:
                if job.id not in self._delivered:  # else it leaves in-flight once the outbox forgot it
                    self._in_flight.discard(job.id)

    async def _deliver(self, job: Job) -> None:
        error = await self.senders.send(job)
        if error is None:
            if not self._delivered:
                asyncio.get_running_loop().call_soon(self._forget_delivered)
            self._delivered.append(job.id)
            self.on_result(job, True, None)
            return
        job.attempts += 1
        self.on_result(job, False, error)
        limit = job.endpoint.get("attempts") or self.settings.notify_max_attempts
        log.warning("notifications to %s fail (%s): Toshi %s keeps them as dead letters; check that the receiver "
                    "runs and is reachable from this server", receiver_key(job.endpoint["uri"]), error,
                    "retries them, then" if limit > 1 else "tries each once and",
                    extra={"once_per": ("receiver down", receiver_key(job.endpoint["uri"]))})
        if job.attempts >= limit:
            log.warning("notification %s to %s moved to dead letters: %s", job.id, job.endpoint["uri"], error)
            self.store.outbox.bury(job.id, job.attempts, now_iso(), error)
        else:
            backoff = self.settings.notify_backoff * 2 ** (job.attempts - 1)
            self.store.outbox.retry_later(job.id, job.attempts, time.time() + backoff, error)

    def _forget_delivered(self) -> None:
        delivered, self._delivered = self._delivered, []
        self.store.outbox.delivered(delivered)
        self._in_flight.difference_update(delivered)

    async def _sweep(self) -> None:
        while True:
            try:
                if self._active():
                    for row in self.store.outbox.due(time.time(), 1000, self._in_flight):
                        self._offer(Job.from_row(row))
            except Exception:
                log.exception("outbox sweep failed")
            await asyncio.sleep(SWEEP_SECONDS)
