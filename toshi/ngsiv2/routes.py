"""The NGSI-v2 API's routes: GET /v2 and everything under /v2, behind the v2 error boundary."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, Router

from toshi.ngsiv2 import batch, entities, registrations, subscriptions, types
from toshi.ngsiv2.correlator import with_correlator
from toshi.ngsiv2.errors import ErrorBoundary
from toshi.ngsiv2.request import json_response

ENTRY_POINT = {"entities_url": "/v2/entities", "types_url": "/v2/types",
               "subscriptions_url": "/v2/subscriptions", "registrations_url": "/v2/registrations"}


async def entry_point(request: Request) -> Response:
    return json_response(ENTRY_POINT)


def routes() -> list[BaseRoute]:
    e = entities
    table = [
        ("/entities", e.list_entities, ["GET"]),
        ("/entities", e.create_entity, ["POST"]),
        ("/entities/{entity_id}", e.retrieve_entity, ["GET"]),
        ("/entities/{entity_id}", e.delete_entity, ["DELETE"]),
        ("/entities/{entity_id}/attrs", e.retrieve_attrs, ["GET"]),
        ("/entities/{entity_id}/attrs", e.append_attrs, ["POST"]),
        ("/entities/{entity_id}/attrs", e.update_attrs, ["PATCH"]),
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
        ("/registrations", registrations.list_registrations, ["GET"]),
        ("/registrations", registrations.create_registration, ["POST"]),
        ("/registrations/{registration_id}", registrations.retrieve_registration, ["GET"]),
        ("/registrations/{registration_id}", registrations.update_registration, ["PATCH"]),
        ("/registrations/{registration_id}", registrations.delete_registration, ["DELETE"]),
        *subscriptions.route_table(),
    ]
    router = Router([Route(path, endpoint, methods=methods) for path, endpoint, methods in table],
                    redirect_slashes=False)
    v2 = with_correlator(ErrorBoundary(_no_trailing_slash(router)))
    return [Route("/v2", entry_point, methods=["GET"]), Mount("/v2", app=v2)]


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
