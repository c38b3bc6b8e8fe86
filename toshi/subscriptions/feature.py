"""NGSI-LD subscriptions declared as a feature (the notifier delivers them)."""

from __future__ import annotations

from toshi.core.feature import Action, Feature
from toshi.subscriptions.kind import LdSubscriptionKind
from toshi.subscriptions.web import PREFIX, routes

CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LdSubscriptions(Feature):
    name = "subscriptions"
    actions = (Action(PREFIX, "subscribe", methods=CHANGES),)  # csource paths: toshi/csources/feature.py

    def routes(self) -> list:
        return routes()

    def subscription_kinds(self) -> list:
        return [LdSubscriptionKind(self.services.resolver)]
