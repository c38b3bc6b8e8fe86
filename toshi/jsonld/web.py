"""HTTP endpoints of the @context API: /ngsi-ld/v1/jsonldContexts (ETSI GS CIM 009 v1.8, 5.13 / 6.30).

Errors are raised as toshi.core.errors exceptions; the application's exception handler renders them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi.core.errors import (
    BadRequestData,
    InvalidRequest,
    NonexistentTenant,
    OperationNotSupported,
    ResourceNotFound,
    UnsupportedMediaType,
)
from toshi.jsonld.registry import ContextRegistry
from toshi.jsonld.resolver import ContextResolver

BASE_PATH = "/ngsi-ld/v1/jsonldContexts"
_JSON_TYPES = ("application/json", "application/ld+json")


TenantExists = Callable[[str], Awaitable[bool]]


async def _no_other_tenants(_tenant: str) -> bool:
    return False


def routes(resolver: ContextResolver, registry: ContextRegistry,
           tenant_exists: TenantExists = _no_other_tenants) -> list[Route]:
    """The @context API; `tenant_exists` says whether a tenant holds data (the store's tenants)."""
    api = _ContextApi(resolver, registry, tenant_exists)
    return [
        Route(BASE_PATH, api.collection, methods=["GET", "POST"]),
        Route(BASE_PATH + "/", api.collection, methods=["POST"]),  # ngsildclient posts here (docs/ngsi-ld.md)
        Route(BASE_PATH + "/{contextId:path}", api.item, methods=["GET", "DELETE"]),
    ]


class _ContextApi:
    def __init__(self, resolver: ContextResolver, registry: ContextRegistry, tenant_exists: TenantExists):
        self.resolver = resolver
        self.registry = registry
        self.tenant_exists = tenant_exists

    async def collection(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.create(request)
        return await self.list_contexts(request)

    async def item(self, request: Request) -> Response:
        if request.method == "DELETE":
            return await self.delete(request)
        return await self.retrieve(request)

    async def create(self, request: Request) -> Response:
        """5.13.2 Add @context: store a user @context as kind Hosted; 201 with its URL in Location."""
        value = _context_from_body(await _json_body(request))
        await self.resolver.resolve(value)  # must be a valid @context; downloads what it references
        record = await self.registry.add_hosted(value, _tenant(request))
        return Response(status_code=201, headers={"Location": self.registry.url_of(record)})

    async def list_contexts(self, request: Request) -> Response:
        """5.13.3 List @contexts: URLs, or metadata objects with ?details=true; ?kind= filters."""
        details = _flag(request, "details")
        tenant = await self._existing_tenant(request)
        records = [r for r in self.registry.records(request.query_params.get("kind"))
                   if self.registry.visible_to(r, tenant)]
        if details:
            return _json([self.registry.metadata(r) for r in records])
        return _json([self.registry.url_of(r) for r in records])

    async def retrieve(self, request: Request) -> Response:
        """5.13.4 Serve @context: the document of a Hosted/ImplicitlyCreated one, or any record's metadata."""
        record = await self._record(request)
        if _flag(request, "details"):
            return _json(self.registry.metadata(record))
        if record["kind"] == "Cached":
            raise OperationNotSupported(
                f"Cached @contexts are not served: {request.path_params['contextId']}"
            )
        return _json({"@context": record["context"]}, media_type="application/ld+json")

    async def delete(self, request: Request) -> Response:
        """5.13.5 Delete and Reload @context: 204; ?reload=true downloads a Cached one again."""
        record = await self._record(request)
        if _flag(request, "reload"):
            if record["kind"] != "Cached":
                raise BadRequestData("Only @contexts of kind Cached can be reloaded")
            if not self.registry.is_core(record):  # the core context is embedded: nothing to reload
                await self.resolver.reload(record["url"])
            return Response(status_code=204)
        await self.registry.delete(record["id"])
        self.resolver.clear_cache()
        return Response(status_code=204)

    async def _record(self, request: Request) -> dict:
        ref = request.path_params["contextId"]
        tenant = await self._existing_tenant(request)
        record = self.registry.get(ref)
        if record is None or not self.registry.visible_to(record, tenant):
            raise ResourceNotFound(f"@context not found: {ref}")
        return record

    async def _existing_tenant(self, request: Request) -> str:
        """The request's tenant, which must exist to be read from, as for entities (NonexistentTenant):
        the default tenant, one holding data, or one that has added a @context."""
        tenant = _tenant(request)
        if tenant and not self.registry.has_tenant(tenant) and not await self.tenant_exists(tenant):
            raise NonexistentTenant(f"Tenant {tenant} does not exist")
        return tenant


def _tenant(request: Request) -> str:
    """The request's NGSILD-Tenant ("" for the default tenant), of the form every API accepts."""
    tenant = request.headers.get("ngsild-tenant", "").strip()
    if len(tenant) > 64 or any(not (c.isalnum() or c in "_-") for c in tenant):
        raise BadRequestData(f"Invalid tenant name: {tenant[:70]!r}")
    return tenant


async def _json_body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _JSON_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type must be application/json or application/ld+json, not {content_type!r}"
        )
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc}") from exc


def _context_from_body(body: Any) -> Any:
    """Accept `{"@context": ...}` (the spec's form) or a bare array of contexts."""
    if isinstance(body, dict):
        if "@context" not in body:
            raise BadRequestData("The payload must be a JSON object with an @context member")
        value = body["@context"]
    elif isinstance(body, list):
        value = body
    else:
        raise BadRequestData("The payload must be a JSON object with an @context member")
    if not isinstance(value, (dict, list, str)):
        raise BadRequestData("@context must be an object, an array or a URL")
    return value


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name)
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise BadRequestData(f"Invalid value for '{name}': {value!r} (expected true or false)")


def _json(body: Any, media_type: str = "application/json") -> Response:
    return Response(orjson.dumps(body), media_type=media_type)
