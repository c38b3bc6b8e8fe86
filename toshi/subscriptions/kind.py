"""NGSI-LD subscriptions as a kind the notifier serves (toshi/notify/kinds.py)."""

from __future__ import annotations

from toshi.subscriptions.matching import CompiledSubscription


class LdSubscriptionKind:
    name = "ngsi-ld"

    def __init__(self, resolver):
        self.resolver = resolver  # toshi.jsonld.resolver.ContextResolver: a subscription's jsonldContext

    def owns(self, doc: dict) -> bool:
        return doc.get("api") is None  # the other APIs mark theirs (NGSI-v2: "v2")

    async def compile(self, doc: dict) -> CompiledSubscription:
        ctx = await self.resolver.resolve(doc.get("jsonldContext"))
        compiled = CompiledSubscription(doc, ctx)
        compiled.hosted_context_url = await self.resolver.link_url(ctx)  # inline contexts get a hosted URL
        return compiled
