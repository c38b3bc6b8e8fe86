"""The ASGI application: one process serving every API on one port."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route, Router

from toshi import __version__
from toshi.auth import web as auth_web
from toshi.auth.gate import Gate
from toshi.core.outbound import outbound_policy
from toshi.auth.security import Security, check_exposure
from toshi.config import Settings
from toshi.core.errors import InternalError, MethodNotAllowed, NgsiError, ResourceNotFound
from toshi.core.write import Writer
from toshi.iot.agent import IotAgent
from toshi.iot.routes import routes as iot_routes
from toshi.jsonld.registry import ContextRegistry
from toshi.jsonld.resolver import ContextResolver
from toshi.jsonld.web import routes as context_routes
from toshi.formats.render_cache import RenderCache
from toshi.ngsild.routes import routes as ngsild_routes
from toshi.ngsiv2.expiry import sweep_expired
from toshi.ngsiv2.routes import routes as ngsiv2_routes
from toshi.ngsiv2.version import orion_info
from toshi.notify import live
from toshi.notify import web as notify_web
from toshi.notify.engine import Notifier
from toshi.store.backends import store_for
from toshi.subscriptions.web import routes as subscription_routes
from toshi.temporal import web as temporal_web
from toshi.temporal.history import history_for
from toshi.temporal.retention import keep_pruning

log = logging.getLogger("toshi")


@dataclass
class Services:
    """What every endpoint may use, reachable as `request.app.state.toshi`."""

    settings: Settings
    store: object  # toshi.store.base.Store (SQLite or PostgreSQL)
    writer: Writer
    registry: ContextRegistry
    resolver: ContextResolver
    notifier: Notifier
    render_cache: RenderCache = field(default_factory=RenderCache)


def problem_response(exc: NgsiError) -> Response:
    return Response(orjson.dumps(exc.problem()), status_code=exc.status, media_type="application/json")


async def ngsi_error(request: Request, exc: NgsiError) -> Response:
    return problem_response(exc)


async def http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 405:
        return problem_response(MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}"))
    if exc.status_code == 404:
        return problem_response(ResourceNotFound(f"No such resource: {request.url.path}"))
    return problem_response(NgsiError(str(exc.detail), status=exc.status_code))


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(InternalError("Internal error; see the server log"))


async def version(request: Request) -> Response:
    body = {"orion": orion_info(), "toshi": {"version": __version__}}  # Orion-shaped for NGSI-v2 clients
    return Response(orjson.dumps(body), media_type="application/json")


def _cors(settings: Settings) -> list[Middleware]:
    """CORS only when an origin is configured, as Orion's -corsOrigin."""
    if not settings.cors_origin:
        return []
    exposed = ["Location", "Link", "Fiware-Correlator", "Fiware-Total-Count", "NGSILD-Results-Count"]
    return [Middleware(CORSMiddleware, allow_origins=[settings.cors_origin], allow_headers=["*"],
                       allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                       expose_headers=exposed, max_age=settings.cors_max_age)]


class Prefixed(BaseRoute):
    """The routes of one API behind a single prefix check (unlike Mount, paths are left whole)."""

    def __init__(self, prefix: str, routes: list[BaseRoute]):
        self.prefix, self.router = prefix, Router(routes)

    def matches(self, scope) -> tuple[Match, dict]:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == self.prefix or path.startswith(self.prefix + "/")):
            return Match.FULL, {}
        return Match.NONE, {}

    async def handle(self, scope, receive, send) -> None:
        await self.router(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params):
        return self.router.url_path_for(name, **path_params)


def _tune_garbage_collector() -> None:
    """Fewer, later cyclic-GC passes: a pass over a large heap stalls every request in flight (tail
    latency). Start-up objects are moved out of the collector's way for good."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


SETTINGS_VARIABLE = "TOSHI_WORKER_SETTINGS"  # `toshi serve --workers N` hands its settings to each worker


def worker_app() -> Starlette:
    """The app of one worker process of `toshi serve --workers N`."""
    return create_app(Settings(**orjson.loads(os.environ[SETTINGS_VARIABLE])))


def create_app(settings: Settings | None = None, store=None) -> Starlette:
    settings = settings or Settings()
    store = store or store_for(settings)
    registry = ContextRegistry(store, base_url=f"http://{settings.host}:{settings.port}")
    resolver = ContextResolver(registry, fetch_timeout=settings.context_fetch_timeout,
                               allow_remote=settings.allow_remote_contexts, outbound=outbound_policy(settings))
    services = Services(settings, store, Writer(store), registry, resolver, Notifier(store, resolver, settings))
    services.writer.listeners.append(history_for(store).record)  # attribute history (temporal API)
    iot = IotAgent(services)
    check_exposure(settings)
    security = Security(services)
    services.notifier.guard_for = security.notification_guard

    @asynccontextmanager
    async def lifespan(app):
        await store.open()
        await registry.load()
        await services.notifier.start()
        await iot.start()
        await security.start()
        background = [asyncio.create_task(keep_pruning(store, settings.history_retention)),
                      asyncio.create_task(sweep_expired(services, 60.0))]
        _tune_garbage_collector()
        yield
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await iot.stop()
        await security.stop()
        await services.notifier.stop()
        await services.notifier.flush_statistics()
        await registry.flush()
        await resolver.aclose()
        await store.close()

    app = Starlette(
        # The hot APIs first: Starlette tries routes in order. /v2 is one prefix check, so it costs
        # NGSI-LD requests almost nothing and spares v2 requests the NGSI-LD routes.
        routes=[Prefixed("/v2", ngsiv2_routes()), *ngsild_routes(), Route("/version", version),
                *context_routes(resolver, registry), *live.routes(), *notify_web.routes(),
                *subscription_routes(), *temporal_web.routes(), *iot_routes(), *auth_web.routes()],
        exception_handlers={NgsiError: ngsi_error, HTTPException: http_error, Exception: unexpected_error},
        middleware=[*_cors(settings), Middleware(Gate, security=security)],
        lifespan=lifespan,
    )
    app.state.toshi = services
    app.state.iot = iot
    app.state.security = security
    return app
