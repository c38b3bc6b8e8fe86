"""/ngsi-ld/v1/csourceSubscriptions (ETSI GS CIM 009 v1.8 clauses 5.11, 6.10-6.11 for context
sources): subscriptions to context source registrations, notified when a matching registration is
created (`newlyMatching`), updated (`updated`; `newlyMatching` / `noLongerMatching` when the update
moves it into or out of the subscription) or deleted (`noLongerMatching`).

They are kept with the other subscriptions in `store.subscriptions`, marked `"api": "csource"`, and
delivered by the one notifier (toshi/notify) as a subscription kind: durable outbox, retries, dead
letters, statistics. They fire for no entity change; the feature hands the notifier each
registration change (`Notifier.notify`).
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi.core.errors import AlreadyExists, BadRequestData, ResourceNotFound
from toshi.core.outbound import OutboundRefused, outbound_policy
from toshi.core.times import now_iso, utc_datetime
from toshi.csources import model
from toshi.csources.matching import Target, matches
from toshi.formats import ngsild_http as http
from toshi.formats.ngsild_params import options_of, paging
from toshi.formats.ngsild_parse import check_name, check_uri, expand_name
from toshi.query.geo import geoq_from_body
from toshi.query.qparse import parse_q
from toshi.query.regex import compile_pattern
from toshi.query.scope import parse_scope_q

API = "csource"
PREFIX = "/ngsi-ld/v1/csourceSubscriptions"
NEVER = "urn:toshi:csource-subscription"  # the entity id it is indexed under: no entity has it
MEMBERS = frozenset({"id", "type", "subscriptionName", "description", "entities", "watchedAttributes",
                     "geoQ", "csf", "scopeQ", "notification", "expiresAt", "isActive", "throttling",
                     "jsonldContext"})
SYSTEM = frozenset({"status", "createdAt", "modifiedAt"})
STATISTICS = ("timesSent", "timesFailed", "lastNotification", "lastSuccess", "lastFailure")
OWN_MEMBERS = frozenset({"registrationName", "description", "mode", "endpoint", "tenant"})
LINK_REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'


# -- the model ------------------------------------------------------------------------------------

def parse(payload: Any, ctx, now: str, existing: dict | None = None) -> dict:
    """A csourceSubscription (new, or `existing` with the payload's members replacing its own)."""
    if not isinstance(payload, dict) or not payload:
        raise BadRequestData("A subscription must be a non-empty JSON object")
    for key in payload:
        if key in SYSTEM or key in STATISTICS:
            raise BadRequestData(f"{key} is set by the broker and cannot be given")
        if key not in MEMBERS:
            raise BadRequestData(f"{key} is not a member of a context source subscription")
    if existing is None:
        if payload.get("type") != "Subscription":
            raise BadRequestData(f"type must be 'Subscription', got {payload.get('type')!r}")
        doc: dict[str, Any] = {"id": check_uri(payload["id"], "id") if "id" in payload
                               else f"urn:ngsi-ld:Subscription:{uuid.uuid4()}",
                               "type": "Subscription", "api": API, "createdAt": now}
    else:
        if payload.get("type", "Subscription") != "Subscription" or payload.get("id", existing["id"]) != existing["id"]:
            raise BadRequestData("id and type cannot be changed")
        doc = {k: v for k, v in existing.items() if k not in STATISTICS}
    for key, value in payload.items():
        if key in ("id", "type"):
            continue
        if value is None and existing is not None:
            if key == "notification":
                raise BadRequestData("notification is mandatory and cannot be removed")
            doc.pop(key, None)
            continue
        doc[key] = _member(key, value, ctx)
    if "notification" not in doc:
        raise BadRequestData("notification is mandatory")
    if not doc.get("entities") and not doc.get("watchedAttributes"):
        raise BadRequestData("a context source subscription needs entities or watchedAttributes")
    if "expiresAt" in payload and payload["expiresAt"] is not None and doc["expiresAt"] <= now:
        raise BadRequestData(f"expiresAt {payload['expiresAt']} is not in the future")
    if "jsonldContext" not in doc and existing is None:  # notifications use the request's @context
        doc["jsonldContext"] = ctx.link_url if ctx.link_url is not None else ctx.source
    doc["modifiedAt"] = now
    return doc


def _member(key: str, value: Any, ctx) -> Any:
    if key == "entities":
        if not isinstance(value, list) or not value:
            raise BadRequestData("entities must be a non-empty array of EntityInfo")
        return [_entity_info(item, ctx) for item in value]
    if key == "watchedAttributes":
        if not isinstance(value, list) or not value:
            raise BadRequestData("watchedAttributes must be a non-empty array of attribute names")
        return [expand_name(name, ctx) for name in value]
    if key == "geoQ":
        geoq_from_body(value, ctx.expand_term)
        return {**value, **({"geoproperty": value["geoproperty"]} if "geoproperty" in value else {})}
    if key == "csf":
        if not isinstance(value, str):
            raise BadRequestData("csf must be a string")
        parse_q(value, lambda term: term)
        return value
    if key == "scopeQ":
        if not isinstance(value, str):
            raise BadRequestData("scopeQ must be a string")
        parse_scope_q(value)
        return value
    if key == "notification":
        return _notification(value)
    if key == "expiresAt":
        return utc_datetime(value, "expiresAt")
    if key == "isActive":
        if not isinstance(value, bool):
            raise BadRequestData("isActive must be true or false")
        return value
    if key == "throttling":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise BadRequestData("throttling must be a positive number of seconds")
        return value
    if key == "jsonldContext":
        return check_uri(value, "jsonldContext")
    if not isinstance(value, str):
        raise BadRequestData(f"{key} must be a string")
    return value


def _entity_info(item: Any, ctx) -> dict:
    if not isinstance(item, dict) or "type" not in item or set(item) - {"id", "idPattern", "type"}:
        raise BadRequestData("each EntityInfo must be an object with a type, and optionally id or idPattern")
    out: dict[str, Any] = {"type": ctx.expand_term(check_name(item["type"], "entity type"))}
    if "id" in item:
        out["id"] = check_uri(item["id"], "EntityInfo id")
    if "idPattern" in item:
        if not isinstance(item["idPattern"], str):
            raise BadRequestData("idPattern must be a string")
        compile_pattern(item["idPattern"])
        out["idPattern"] = item["idPattern"]
    return out


def _notification(value: Any) -> dict:
    if not isinstance(value, dict) or not isinstance(value.get("endpoint"), dict):
        raise BadRequestData("notification must be an object with an endpoint")
    unknown = set(value) - {"endpoint", "format", "attributes"}
    if unknown:
        raise BadRequestData(f"unknown member(s) of notification: {', '.join(sorted(unknown))}")
    endpoint = value["endpoint"]
    if set(endpoint) - {"uri", "accept", "receiverInfo"}:
        raise BadRequestData("endpoint may have uri, accept and receiverInfo")
    uri = endpoint.get("uri")
    if not isinstance(uri, str) or not uri.lower().startswith(("http://", "https://")):
        raise BadRequestData(f"notification endpoint uri must be an http(s) URI, got {uri!r}")
    check_uri(uri, "endpoint uri")
    if endpoint.get("accept", http.JSON) not in (http.JSON, http.LD_JSON):
        raise BadRequestData("endpoint accept must be application/json or application/ld+json")
    model._key_values(endpoint.get("receiverInfo", []), "receiverInfo")
    if value.get("format", "normalized") not in ("normalized", "keyValues", "concise"):
        raise BadRequestData("format must be normalized, keyValues or concise")
    return {**value, "endpoint": dict(endpoint)}


def status_of(doc: dict, now: str) -> str:
    if doc.get("expiresAt") and doc["expiresAt"] <= now:
        return "expired"
    return "active" if doc.get("isActive", True) else "paused"


def render(doc: dict, ctx, *, sys_attrs: bool = False) -> dict:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key in ("api", "tenant") or (key in ("createdAt", "modifiedAt") and not sys_attrs) or key in STATISTICS:
            continue
        if key == "entities":
            out[key] = [{**e, "type": ctx.compact_iri(e["type"])} for e in value]
        elif key == "watchedAttributes":
            out[key] = [ctx.compact_iri(name) for name in value]
        elif key == "notification":
            out[key] = {**value, **{k: doc[k] for k in STATISTICS if k in doc}}
            if "timesSent" in doc:
                out[key]["status"] = "failed" if doc.get("lastFailure", "") > doc.get("lastSuccess", "") else "ok"
        elif value is not None:
            out[key] = value
    out["isActive"] = doc.get("isActive", True)
    out["status"] = status_of(doc, now_iso())
    return out


# -- the kind the notifier serves -----------------------------------------------------------------

class CsourceSubscriptionKind:
    name = "ngsi-ld-csource"

    def __init__(self, resolver):
        self.resolver = resolver

    def owns(self, doc: dict) -> bool:
        return doc.get("api") == API

    async def compile(self, doc: dict) -> CompiledCsourceSubscription:
        ctx = await self.resolver.resolve(doc.get("jsonldContext"))
        compiled = CompiledCsourceSubscription(doc, ctx)
        compiled.context_url = await self.resolver.link_url(ctx)
        return compiled


class CompiledCsourceSubscription:
    """A csourceSubscription ready for the notifier (toshi/notify/kinds.py): it fires for no entity
    change, only when `Notifier.notify` is handed a registration change."""

    throttling: float | None
    time_interval = None

    def __init__(self, doc: dict, ctx):
        self.doc, self.ctx, self.id = doc, ctx, doc["id"]
        self.since_seq = 0
        self.statistics_dirty = False
        self.entity_ids = [NEVER]
        self.throttling = doc.get("throttling")
        self.context_url: str | None = None
        self.targets = self._targets()

    def _targets(self) -> list[Target]:
        attrs = set(self.doc["watchedAttributes"]) if self.doc.get("watchedAttributes") else None
        extra: dict[str, Any] = {}
        if "geoQ" in self.doc:
            extra["geo"] = geoq_from_body(self.doc["geoQ"], self.ctx.expand_term)
        if "csf" in self.doc:
            extra["csf"] = parse_q(self.doc["csf"], lambda t: t if t in OWN_MEMBERS else self.ctx.expand_term(t))
        if "scopeQ" in self.doc:
            extra["scope"] = parse_scope_q(self.doc["scopeQ"])
        if not self.doc.get("entities"):
            return [Target(attrs=attrs, **extra)]
        return [Target(ids=[e["id"]] if "id" in e else None, id_pattern=e.get("idPattern"),
                       types={e["type"]}, attrs=attrs, **extra) for e in self.doc["entities"]]

    def is_active(self) -> bool:
        return status_of(self.doc, now_iso()) == "active"

    def selects(self, registration: dict | None) -> bool:
        return registration is not None and any(matches(registration, t) for t in self.targets)

    def matches(self, tenant: str, before: dict | None, after: dict | None) -> bool:
        return False  # entity changes are not its business

    def entity_query(self, limit: int):
        raise NotImplementedError("a csourceSubscription is never periodic")

    def notification_entity(self, before, after, *, deleted_at=None):
        return after or before

    def notification(self, tenant: str, items: list, *, notification_id: str, now: str,
                     number: int = 1) -> tuple[dict, Any]:
        """`items`: [(trigger reason, registration)] of one change (5.3.2 CSourceNotification)."""
        reason = items[0][0]
        data = [model.render(registration, self.ctx) for _, registration in items]
        body: dict[str, Any] = {"id": notification_id, "type": "Notification", "subscriptionId": self.id,
                                "notifiedAt": now, "data": data, "triggerReason": reason}
        endpoint = self.doc["notification"]["endpoint"]
        accept = endpoint.get("accept") or http.JSON
        headers = {"Content-Type": accept}
        if accept == http.LD_JSON:
            body["@context"] = self.ctx.source if self.ctx.source is not None else self.context_url
        elif self.context_url:
            headers["Link"] = f"<{self.context_url}>; {LINK_REL}"
        if tenant:
            headers["NGSILD-Tenant"] = tenant
        for item in endpoint.get("receiverInfo") or []:
            headers[item["key"]] = item["value"]
        return {"uri": endpoint["uri"], "method": "POST", "headers": headers}, body

    def record_delivery(self, ok: bool, now: str, error: str | None = None, code: int | None = None) -> None:
        self.doc["timesSent"] = self.doc.get("timesSent", 0) + 1
        self.doc["lastNotification"] = now
        if ok:
            self.doc["lastSuccess"] = now
        else:
            self.doc["timesFailed"] = self.doc.get("timesFailed", 0) + 1
            self.doc["lastFailure"] = now
        self.statistics_dirty = True

    def statistics_onto(self, stored: dict) -> dict:
        for key in STATISTICS:
            if key in self.doc:
                stored[key] = self.doc[key]
        return stored


def trigger(sub: CompiledCsourceSubscription, before: dict | None, after: dict | None) -> tuple[str, dict] | None:
    """The trigger reason and notified registration of a change for `sub`, or None."""
    was, now = sub.selects(before), sub.selects(after)
    if was and now:
        return "updated", after
    if now:
        return "newlyMatching", after
    if was:
        return "noLongerMatching", before
    return None


# -- the API --------------------------------------------------------------------------------------

def _services(request: Request):
    return request.app.state.toshi


def _payload(data) -> dict:
    if not isinstance(data, dict):
        raise BadRequestData("The payload must be a JSON object")
    return {key: value for key, value in data.items() if key != "@context"}


def _check_endpoint(request: Request, doc: dict) -> None:
    uri = doc["notification"]["endpoint"]["uri"]
    try:
        outbound_policy(_services(request).settings).check_literal(uri)
    except OutboundRefused as exc:
        raise BadRequestData(f"notification endpoint {uri} is refused: {exc}") from None


async def _reload(request: Request, tenant: str, subscription_id: str) -> None:
    await _services(request).notifier.subscription_changed(tenant, subscription_id)


async def _existing(request: Request, tenant: str, subscription_id: str) -> dict:
    found = await _services(request).store.subscriptions.get(tenant, subscription_id)
    if found is None or found.get("api") != API:
        raise ResourceNotFound(f"Subscription {subscription_id} not found")
    return found


async def create(request: Request) -> Response:
    tenant = http.tenant_of(request)
    body = await http.read_body(request)
    ctx = await http.context_for(request, body.context, from_link=False)
    doc = parse(_payload(body.data), ctx, now_iso())
    _check_endpoint(request, doc)
    if "jsonldContext" in doc:
        await _services(request).resolver.resolve(doc["jsonldContext"])
    store = _services(request).store
    if await store.subscriptions.get(tenant, doc["id"]) is not None:
        raise AlreadyExists(f"Subscription {doc['id']} already exists")
    store.ensure_tenant(tenant)
    doc["tenant"] = tenant
    await store.subscriptions.put(tenant, doc)
    await _reload(request, tenant, doc["id"])
    return Response(status_code=201, headers={"Location": f"{PREFIX}/{doc['id']}"})


async def retrieve(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    subscription_id = http.uri_param(request, "subscription_id", "Subscription id")
    media = http.negotiate(request)
    ctx = await http.context_for(request)
    sys_attrs = "sysAttrs" in options_of(request.query_params, {"sysAttrs"})
    doc = await _existing(request, tenant, subscription_id)
    return await http.json_response(request, render(doc, ctx, sys_attrs=sys_attrs), media=media, ctx=ctx)


async def query(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    media = http.negotiate(request)
    ctx = await http.context_for(request)
    options = options_of(request.query_params, {"sysAttrs", "count"})
    limit, offset, count = paging(request.query_params, _services(request).settings, count_option="count" in options)
    everything, _ = await _services(request).store.subscriptions.list(tenant, 10**9, 0)
    mine = [doc for doc in everything if doc.get("api") == API]
    body = [render(doc, ctx, sys_attrs="sysAttrs" in options) for doc in mine[offset:offset + limit]]
    headers = {"NGSILD-Results-Count": str(len(mine))} if count else {}
    return await http.json_response(request, body, media=media, ctx=ctx, headers=headers)


async def update(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    subscription_id = http.uri_param(request, "subscription_id", "Subscription id")
    body = await http.read_body(request, allowed=(http.JSON, http.LD_JSON, http.MERGE_PATCH))
    ctx = await http.context_for(request, body.context, from_link=False)
    existing = await _existing(request, tenant, subscription_id)
    doc = parse(_payload(body.data), ctx, now_iso(), existing=existing)
    _check_endpoint(request, doc)
    await _services(request).store.subscriptions.put(tenant, doc)
    await _reload(request, tenant, subscription_id)
    return http.no_content()


async def delete(request: Request) -> Response:
    tenant = await http.existing_tenant(request)
    subscription_id = http.uri_param(request, "subscription_id", "Subscription id")
    await _existing(request, tenant, subscription_id)
    await _services(request).store.subscriptions.delete(tenant, subscription_id)
    await _reload(request, tenant, subscription_id)
    return http.no_content()


def routes() -> list[Route]:
    return [
        Route(PREFIX, query, methods=["GET"]),
        Route(PREFIX, create, methods=["POST"]),
        Route(PREFIX + "/{subscription_id}", retrieve, methods=["GET"]),
        Route(PREFIX + "/{subscription_id}", update, methods=["PATCH"]),
        Route(PREFIX + "/{subscription_id}", delete, methods=["DELETE"]),
    ]
