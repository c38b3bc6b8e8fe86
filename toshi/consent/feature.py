"""Residents' control of their personal data, declared as a feature: which data is personal (per
tenant), residents' opt-in consents (signed, versioned, with receipts), the read path's consent layer
that enforces them in every outlet, the access log residents and providers can read, the export of
a resident's data and erasure requests. Listed before auth, so its purpose middleware runs outside
the request gate (docs/residents.md)."""

from __future__ import annotations

import asyncio
import logging

from toshi.consent import accesslog, commands, declarations, mydata, purpose, records, web
from toshi.consent.purpose import PurposeMiddleware
from toshi.consent.service import ConsentService
from toshi.core.feature import Action, Feature, tables_of

log = logging.getLogger("toshi.consent")


class Consent(Feature):
    name = "consent"
    tables = (tables_of(declarations.SCHEMA) + tables_of(records.SCHEMA) + tables_of(accesslog.SCHEMA)
              + tables_of(purpose.SCHEMA) + tables_of(mydata.SCHEMA))
    actions = (Action(f"{web.PREFIX}/me/", None),          # the resident signs in in the handler (web.py)
               Action(f"{web.PREFIX}/residents/", "admin"),  # town officials: the tenant's admin role
               Action(f"{web.PREFIX}/declarations", "admin"),
               Action(f"{web.PREFIX}/grants", "admin"),        # bulk grants: the town office
               Action(f"{web.PREFIX}/held", "read"))         # service providers

    @classmethod
    def add_commands(cls, subparsers, cli) -> None:
        commands.add_commands(subparsers, cli)

    def __init__(self, services):
        super().__init__(services)
        self.service = ConsentService.for_settings(services.store, services.settings, app=True)
        services.read_path.purpose_of = self.service.purposes.of
        self.service.on_change.append(services.read_path.changed)  # live streams look at their view again
        self._task: asyncio.Task | None = None

    def routes(self) -> list:
        return web.routes()

    def read_filters(self) -> list:
        return [self.service.filter]

    def middleware(self) -> list:
        return [(PurposeMiddleware, {"purposes": self.service.purposes})]

    def background(self) -> list:
        return [self._flushing]

    async def _flushing(self) -> None:
        """Write the access log's notes in batches."""
        while True:
            await asyncio.sleep(accesslog.FLUSH_SECONDS)
            try:
                self.service.log.flush()
            except Exception:
                log.exception("writing the access log failed")

    async def start(self) -> None:
        moved = self.service.log.upgrade()  # a broken old log refuses the start, saying where
        if moved:
            log.info("moved %d records of the old access log into its chain", moved)

    async def stop(self) -> None:
        self.service.log.flush()
