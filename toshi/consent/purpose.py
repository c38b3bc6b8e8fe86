"""Why a request reads: the `Toshi-Purpose` header (a purpose a resident consented to, e.g.
`care-planning`), and the purpose of a subscription, kept from the request that created it so its
notifications are filtered for that purpose.

The middleware runs outside the request gate (the consent feature is listed before auth), so the
purpose is known when the gate composes the request's guard."""

from __future__ import annotations

from contextvars import ContextVar

from toshi.store import FeatureTables

HEADER = b"toshi-purpose"
MAX_LENGTH = 200
request_purpose: ContextVar[str | None] = ContextVar("toshi_purpose", default=None)
SCHEMA = """CREATE TABLE IF NOT EXISTS consent_subscription_purposes (
    tenant TEXT NOT NULL, subscription TEXT NOT NULL, purpose TEXT NOT NULL, PRIMARY KEY (tenant, subscription))"""
SUBSCRIPTION_PATHS = ("/ngsi-ld/v1/subscriptions", "/v2/subscriptions")
TOPIC = "consent.subscriptions"


class SubscriptionPurposes:
    def __init__(self, store):
        self._store = store
        self._tables = FeatureTables(store, SCHEMA)
        self._known: dict[tuple[str, str], str | None] = {}
        store.watch(TOPIC, lambda _: self._known.clear())

    def of(self, tenant: str, subscription_id: str) -> str | None:
        key = (tenant, subscription_id)
        if key not in self._known:
            row = self._tables.db.execute("SELECT purpose FROM consent_subscription_purposes WHERE tenant=? AND "
                                          "subscription=?", key).fetchone()
            if len(self._known) > 100_000:
                self._known.clear()
            self._known[key] = row[0] if row else None
        return self._known[key]

    def record(self, tenant: str, subscription_id: str, purpose: str) -> None:
        self._tables.db.execute("INSERT INTO consent_subscription_purposes (tenant, subscription, purpose) "
                                "VALUES (?, ?, ?) ON CONFLICT (tenant, subscription) DO UPDATE SET "
                                "purpose=excluded.purpose", (tenant, subscription_id, purpose))
        self._known[(tenant, subscription_id)] = purpose
        self._store.publish(TOPIC)


class PurposeMiddleware:
    def __init__(self, app, purposes: SubscriptionPurposes):
        self.app, self.purposes = app, purposes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        purpose = next((v.decode("latin-1").strip() for k, v in scope["headers"] if k == HEADER), "")[:MAX_LENGTH]
        if not purpose:
            return await self.app(scope, receive, send)
        mark = request_purpose.set(purpose)
        try:
            if scope["method"] == "POST" and scope["path"].rstrip("/") in SUBSCRIPTION_PATHS:
                return await self.app(scope, receive, self._recording(scope, send, purpose))
            return await self.app(scope, receive, send)
        finally:
            request_purpose.reset(mark)

    def _recording(self, scope, send, purpose: str):
        """A `send` that keeps the purpose of the subscription the request creates."""
        async def recording_send(message):
            if message["type"] == "http.response.start" and message["status"] == 201:
                location = next((v.decode() for k, v in message.get("headers", []) if k == b"location"), "")
                if location:
                    self.purposes.record(_tenant(scope), location.rstrip("/").rsplit("/", 1)[-1], purpose)
            await send(message)
        return recording_send


def _tenant(scope) -> str:
    headers = {k: v.decode("latin-1") for k, v in scope["headers"] if k in (b"fiware-service", b"ngsild-tenant")}
    if scope["path"].startswith("/v2"):
        return headers.get(b"fiware-service", "").strip().lower()
    return headers.get(b"ngsild-tenant", "").strip()
