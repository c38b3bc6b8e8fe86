"""The open-data catalogue: datasets made of the town's live entities, opened for anonymous reading
through the policy engine, downloadable as CSV/GeoJSON/NGSI-LD, described in DCAT and through the
CKAN Action API, and filled by CSV import (docs/open-data.md)."""

from __future__ import annotations

from toshi.catalogue import commands, web
from toshi.catalogue.datasets import SCHEMA
from toshi.core.feature import Action, Feature, tables_of


class Catalogue(Feature):
    name = "catalogue"
    tables = tables_of(SCHEMA)
    actions = (Action("/catalog", None), Action("/catalogue/", None), Action("/catalogue/admin/", "admin"),
               Action("/api/3/action/", None), Action("/api/action/", None))

    @classmethod
    def add_commands(cls, subparsers, cli) -> None:
        commands.add_commands(subparsers, cli)

    def routes(self) -> list:
        return web.routes()
