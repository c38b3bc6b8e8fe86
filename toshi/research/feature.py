"""Extracts for research, declared as a feature: `POST /research/extracts` for a tenant's officials
and `toshi extract`; the pseudonym secret is a data file of the town (kept by backups: without it the
pseudonyms of later extracts would change)."""

from __future__ import annotations

from toshi.core.feature import Action, Feature
from toshi.research import commands, web
from toshi.research.pseudonyms import secret_file
from toshi.research.service import Research as ResearchService


class Research(Feature):
    name = "research"
    data_files = (secret_file("").as_posix(),)
    actions = (Action(f"{web.PREFIX}/", "admin"),)  # the admin role in the tenant: a town official

    @classmethod
    def add_commands(cls, subparsers, cli) -> None:
        commands.add_commands(subparsers, cli)

    def __init__(self, services):
        super().__init__(services)
        self.research = ResearchService(services.store, services.settings.data_dir)

    def routes(self) -> list:
        return web.routes()
