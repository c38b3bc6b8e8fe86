"""NGSI-v2 errors: `{"error": ..., "description": ...}` with Orion's status codes and texts.

`V2Error` is an NgsiError, so edit functions may raise it inside the one write path (the Writer reports
it for that entity alone). `ErrorBoundary` wraps the /v2 routes: every exception raised below it,
including Starlette's 404/405 and the NGSI-LD errors of shared code, becomes a v2 error body.
"""

from __future__ import annotations

import logging

import orjson
from starlette.exceptions import HTTPException
from starlette.responses import Response

from toshi.core.errors import AlreadyExists, NgsiError, ResourceNotFound

log = logging.getLogger("toshi.ngsiv2")

ENTITY_NOT_FOUND = "The requested entity has not been found. Check type and id"
ATTRIBUTE_NOT_FOUND = "The entity does not have such an attribute"


class V2Error(NgsiError):
    """An NGSI-v2 error: `error` is Orion's error name, the message its description."""

    def __init__(self, status: int, error: str, description: str = "", headers: dict[str, str] | None = None):
        super().__init__(description or error, status=status, title=error)
        self.error = error
        self.description = description
        self.headers = headers or {}

    def body(self) -> dict:
        body = {"error": self.error}
        if self.description:
            body["description"] = self.description
        return body


ALREADY_EXIST = "one or more of the attributes in the request already exist"
DO_NOT_EXIST = "do not exist"


class EntityMissing(V2Error):
    """404: the entity an update addresses does not exist (a batch lists it as `[entity itself]`)."""

    def __init__(self, label: str):
        super().__init__(404, "NotFound", ENTITY_NOT_FOUND)
        self.label = label


class AttributesRefused(V2Error):
    """422: none of the request's attributes could be written (all exist for a strict append, or none
    exists for an update): `<what>: E/T - [ A, B ]`."""

    def __init__(self, what: str, label: str, names: list[str]):
        super().__init__(422, "Unprocessable", f"{what}: {label} - [ {', '.join(names)} ]")
        self.what, self.label, self.names = what, label, names


def refused_items(what: str, items: list[tuple[str, list[str] | None]]) -> str:
    """Orion's text for the entities of a batch (or one entity) that failed: `<what>: E/T - [ A, B ],
    G/T [entity itself]` (as in the manual's examples, a missing entity after the first has no dash)."""
    parts = [label + (" - " if names or i == 0 else " ") + (f"[ {', '.join(names)} ]" if names else "[entity itself]")
             for i, (label, names) in enumerate(items)]
    return f"{what}: " + ", ".join(parts)


def bad_request(description: str) -> V2Error:
    return V2Error(400, "BadRequest", description)


def parse_error(description: str = "Errors found in incoming JSON buffer") -> V2Error:
    """400 ParseError: a body that is no JSON, or not the JSON type Orion's parser expects."""
    return V2Error(400, "ParseError", description)


def not_found(description: str = ENTITY_NOT_FOUND) -> V2Error:
    return V2Error(404, "NotFound", description)


def unprocessable(description: str) -> V2Error:
    return V2Error(422, "Unprocessable", description)


def method_not_allowed(allowed: str) -> V2Error:
    """405 as Orion renders it for /v2 (`httpStatusCodeString(SccBadVerb)`, not the manual's
    `MethodNotAlowed` typo), with the `Allow` header listing the methods of the resource."""
    return V2Error(405, "MethodNotAllowed", "method not allowed", headers={"Allow": allowed})


def as_v2(exc: Exception) -> V2Error:
    """Any exception as the v2 error Orion would give for it."""
    if isinstance(exc, V2Error):
        return exc
    if isinstance(exc, AlreadyExists):
        return unprocessable("Already Exists")
    if isinstance(exc, ResourceNotFound):
        return not_found()
    if isinstance(exc, NgsiError):
        if exc.status == 400:
            return bad_request(exc.detail)
        return V2Error(exc.status, exc.kind, exc.detail)
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    log.error("unhandled error in the NGSI-v2 API", exc_info=exc)
    return V2Error(500, "InternalServerError", "Internal error; see the server log")


def _http_error(exc: HTTPException) -> V2Error:
    if exc.status_code == 404:
        return bad_request("Service not found. Check your URL as probably it is wrong.")  # as Orion
    if exc.status_code == 405:
        return method_not_allowed((exc.headers or {}).get("Allow", ""))
    return V2Error(exc.status_code, str(exc.detail))


def error_response(error: V2Error) -> Response:
    return Response(orjson.dumps(error.body()), status_code=error.status, media_type="application/json",
                    headers=error.headers)


async def _handler(request, exc: Exception) -> Response:
    return error_response(as_v2(exc))


class ErrorBoundary:
    """ASGI wrapper turning every exception raised by the wrapped /v2 app into a v2 error response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        # Starlette's routes look their exception handlers up in the scope: give them the v2 one.
        scope = {**scope, "starlette.exception_handlers": ({Exception: _handler}, {})}
        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            await error_response(as_v2(exc))(scope, receive, send)
