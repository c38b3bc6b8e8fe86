"""Context source registrations, their subscriptions and distributed operations, as a feature."""

from __future__ import annotations

from toshi.core.feature import Feature, tables_of
from toshi.csources import store, web


class ContextSources(Feature):
    name = "csources"
    tables = tables_of(store.SCHEMA)

    def routes(self) -> list:
        return web.routes()

    async def registration_changed(self, tenant: str, before: dict | None, after: dict | None) -> None:
        """After a registration was created, updated or deleted (csourceSubscriptions are told)."""
