"""Unknown URL parameters are refused under /ngsi-ld/v1 (v1.8 clause 6.3.20): a request naming a
parameter the NGSI-LD API does not define is 400 InvalidRequest, before anything else reads it.

An ASGI middleware, so it covers every resource of the API (entities, temporal, subscriptions,
@contexts, context sources, the live stream) in one place. The names come from
`toshi.formats.ngsild_params.URL_PARAMETERS`: what the API defines over all its resources, so a
parameter another operation defines is left to the operation to judge.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson

from toshi.core.errors import InvalidRequest
from toshi.formats.ngsild_params import URL_PARAMETERS

PREFIX = "/ngsi-ld/v1/"


class KnownParameters:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX) and scope.get("query_string"):
            query = scope["query_string"].decode("latin-1")
            unknown = sorted({name for name, _ in parse_qsl(query, keep_blank_values=True)} - URL_PARAMETERS)
            if unknown:
                problem = InvalidRequest(f"Unknown URL parameter(s): {', '.join(unknown)[:200]}")
                await _send_problem(send, problem)
                return
        await self.app(scope, receive, send)


async def _send_problem(send, problem: InvalidRequest) -> None:
    body = orjson.dumps(problem.problem())
    await send({"type": "http.response.start", "status": problem.status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
