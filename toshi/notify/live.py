"""Live streams for dashboards: Server-Sent Events of entity changes, filtered like a query.

GET /ngsi-ld/v1/live/entities?type=…&q=…&options=keyValues streams one `change` event per matching
entity change. Each listener has a bounded queue; when a listener falls behind, its oldest events are
dropped (and counted in a `dropped` field), so a slow dashboard never holds up writes or others.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import orjson
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from toshi.core.access import current_guard
from toshi.ngsild import http
from toshi.ngsild.entities import READ_OPTIONS
from toshi.ngsild.params import entity_query, options_of, output_of
from toshi.formats.ngsild_render import render_entity

QUEUE_SIZE = 1000
KEEPALIVE_SECONDS = 15.0


@dataclass(eq=False)
class Listener:
    tenant: str
    query: object
    render: object
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0
    guard: object = None  # the access rules of the request that opened the stream (toshi/core/access.py)

    def offer(self, event: dict) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)


class LiveStreams:
    def __init__(self):
        self.listeners: set[Listener] = set()

    def publish(self, record) -> None:
        state = record.after if record.after is not None else record.before
        for listener in list(self.listeners):
            seen = state if listener.guard is None or state is None else listener.guard.readable(state)
            if listener.tenant == record.tenant and seen is not None and listener.query.matches(seen):
                operation = "deleted" if record.after is None else "created" if record.before is None else "updated"
                listener.offer({"seq": record.seq, "operation": operation, "at": record.at,
                                "entity": listener.render(seen)})


async def live_entities(request: Request) -> StreamingResponse:
    tenant = http.tenant_of(request)
    ctx = await http.context_for(request)
    params = request.query_params
    output = output_of(params, ctx, options_of(params, READ_OPTIONS))
    query = entity_query(params, ctx, request.app.state.toshi.settings, require_filter=False)
    listener = Listener(tenant, query, lambda e: render_entity(
        e, ctx, form=output.form, sys_attrs=output.sys_attrs, attrs=output.attrs, lang=output.lang),
        guard=current_guard.get())
    streams: LiveStreams = request.app.state.toshi.notifier.live
    streams.listeners.add(listener)
    return StreamingResponse(_events(listener, streams), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _events(listener: Listener, streams: LiveStreams):
    try:
        yield b": connected\n\n"
        while True:
            try:
                event = await asyncio.wait_for(listener.queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            event["dropped"] = listener.dropped
            yield b"event: change\nid: %d\ndata: %s\n\n" % (event["seq"], orjson.dumps(event))
    finally:
        streams.listeners.discard(listener)


def routes() -> list[Route]:
    return [Route("/ngsi-ld/v1/live/entities", live_entities, methods=["GET"])]
