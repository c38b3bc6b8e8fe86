"""Live streams for dashboards: Server-Sent Events of entity changes, filtered like a query.

GET /ngsi-ld/v1/live/entities?type=…&q=…&options=keyValues streams one `change` event per matching
entity change, as the reader that opened the stream may see it. The notifier feeds the listeners
(toshi.notify LiveStreams), which drop a slow listener's oldest events. An event's `operation` is
`created`, `updated` or `deleted` (with the entity), `removed` (the entity left the reader's view:
it no longer matches the query or may no longer be read; only its id) or `changed` (what the reader
may read of it changed with their rights, or it came into view: only its id, to be read again).
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses

import orjson
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from toshi.core.access import ReadPath, current_guard, current_guard_maker, judging
from toshi.core.expiry import hide_expired
from toshi.formats import ngsild_http as http
from toshi.formats.ngsild_params import entity_query, options_of, output_of
from toshi.formats.ngsild_render import render_entity
from toshi.ngsild.entities import READ_OPTIONS
from toshi.notify import Listener, LiveStreams

KEEPALIVE_SECONDS = 15.0
PAGE = 1000


async def live_entities(request: Request) -> StreamingResponse:
    tenant = http.tenant_of(request)
    ctx = await http.context_for(request)
    params = request.query_params
    output = output_of(params, ctx, options_of(params, READ_OPTIONS))
    query = entity_query(params, ctx, request.app.state.toshi.settings, require_filter=False)
    listener = Listener(tenant, query, lambda e: render_entity(
        e, ctx, form=output.form, sys_attrs=output.sys_attrs, attrs=output.attrs, lang=output.lang),
        guard=current_guard.get())  # the events are what this request may read
    services = request.app.state.toshi
    listener.view = _view(services.store, services.read_path, tenant, query, listener)
    maker, request_context = current_guard_maker.get(), contextvars.copy_context()
    if maker is not None:  # the reader's rights as they are when they change (in the request's context: its purpose)
        listener.regard = lambda: request_context.run(maker)
    streams: LiveStreams = services.notifier.live
    streams.add(listener)
    try:
        await listener.seed()
    except BaseException:
        streams.listeners.discard(listener)
        raise
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


def _view(store, read_path: ReadPath, tenant: str, query, listener: Listener):
    """The reader's view: every entity matching the query as the reader may see it now, by id
    (judged only: nothing leaves, so nothing is noted as released)."""

    async def view() -> dict[str, dict]:
        found: dict[str, dict] = {}
        after = None
        while True:
            page = dataclasses.replace(query, limit=PAGE, offset=0, count=False, after=after, extra=list(query.extra))
            await hide_expired(store, tenant, page)
            with read_path.reading_as(listener.guard):
                mark = judging.set(True)
                try:
                    entities, _ = await store.query_entities(tenant, page)
                finally:
                    judging.reset(mark)
            found.update((e["id"], e) for e in entities)
            if len(entities) < PAGE or page.next_after is None:
                return found
            after = page.next_after
    return view


def routes() -> list[Route]:
    return [Route("/ngsi-ld/v1/live/entities", live_entities, methods=["GET"])]
