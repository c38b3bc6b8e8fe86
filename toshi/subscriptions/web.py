"""NGSI-LD subscription endpoints: /ngsi-ld/v1/subscriptions (ETSI GS CIM 009 v1.8, clauses 5.8, 6.10, 6.11).

Subscriptions live in `store.subscriptions` per tenant (NGSILD-Tenant). After every create, update or
delete the notifier, when the application has one, is told so it can reload that subscription.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi.core.errors import AlreadyExists, BadRequestData, ResourceNotFound
from toshi.core.outbound import OutboundRefused, outbound_policy
from toshi.core.times import now_iso
from toshi.formats import ngsild_http as http
from toshi.formats.ngsild_params import options_of, paging
from toshi.subscriptions.model import merge_subscription_update, parse_subscription, render_subscription

PREFIX = "/ngsi-ld/v1/subscriptions"


def _services(request: Request):
    return request.app.state.toshi


def _subscription_id(request: Request) -> str:
    return http.uri_param(request, "subscription_id", "Subscription id")


def _payload(data) -> dict:
    if not isinstance(data, dict):
        raise BadRequestData("The payload must be a JSON object")
    return {key: value for key, value in data.items() if key != "@context"}


async def _changed(request: Request, tenant: str, subscription_id: str) -> None:
    notifier = getattr(_services(request), "notifier", None)
    if notifier is not None:
        await notifier.subscription_changed(tenant, subscription_id)


async def _check_jsonld_context(request: Request, payload: dict, subscription: dict) -> None:
    """A client's jsonldContext must be retrievable and valid (LdContextNotAvailable / BadRequestData)."""
    if "jsonldContext" in payload:
        await _services(request).resolver.resolve(subscription["jsonldContext"])


def _check_endpoint(request: Request, subscription: dict) -> None:
    """The notification endpoint must not be an internal address (unless allowed): BadRequestData."""
    uri = subscription["notification"]["endpoint"]["uri"]
    try:
        outbound_policy(_services(request).settings).check_literal(uri)
    except OutboundRefused as exc:
        raise BadRequestData(f"notification endpoint {uri} is refused: {exc}") from None


async def create_subscription(request: Request) -> Response:
    tenant = http.tenant_of(request)
    body = await http.read_body(request)
    ctx = await http.context_for(request, body.context, from_link=False)
    payload = _payload(body.data)
    subscription = parse_subscription(payload, ctx, now=now_iso())
    _check_endpoint(request, subscription)
    await _check_jsonld_context(request, payload, subscription)
    store = _services(request).store
    if await store.subscriptions.get(tenant, subscription["id"]) is not None:
        raise AlreadyExists(f"Subscription {subscription['id']} already exists")
    if not isinstance(subscription["jsonldContext"], str):  # an inline or array @context: shown by its URL
        subscription["contextUrl"] = await _services(request).resolver.link_url(ctx)
    store.ensure_tenant(tenant)
    subscription["tenant"] = tenant
    await store.subscriptions.put(tenant, subscription)
    await _changed(request, tenant, subscription["id"])
    return Response(status_code=201, headers={"Location": f"{PREFIX}/{subscription['id']}"})


async def query_subscriptions(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    media = http.negotiate(request)
    ctx = await http.context_for(request)
    params = request.query_params
    options = options_of(params, {"sysAttrs", "count"})  # options=count: docs/ngsi-ld.md, leniencies
    sys_attrs = "sysAttrs" in options
    limit, offset, count = paging(params, _services(request).settings, count_option="count" in options)
    everything, _ = await _services(request).store.subscriptions.list(tenant, 10**9, 0)
    mine = [s for s in everything if s.get("api") is None]  # NGSI-v2 and csource subscriptions have their own APIs
    found, total = mine[offset:offset + limit], len(mine)
    body = [render_subscription(s, ctx, sys_attrs=sys_attrs) for s in found]
    headers = {"NGSILD-Results-Count": str(total)} if count else {}
    response = await http.json_response(request, body, media=media, ctx=ctx, headers=headers)
    if links := http.page_links(request, limit, offset, offset + limit < total, media):
        response.headers.append("Link", links)
    return response


async def retrieve_subscription(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    subscription_id = _subscription_id(request)
    media = http.negotiate(request)
    ctx = await http.context_for(request)
    sys_attrs = "sysAttrs" in options_of(request.query_params, {"sysAttrs"})
    found = await _existing(request, tenant, subscription_id)
    return await http.json_response(request, render_subscription(found, ctx, sys_attrs=sys_attrs),
                                    media=media, ctx=ctx)


async def update_subscription(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    subscription_id = _subscription_id(request)
    body = await http.read_body(request, allowed=(http.JSON, http.LD_JSON, http.MERGE_PATCH))
    ctx = await http.context_for(request, body.context, from_link=False)
    payload = _payload(body.data)
    existing = await _existing(request, tenant, subscription_id)
    updated = merge_subscription_update(existing, payload, ctx, now_iso())
    _check_endpoint(request, updated)
    await _check_jsonld_context(request, payload, updated)
    await _services(request).store.subscriptions.put(tenant, updated)
    await _changed(request, tenant, subscription_id)
    return http.no_content()


async def delete_subscription(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    subscription_id = _subscription_id(request)
    await _existing(request, tenant, subscription_id)
    if not await _services(request).store.subscriptions.delete(tenant, subscription_id):
        raise ResourceNotFound(f"Subscription {subscription_id} not found")
    await _changed(request, tenant, subscription_id)
    return http.no_content()


async def _existing(request: Request, tenant: str, subscription_id: str) -> dict:
    found = await _services(request).store.subscriptions.get(tenant, subscription_id)
    if found is None or found.get("api") is not None:  # NGSI-v2 or csource subscription
        raise ResourceNotFound(f"Subscription {subscription_id} not found")
    return found


def routes() -> list[Route]:
    return [
        Route(PREFIX, query_subscriptions, methods=["GET"]),
        Route(PREFIX, create_subscription, methods=["POST"]),
        Route(PREFIX + "/{subscription_id}", retrieve_subscription, methods=["GET"]),
        Route(PREFIX + "/{subscription_id}", update_subscription, methods=["PATCH"]),
        Route(PREFIX + "/{subscription_id}", delete_subscription, methods=["DELETE"]),
    ]
