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
from starlette.routing import Route

from toshi import __version__
from toshi.config import Settings
from toshi.core.access import ReadPath
from toshi.core.errors import InternalError, MethodNotAllowed, NgsiError, ResourceNotFound
from toshi.core.feature import Action, Feature
from toshi.core.openapi import document
from toshi.core.outbound import outbound_policy
from toshi.core.write import Writer
from toshi.features import FEATURES
from toshi.formats.render_cache import RenderCache
from toshi.jsonld.registry import ContextRegistry
from toshi.jsonld.resolver import ContextResolver
from toshi.notify.engine import Notifier
from toshi.store import store_for
from toshi.store.base import Store

log = logging.getLogger("toshi")


@dataclass
class Services:
    """What every endpoint may use, reachable as `request.app.state.toshi`."""

    settings: Settings
    store: Store
    writer: Writer
    registry: ContextRegistry
    resolver: ContextResolver
    notifier: Notifier
    render_cache: RenderCache = field(default_factory=RenderCache)
    read_path: ReadPath = field(default_factory=ReadPath)  # what a reader may see (toshi/core/access.py)
    actions: list = field(default_factory=list)            # the features' declared access actions
    features: dict[str, Feature] = field(default_factory=dict)  # name -> the running feature


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


def _cors(settings: Settings) -> list[Middleware]:
    """CORS only when an origin is configured, as Orion's -corsOrigin."""
    if not settings.cors_origin:
        return []
    exposed = ["Location", "Link", "Fiware-Correlator", "Fiware-Total-Count", "NGSILD-Results-Count"]
    return [Middleware(CORSMiddleware, allow_origins=[settings.cors_origin], allow_headers=["*"],
                       allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                       expose_headers=exposed, max_age=settings.cors_max_age)]


OPENAPI_ACTION = Action("/openapi.json", None, exact=True)  # the API description is public


def _openapi_route(features: list[Feature]) -> Route:
    body = orjson.dumps(document(((f.name, f.openapi()) for f in features), __version__))

    async def openapi(request: Request) -> Response:
        """The API description (OpenAPI 3.1) of every feature."""
        return Response(body, media_type="application/json")
    return Route("/openapi.json", openapi, methods=["GET"])


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
    read_path = ReadPath()
    services = Services(settings, store, Writer(store), registry, resolver,
                        Notifier(store, settings, read_path=read_path), read_path=read_path)
    services.actions = [OPENAPI_ACTION, *(action for feature in FEATURES for action in feature.actions)]
    features = [feature(services) for feature in FEATURES]
    services.features = {feature.name: feature for feature in features}
    read_path.use([f for feature in features for f in feature.read_filters()])
    services.writer.listeners.extend(listener for feature in features for listener in feature.listeners())
    services.notifier.kinds.extend(kind for feature in features for kind in feature.subscription_kinds())

    @asynccontextmanager
    async def lifespan(app):
        await store.open()
        for feature in features:
            await feature.start()
        background = [asyncio.create_task(run()) for feature in features for run in feature.background()]
        _tune_garbage_collector()
        yield
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        for feature in reversed(features):
            await feature.stop()
        await store.close()

    middleware = [Middleware(cls, **options) for feature in features for cls, options in feature.middleware()]
    app = Starlette(
        routes=[*(route for feature in features for route in feature.routes()), _openapi_route(features)],
        exception_handlers={NgsiError: ngsi_error, HTTPException: http_error, Exception: unexpected_error},
        middleware=[*_cors(settings), *middleware],
        lifespan=lifespan,
    )
    app.state.toshi = services
    for feature in features:  # what a feature's routes reach as request.app.state.<name>
        setattr(app.state, feature.name, feature)
    return app
