"""The on-demand bus declared as a feature: `POST /mobility/plan` (the operator's right to update),
which reads and writes on the caller's read and write paths (toshi/mobility/service.py)."""

from __future__ import annotations

from toshi.core.feature import Action, Feature
from toshi.mobility import web


class Mobility(Feature):
    name = "mobility"
    actions = (Action(f"{web.PREFIX}/plan", "update", exact=True),)

    def routes(self) -> list:
        return web.routes()
