"""Context source registrations, their subscriptions and distributed operations, as a feature."""

from __future__ import annotations

from typing import TYPE_CHECKING

from toshi.core.feature import Action, Feature, tables_of
from toshi.csources import store, subscriptions, web
from toshi.csources.answers import Readings
from toshi.csources.subscriptions import CompiledCsourceSubscription, CsourceSubscriptionKind, trigger

if TYPE_CHECKING:
    import httpx

CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ContextSources(Feature):
    name = "csources"
    tables = tables_of(store.SCHEMA)  # csourceSubscriptions live in the store's subscriptions table
    # A registration puts another server's data into every reader's answers and sends writes there:
    # only a tenant's administrators make or change one. Subscribing to them is a subscription.
    actions = (Action(web.PREFIX, "admin", methods=CHANGES),
               Action(subscriptions.PREFIX, "subscribe", methods=CHANGES))

    def __init__(self, services):
        super().__init__(services)
        self._client: httpx.AsyncClient | None = None
        # how the sources are reached: None is the network; a test joins in-process towns here
        self.transport: httpx.AsyncBaseTransport | None = None
        # answers kept for management.cacheDuration: key -> (until, answer) (toshi/csources/reads.py)
        self.answers: dict[tuple, tuple[float, object]] = {}
        self.readings = Readings()  # the entities of the last answers, read once (toshi/csources/answers.py)

    def http_client(self) -> httpx.AsyncClient:
        """The one HTTP client of distributed operations (its connections to the sources are reused)."""
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False, transport=self.transport,
                                             limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))
        return self._client

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def routes(self) -> list:
        return [*web.routes(), *subscriptions.routes()]

    def subscription_kinds(self) -> list:
        return [CsourceSubscriptionKind(self.services.resolver)]

    async def registration_changed(self, tenant: str, before: dict | None, after: dict | None) -> None:
        """After a registration was created, updated or deleted: notify the csourceSubscriptions it
        concerns (through the notifier's durable outbox)."""
        notifier = self.services.notifier
        for sub in notifier.loaded(tenant):
            if isinstance(sub, CompiledCsourceSubscription) and sub.is_active():
                fired = trigger(sub, before, after)
                if fired is not None:
                    notifier.notify(tenant, sub.id, [fired])
