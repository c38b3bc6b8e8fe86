"""/v2/subscriptions endpoints (Orion manual, "Subscriptions Operations").

Subscriptions are stored with the NGSI-LD ones (`store.subscriptions`, per tenant = Fiware-Service),
marked `api: "v2"`; each API lists and serves only its own. After every create, update and delete
the notifier reloads the subscription (toshi/ngsiv2/subscription_matching.py compiles it).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from toshi.core.outbound import OutboundRefused, outbound_policy
from toshi.core.times import now_iso
from toshi.ngsiv2 import headers
from toshi.ngsiv2 import subscription_model as model
from toshi.ngsiv2.errors import bad_request, not_found
from toshi.ngsiv2.request import accept, json_response, options_of, paging, read_json, services

PREFIX = "/v2/subscriptions"
NOT_FOUND = "The requested subscription has not been found. Check id"
COUNT_HEADER = "Fiware-Total-Count"


def _service_path(request: Request) -> str:
    """The subscription's service path: the (validated) Fiware-ServicePath, default `/#` (all)."""
    paths = headers.query_paths(request)
    return paths[0] if paths else "/#"


async def _changed(request: Request, tenant: str, subscription_id: str) -> None:
    notifier = getattr(services(request), "notifier", None)
    if notifier is not None:
        await notifier.subscription_changed(tenant, subscription_id)


async def _existing(request: Request, tenant: str) -> dict:
    # hex digits in either case, as Orion reads an ObjectId (ids are made lower-case)
    found = await services(request).store.subscriptions.get(tenant, request.path_params["subscription_id"].lower())
    if found is None or found.get("api") != model.API:
        raise not_found(NOT_FOUND)
    return found


def _check_url(request: Request, doc: dict) -> None:
    """The notification URL must not be an internal address (unless allowed). A URL whose scheme or
    host is a macro (`${...}`) is checked once substituted, before each notification is sent."""
    notification = doc.get("notification", {})
    url = next((notification[c]["url"] for c in ("http", "httpCustom", "mqtt", "mqttCustom") if c in notification),
               None)
    if url is None or "${" in "/".join(url.split("/", 3)[:3]):
        return
    try:
        outbound_policy(services(request).settings).check_literal(url)
    except OutboundRefused as exc:
        raise bad_request(f"notification url {url} is refused: {exc}") from None


async def create_subscription(request: Request) -> Response:
    tenant = headers.tenant_of(request)
    doc = model.parse_subscription(await read_json(request), tenant=tenant, service_path=_service_path(request))
    _check_url(request, doc)
    store = services(request).store
    store.ensure_tenant(tenant)
    await store.subscriptions.put(tenant, doc)
    await _changed(request, tenant, doc["id"])
    return Response(status_code=201, headers={"Location": f"{PREFIX}/{doc['id']}"})


async def list_subscriptions(request: Request) -> Response:
    accept(request)
    tenant = headers.tenant_of(request)
    params = request.query_params
    limit, offset = paging(params)
    options = options_of(params, {"count"})
    match = {"api": model.API}
    path = listed_path(request)
    if path is not None:
        match["servicePath"] = path
    await _flush(request)
    page, total = await services(request).store.subscriptions.list(tenant, limit, offset, match)
    now = now_iso()
    body = [model.render(doc, now) for doc in page]
    extra = {COUNT_HEADER: str(total)} if "count" in options else None
    return json_response(body, extra=extra)


def listed_path(request: Request) -> str | None:
    """The service path a list narrows to (the spec's "Service path in subscriptions and registrations":
    subscriptions / registrations "that use *exactly* that service path"): the header's first path, as
    Orion's mongoListSubscriptions / mongoRegistrationsGet take it; None (all) without the header or
    for `/#`, as Orion does."""
    paths = headers.query_paths(request)
    if not paths or paths[0] == "/#":
        return None
    return paths[0]


async def retrieve_subscription(request: Request) -> Response:
    accept(request)
    tenant = headers.tenant_of(request)
    await _flush(request)
    return json_response(model.render(await _existing(request, tenant), now_iso()))


async def update_subscription(request: Request) -> Response:
    tenant = headers.tenant_of(request)
    data = await read_json(request)
    await _flush(request)
    existing = await _existing(request, tenant)
    updated = model.merge_update(existing, data)
    _check_url(request, updated)
    await services(request).store.subscriptions.put(tenant, updated)
    await _changed(request, tenant, updated["id"])
    return Response(status_code=204)


async def delete_subscription(request: Request) -> Response:
    tenant = headers.tenant_of(request)
    existing = await _existing(request, tenant)
    await services(request).store.subscriptions.delete(tenant, existing["id"])
    await _changed(request, tenant, existing["id"])
    return Response(status_code=204)


async def _flush(request: Request) -> None:
    """Statistics and status changes the notifier keeps in memory, saved before they are read."""
    notifier = getattr(services(request), "notifier", None)
    if notifier is not None:
        await notifier.flush_statistics()


def route_table() -> list[tuple]:
    return [
        ("/subscriptions", create_subscription, ["POST"]),
        ("/subscriptions", list_subscriptions, ["GET"]),
        ("/subscriptions/{subscription_id}", retrieve_subscription, ["GET"]),
        ("/subscriptions/{subscription_id}", delete_subscription, ["DELETE"]),
        ("/subscriptions/{subscription_id}", update_subscription, ["PATCH"]),
    ]
