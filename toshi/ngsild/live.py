"""Live streams for dashboards: Server-Sent Events of entity changes, filtered like a query.

GET /ngsi-ld/v1/live/entities?type=…&q=…&options=keyValues streams one `change` event per matching
entity change, as the reader that opened the stream may see it. The notifier feeds the listeners
(toshi.notify LiveStreams), which drop a slow listener's oldest events.
"""

from __future__ import annotations

import asyncio

import orjson
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from toshi.core.access import current_guard
from toshi.formats import ngsild_http as http
from toshi.formats.ngsild_params import entity_query, options_of, output_of
from toshi.formats.ngsild_render import render_entity
from toshi.ngsild.entities import READ_OPTIONS
from toshi.notify import Listener, LiveStreams

KEEPALIVE_SECONDS = 15.0


async def live_entities(request: Request) -> StreamingResponse:
    tenant = http.tenant_of(request)
    ctx = await http.context_for(request)
    params = request.query_params
    output = output_of(params, ctx, options_of(params, READ_OPTIONS))
    query = entity_query(params, ctx, request.app.state.toshi.settings, require_filter=False)
    listener = Listener(tenant, query, lambda e: render_entity(
        e, ctx, form=output.form, sys_attrs=output.sys_attrs, attrs=output.attrs, lang=output.lang),
        guard=current_guard.get())  # the events are what this request may read
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
