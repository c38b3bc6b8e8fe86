"""Health linkage declared as a feature: POST /health-linkage/indicators (the update right), on the caller's
read and write paths (toshi/health/web.py)."""

from __future__ import annotations

from toshi.core.feature import Action, Feature
from toshi.health import web


class Health(Feature):
    name = "health"
    actions = (Action("/health-linkage/indicators", "update", exact=True),)

    def routes(self) -> list:
        return web.routes()
