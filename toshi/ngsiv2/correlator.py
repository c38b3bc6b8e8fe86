"""`Fiware-Correlator`: every NGSI-v2 response carries the request's correlator, or a new one (Orion)."""

from __future__ import annotations

import uuid

HEADER = b"fiware-correlator"


def with_correlator(app):
    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        given = next((value for name, value in scope.get("headers", []) if name == HEADER), None)
        correlator = given or str(uuid.uuid4()).encode()

        async def send_with_correlator(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"Fiware-Correlator", correlator)]}
            await send(message)

        await app(scope, receive, send_with_correlator)
    return wrapped
