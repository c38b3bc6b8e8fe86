"""The NGSI-v2 (Orion) API declared as a feature: entities, batch, types, subscriptions,
registrations and forwarding, /version, and the sweep of expired transient entities."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi import __version__
from toshi.core.feature import Action, Feature, tables_of
from toshi.core.openapi import paths_of
from toshi.core.routing import Prefixed
from toshi.ngsiv2 import registrations_store
from toshi.ngsiv2.expiry import sweep_expired
from toshi.ngsiv2.forwarding import FORWARD_TIMEOUT
from toshi.ngsiv2.routes import route_table, routes
from toshi.ngsiv2.subscription_kind import V2SubscriptionKind
from toshi.ngsiv2.version import orion_info

if TYPE_CHECKING:
    import httpx

POST = frozenset({"POST"})
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SWEEP_EVERY = 60.0  # seconds between two sweeps of expired entities


async def version(request: Request) -> Response:
    body = {"orion": orion_info(), "toshi": {"version": __version__}}  # Orion-shaped for NGSI-v2 clients
    return Response(orjson.dumps(body), media_type="application/json")


class NgsiV2(Feature):
    name = "ngsiv2"
    tables = tables_of(registrations_store.SCHEMA)
    actions = (
        Action("/version", None, exact=True),
        Action("/v2/entities", "create", methods=POST, exact=True),
        Action("/v2/op/query", "read", methods=POST, exact=True),
        Action("/v2/subscriptions", "subscribe", methods=CHANGES),
        Action("/v2/registrations", "subscribe", methods=CHANGES),
    )

    def __init__(self, services):
        super().__init__(services)
        self._client: httpx.AsyncClient | None = None

    def http_client(self) -> httpx.AsyncClient:
        """The one HTTP client of forwarding to context providers (its connections are kept alive and
        reused), opened at the first forwarding (httpx is imported then, not at start-up) and closed by `stop`."""
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=FORWARD_TIMEOUT, follow_redirects=False,
                                             limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))
        return self._client

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def routes(self) -> list:
        # One prefix check: it costs NGSI-LD requests almost nothing and spares v2 requests the LD routes.
        return [Prefixed("/v2", routes()), Route("/version", version)]

    def openapi(self) -> dict:
        v2 = [Route("/v2" + path, endpoint, methods=methods) for path, endpoint, methods in route_table()]
        return paths_of([Route("/v2", routes()[0].endpoint, methods=["GET"]), *v2, Route("/version", version)])

    def subscription_kinds(self) -> list:
        return [V2SubscriptionKind()]

    def background(self) -> list:
        return [lambda: sweep_expired(self.services, SWEEP_EVERY)]
