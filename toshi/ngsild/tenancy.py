"""The tenant of a request is named in its answer (v1.8 clause 6.3.14): a request to /ngsi-ld/v1 that
carries an `NGSILD-Tenant` header gets the same header back, on every answer, errors included.

An ASGI middleware, so every resource of the API (entities, temporal, subscriptions, @contexts,
context sources, entity maps) echoes it in one place.
"""

from __future__ import annotations

PREFIX = "/ngsi-ld/v1/"
HEADER = b"ngsild-tenant"


class EchoTenant:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        tenant = _tenant_of(scope) if scope["type"] == "http" and scope["path"].startswith(PREFIX) else None
        if tenant is None:
            await self.app(scope, receive, send)
            return

        async def echoing(message) -> None:
            if message["type"] == "http.response.start" \
                    and all(name.lower() != HEADER for name, _ in message.get("headers", [])):
                message = {**message, "headers": [*message.get("headers", []), (HEADER, tenant)]}
            await send(message)

        await self.app(scope, receive, echoing)


def _tenant_of(scope) -> bytes | None:
    return next((value for name, value in scope["headers"] if name == HEADER), None)
