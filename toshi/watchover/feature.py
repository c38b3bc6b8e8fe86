"""Watch-over (見守り) declared as a feature: a write listener that notes changes of the watched types,
and a background task that reads them through the read path as the service's identity and raises
alerts through the write path (toshi/watchover/service.py; docs/services.md). No routes: enrolments,
devices, alerts and the service's status are NGSI-LD entities, read and written with the public APIs."""

from __future__ import annotations

from toshi.core.feature import Feature
from toshi.watchover.service import WatchOver


class Watchover(Feature):
    name = "watchover"

    def __init__(self, services):
        super().__init__(services)
        self.service = WatchOver(services, clock=getattr(services.settings, "watchover_clock", "wall"))

    def listeners(self) -> list:
        return [self.service.noticed]

    def background(self) -> list:
        return [self.service.run]
