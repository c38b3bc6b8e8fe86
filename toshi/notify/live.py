"""Live streams: the listeners the notifier feeds with every entity change, each filtered like a query.

Each listener has a bounded queue; when a listener falls behind, its oldest events are dropped (and
counted in a `dropped` field), so a slow dashboard never holds up writes or others. The outlet that
opens listeners and streams their events is the NGSI-LD API's (toshi/ngsild/live.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from toshi.core.access import ReadPath, visible

QUEUE_SIZE = 1000


@dataclass(eq=False)
class Listener:
    tenant: str
    query: object   # .matches(entity): which changes it wants
    render: object  # entity -> what its event carries
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0
    guard: object = None  # what the reader that opened the stream may read (toshi/core/access.py)

    def offer(self, event: dict) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)


class LiveStreams:
    def __init__(self, read_path: ReadPath | None = None):
        self.read_path = read_path or ReadPath()
        self.listeners: set[Listener] = set()

    def publish(self, record) -> None:
        state = record.after if record.after is not None else record.before
        for listener in list(self.listeners):
            if listener.tenant != record.tenant:
                continue
            with self.read_path.reading_as(listener.guard):
                seen = visible(state)
            if seen is not None and listener.query.matches(seen):
                operation = "deleted" if record.after is None else "created" if record.before is None else "updated"
                listener.offer({"seq": record.seq, "operation": operation, "at": record.at,
                                "entity": listener.render(seen)})
