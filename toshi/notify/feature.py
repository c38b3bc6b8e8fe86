"""The delivery engine (change log → subscriptions → outbox → HTTP/MQTT) declared as a feature, with
its dead-letter admin API. The subscription kinds it serves come from the other features."""

from __future__ import annotations

from toshi.core.feature import Action, Feature
from toshi.notify import web


class Notifications(Feature):
    name = "notify"
    actions = (Action("/admin/", "admin"),)

    def routes(self) -> list:
        return web.routes()

    async def start(self) -> None:
        await self.services.notifier.start()

    async def stop(self) -> None:
        await self.services.notifier.stop()
        await self.services.notifier.flush_statistics()
