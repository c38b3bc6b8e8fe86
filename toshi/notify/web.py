"""Admin endpoints of notification delivery: dead letters (list, replay) and outbox size."""

from __future__ import annotations

import time

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi.core.errors import BadRequestData, ResourceNotFound

PREFIX = "/admin/notifications"


def _count(request: Request, key: str, default: int) -> int:
    raw = request.query_params.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestData(f"{key} must be an integer, got {raw!r}") from None
    if value < 0:
        raise BadRequestData(f"{key} must be at least 0")
    return value


def _json(data, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


async def list_dead_letters(request: Request) -> Response:
    outbox = request.app.state.toshi.store.outbox
    limit = _count(request, "limit", 100)
    offset = _count(request, "offset", 0)
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
