"""The local currency declared as a feature: its ledger tables (backed up with the town) and its API.
Wallets, payments and balances are for the town's officials and the currency's operator (the admin
right); services that grant points need the update right (toshi/currency/web.py)."""

from __future__ import annotations

from toshi.core.feature import Action, Feature, tables_of
from toshi.currency import ledger, web
from toshi.currency.ledger import Ledger


class Currency(Feature):
    name = "currency"
    tables = tables_of(ledger.SCHEMA)
    actions = (Action(f"{web.PREFIX}/", "admin"),
               Action(f"{web.PREFIX}/wallets/", "read", methods=frozenset({"GET", "HEAD"})),  # the owner's own
               Action(f"{web.PREFIX}/grants", "update", exact=True))

    def __init__(self, services):
        super().__init__(services)
        self.ledger = Ledger(services.store)

    def routes(self) -> list:
        return web.routes()
