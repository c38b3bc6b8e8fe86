"""Attribute history (recorded from every write) and the NGSI-LD temporal API, declared as a feature."""

from __future__ import annotations

from toshi.core.feature import Action, Feature, tables_of
from toshi.temporal import web
from toshi.temporal.history import SCHEMA, history_for
from toshi.temporal.retention import keep_pruning

POST = frozenset({"POST"})


class Temporal(Feature):
    name = "temporal"
    tables = tables_of(SCHEMA)
    actions = (Action(f"{web.PREFIX}/entities", "create", methods=POST, exact=True),
               Action(f"{web.PREFIX}/entityOperations/query", "read", methods=POST, exact=True))

    def routes(self) -> list:
        return web.routes()

    def listeners(self) -> list:
        return [history_for(self.services.store).record]

    def background(self) -> list:
        return [lambda: keep_pruning(self.services.store, self.services.settings.history_retention)]
