"""Admin endpoints of notification delivery: dead letters (list, replay) and outbox size."""

from __future__ import annotations

import time

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi.core.errors import ResourceNotFound
from toshi.formats.ngsild_params import int_param

PREFIX = "/admin/notifications"


def _json(data, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


async def list_dead_letters(request: Request) -> Response:
    outbox = request.app.state.toshi.store.outbox
    limit = int_param(request.query_params, "limit", 100)
    offset = int_param(request.query_params, "offset", 0)
    letters = outbox.dead_letters(limit, offset)
    for letter in letters:
        letter["payload"] = orjson.loads(letter["payload"])
    return _json(letters)


async def replay(request: Request) -> Response:
    services = request.app.state.toshi
    notification_id = request.path_params.get("notification_id")
    count = services.store.outbox.replay(notification_id, time.time())
    if notification_id and count == 0:
        raise ResourceNotFound(f"No dead letter {notification_id}")
    return _json({"replayed": count})


async def status(request: Request) -> Response:
    return _json({"pending": request.app.state.toshi.store.outbox.pending()})


def routes() -> list[Route]:
    return [
        Route(PREFIX + "/dead-letters", list_dead_letters, methods=["GET"]),
        Route(PREFIX + "/dead-letters/replay", replay, methods=["POST"]),
        Route(PREFIX + "/dead-letters/{notification_id}/replay", replay, methods=["POST"]),
        Route(PREFIX + "/status", status, methods=["GET"]),
    ]
