"""`Fiware-Correlator`: every NGSI-v2 response carries the request's correlator, or a new one (Orion).

The handlers find it with `correlator_of(request)`: writes keep it on the entity they change
(`toshi.ngsiv2.edits.correlated`), so the notifications the write triggers carry it too.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request

HEADER = b"fiware-correlator"
STATE_KEY = "fiware_correlator"


class Correlated:
    """ASGI wrapper: reads or makes the request's correlator, answers with it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope.get("headers", []) if name == HEADER), None)
        correlator = given or str(uuid.uuid4()).encode()
        scope = {**scope, "state": {**scope.get("state", {}), STATE_KEY: correlator.decode("latin-1")}}

        async def send_with_correlator(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"Fiware-Correlator", correlator)]}
            await send(message)

        await self.app(scope, receive, send_with_correlator)


def correlator_of(request: Request) -> str:
    """The correlator of this request (as answered in its Fiware-Correlator header)."""
    return request.scope.get("state", {}).get(STATE_KEY) or str(uuid.uuid4())
