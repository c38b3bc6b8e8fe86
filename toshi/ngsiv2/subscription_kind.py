"""NGSI-v2 subscriptions as a kind the notifier serves (toshi/notify/kinds.py)."""

from __future__ import annotations

from toshi.ngsiv2 import subscription_model as model
from toshi.ngsiv2.subscription_matching import CompiledV2Subscription


class V2SubscriptionKind:
    name = "ngsi-v2"

    def owns(self, doc: dict) -> bool:
        return doc.get("api") == model.API

    async def compile(self, doc: dict) -> CompiledV2Subscription:
        return CompiledV2Subscription(doc)
