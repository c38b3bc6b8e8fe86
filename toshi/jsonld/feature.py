"""The @context API (/ngsi-ld/v1/jsonldContexts) declared as a feature."""

from __future__ import annotations

from toshi.core.feature import Action, Feature
from toshi.jsonld.web import BASE_PATH, routes

READS = frozenset({"GET", "HEAD"})


class Contexts(Feature):
    name = "contexts"
    actions = (Action(BASE_PATH, None, methods=READS), Action(BASE_PATH, "admin", methods=frozenset({"POST", "DELETE"})))

    def routes(self) -> list:
        return routes(self.services.resolver, self.services.registry, self.services.store.tenant_exists)

    async def start(self) -> None:
        await self.services.registry.load()

    async def stop(self) -> None:
        await self.services.registry.flush()
        await self.services.resolver.aclose()
