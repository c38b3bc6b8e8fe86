"""Live streams: the listeners the notifier feeds with every entity change, each filtered like a query.

Each listener has a bounded queue; when a listener falls behind, its oldest events are dropped (and
counted in a `dropped` field), so a slow dashboard never holds up writes or others. The outlet that
opens listeners and streams their events is the NGSI-LD API's (toshi/ngsild/live.py).

A listener also remembers which entities its reader has in view (`shown`: id -> a fingerprint of the
attributes the reader may see): those matching its query when it opened (`seed`, read through the read
path by the outlet) and those its events carried since. So it can say when an entity leaves the view:
  - an entity change after which the entity no longer matches the query (moved out of the area, no
    longer of the type or matching q) or is no longer readable: a `removed` event naming only its id;
  - a change of what readers may see without an entity changing (a consent revoked or granted, a
    declaration, a policy rule): the read path tells the live streams (`ReadPath.watch`), each
    listener makes its reader's guard afresh (`regard`), reads its view again, and says `removed` for
    what left it and `changed` (the id only: read it again, through the read path) for what came
    into it or whose readable attributes changed.
Only ids the reader was shown (or may read now) are ever named, so these events reveal nothing the
reader could not read.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from toshi.core.access import ReadPath, judging, visible
from toshi.core.times import now_iso

QUEUE_SIZE = 1000
log = logging.getLogger("toshi.notify")


def fingerprint(view: dict) -> int:
    """What of an entity a reader may see, as far as a change of rights can alter it: its attributes."""
    return hash(frozenset(view.get("attrs", ())))


@dataclass(eq=False)
class Listener:
    tenant: str
    query: object   # .matches(entity): which changes it wants
    render: object  # entity -> what its event carries
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0
    guard: object = None  # what the reader that opened the stream may read (toshi/core/access.py)
    # the reader's view as it is now: {id: entity as the reader may see it} of the entities matching the
    # query, read through the read path under `guard` (None: rights changes then say nothing)
    view: Callable[[], Awaitable[dict[str, dict]]] | None = None
    shown: dict[str, int] = field(default_factory=dict)
    regard: Callable[[], object] | None = None  # makes `guard` afresh: the reader's rights as they are now
    stale: bool = False  # rights changed since `guard` was made
    _touched: set[str] | None = None  # ids events changed while the view was being read

    def offer(self, event: dict) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)

    def _shows(self, entity_id: str, print_: int | None) -> None:
        if print_ is None:
            self.shown.pop(entity_id, None)
        else:
            self.shown[entity_id] = print_
        if self._touched is not None:
            self._touched.add(entity_id)

    def renew(self) -> None:
        """The guard as the reader's rights are now (e.g. after a first personal-data declaration: a
        guard made before it lacks the consent layer altogether)."""
        if self.regard is not None:
            self.guard = self.regard()
        self.stale = False

    async def _read_view(self) -> tuple[dict, set]:
        """The view as the reader sees it now, and the ids events touched while it was being read."""
        self._touched = set()
        try:
            return await self.view(), self._touched
        finally:
            self._touched = None

    async def seed(self) -> None:
        """Remember the view the reader starts from (what the page that opens the stream has read)."""
        if self.view is None:
            return
        now, touched = await self._read_view()
        for entity_id, entity in now.items():
            if entity_id not in touched:
                self.shown[entity_id] = fingerprint(entity)

    async def look_again(self, seq: int, at: str) -> None:
        """Rights changed: say what left the view and what entered it or changed in it."""
        self.renew()
        if self.view is None:
            return
        now, touched = await self._read_view()
        for entity_id in [i for i in self.shown if i not in now and i not in touched]:
            del self.shown[entity_id]
            self.offer({"seq": seq, "operation": "removed", "at": at, "entity": {"id": entity_id}})
        for entity_id, entity in now.items():
            print_ = fingerprint(entity)
            if entity_id not in touched and self.shown.get(entity_id) != print_:
                self.shown[entity_id] = print_
                self.offer({"seq": seq, "operation": "changed", "at": at, "entity": {"id": entity_id}})


class LiveStreams:
    def __init__(self, read_path: ReadPath | None = None):
        self.read_path = read_path or ReadPath()
        self.listeners: set[Listener] = set()
        self.last_seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._looking: asyncio.Task | None = None
        self._again = False
        self.read_path.watch(self.rights_changed)

    def add(self, listener: Listener) -> None:
        self._loop = asyncio.get_running_loop()
        self.listeners.add(listener)

    def publish(self, record) -> None:
        self.last_seq = max(self.last_seq, record.seq)
        state = record.after if record.after is not None else record.before
        entity_id = state["id"]
        for listener in list(self.listeners):
            if listener.tenant != record.tenant:
                continue
            if listener.stale:  # rights changed and the view is not read again yet: judge by the new ones
                listener.renew()
            with self.read_path.reading_as(listener.guard):
                mark = judging.set(True)  # only judged: nothing leaves unless the event carries it
                try:
                    seen = visible(state)
                finally:
                    judging.reset(mark)
                wanted = seen is not None and listener.query.matches(seen)
                if wanted:
                    seen = visible(state)  # handed over: a layer noting releases notes this one
            if wanted:
                operation = "deleted" if record.after is None else "created" if record.before is None else "updated"
                listener._shows(entity_id, None if record.after is None else fingerprint(seen))
                listener.offer({"seq": record.seq, "operation": operation, "at": record.at,
                                "entity": listener.render(seen)})
            elif entity_id in listener.shown:  # it left this reader's view
                listener._shows(entity_id, None)
                listener.offer({"seq": record.seq, "operation": "removed", "at": record.at,
                                "entity": {"id": entity_id}})

    # -- rights changed ---------------------------------------------------------------------------

    def rights_changed(self) -> None:
        """What readers may see changed (called by the read path; from any thread): every listener
        reads its view again, once for any number of changes made meanwhile."""
        loop = self._loop
        if loop is None or not self.listeners or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._schedule()
        else:
            loop.call_soon_threadsafe(self._schedule)

    def _schedule(self) -> None:
        for listener in self.listeners:
            listener.stale = True
        if self._looking is not None and not self._looking.done():
            self._again = True
            return
        # in a context of its own: not the deadline, purpose or guard of the request that changed rights
        self._looking = asyncio.get_running_loop().create_task(self._look_again(), context=contextvars.Context())

    async def _look_again(self) -> None:
        while True:
            self._again = False
            for listener in list(self.listeners):
                try:
                    await listener.look_again(self.last_seq, now_iso())
                except Exception:
                    log.exception("a live stream could not read its view again")
            if not self._again:
                return
