"""The NGSI-v2 API's routes: GET /v2 and everything under /v2, behind the v2 error boundary."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, Router

from toshi.ngsiv2 import batch, entities, registrations, subscriptions, types
from toshi.ngsiv2.correlator import Correlated
from toshi.ngsiv2.errors import ErrorBoundary, method_not_allowed
from toshi.ngsiv2.request import json_response
from toshi.ngsiv2.uri_check import uri_checked

ENTRY_POINT = {"entities_url": "/v2/entities", "types_url": "/v2/types",
               "subscriptions_url": "/v2/subscriptions", "registrations_url": "/v2/registrations"}


async def entry_point(request: Request) -> Response:
    return json_response(ENTRY_POINT)


def routes() -> list[BaseRoute]:
    entry = _v2_app([("/v2", entry_point, ["GET"])])
    return [Route("/v2", entry), Mount("/v2", app=_v2_app(route_table()))]


def route_table() -> list[tuple]:
    """(path under /v2, endpoint, methods). The rows of one path are in the order Orion lists its
    methods in the `Allow` header of a 405 (src/lib/serviceRoutinesV2/badVerb*.cpp)."""
    e = entities
    return [
        ("/entities", e.create_entity, ["POST"]),
        ("/entities", e.list_entities, ["GET"]),
        ("/entities/{entity_id}", e.retrieve_entity, ["GET"]),
        ("/entities/{entity_id}", e.delete_entity, ["DELETE"]),
        ("/entities/{entity_id}/attrs", e.retrieve_attrs, ["GET"]),
        ("/entities/{entity_id}/attrs", e.update_attrs, ["PATCH"]),
        ("/entities/{entity_id}/attrs", e.append_attrs, ["POST"]),
        ("/entities/{entity_id}/attrs", e.replace_attrs, ["PUT"]),
        ("/entities/{entity_id}/attrs/{attr_name}", e.retrieve_attribute, ["GET"]),
        ("/entities/{entity_id}/attrs/{attr_name}", e.replace_attribute, ["PUT"]),
        ("/entities/{entity_id}/attrs/{attr_name}", e.delete_attribute, ["DELETE"]),
        ("/entities/{entity_id}/attrs/{attr_name}/value", e.retrieve_value, ["GET"]),
        ("/entities/{entity_id}/attrs/{attr_name}/value", e.replace_value, ["PUT"]),
        ("/types", types.list_types, ["GET"]),
        ("/types/{type_name}", types.type_info, ["GET"]),
        ("/op/update", batch.op_update, ["POST"]),
        ("/op/query", batch.op_query, ["POST"]),
        ("/op/notify", batch.op_notify, ["POST"]),
        ("/registrations", registrations.create_registration, ["POST"]),
        ("/registrations", registrations.list_registrations, ["GET"]),
        ("/registrations/{registration_id}", registrations.retrieve_registration, ["GET"]),
        ("/registrations/{registration_id}", registrations.delete_registration, ["DELETE"]),
        *subscriptions.route_table(),
    ]


def _v2_app(table: list[tuple]):
    """A router for `table` (path, endpoint, methods) with a 405 for other methods on each path,
    behind the v2 error boundary and the correlator."""
    allowed: dict[str, list[str]] = {}
    for path, _, methods in table:
        allowed.setdefault(path, []).extend(methods)
    method_routes = [Route(path, endpoint, methods=methods) for path, endpoint, methods in table]
    fallbacks = [Route(path, NotAllowed(methods)) for path, methods in allowed.items()]
    router = Router([*method_routes, *fallbacks], redirect_slashes=False)
    return Correlated(ErrorBoundary(uri_checked(_no_trailing_slash(router))))


class NotAllowed:
    """The last route of a path: any method the path does not serve is Orion's 405 with `Allow`
    (plus OPTIONS when CORS is on, as Orion started with -corsOrigin)."""

    def __init__(self, methods: list[str]):
        self.allow = ", ".join(methods)

    async def __call__(self, scope, receive, send):
        settings = scope["app"].state.toshi.settings
        raise method_not_allowed(self.allow + (", OPTIONS" if settings.cors_origin else ""))


def _no_trailing_slash(app):
    """`/v2/entities/` is `/v2/entities`, as in Orion (FiLiP, for one, sends the slash)."""
    async def wrapped(scope, receive, send):
        path = scope.get("path", "")
        if len(path) > 1 and path.endswith("/") and scope["type"] == "http":
            scope = {**scope, "path": path.rstrip("/") or "/"}
            if "raw_path" in scope and scope["raw_path"]:
                scope["raw_path"] = scope["raw_path"].rstrip(b"/") or b"/"
        await app(scope, receive, send)
    return wrapped
