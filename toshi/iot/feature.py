"""The built-in IoT agent declared as a feature: provisioning API, southbound (HTTP and MQTT), commands."""

from __future__ import annotations

from toshi.core.feature import Action, Feature, tables_of
from toshi.iot import registry
from toshi.iot.agent import IotAgent
from toshi.iot.routes import routes

SOUTHBOUND = ("/iot/d", "/iot/json", "/iot/d/cmdexe", "/iot/json/cmdexe")  # devices identify with their apikey


class Iot(Feature):
    name = "iot"
    tables = tables_of(registry.SCHEMA)
    actions = (Action("/iot/", "admin"), Action("/iot/about", None, exact=True),
               *(Action(path, None, exact=True) for path in SOUTHBOUND))

    def __init__(self, services):
        super().__init__(services)
        self.agent = IotAgent(services)

    def routes(self) -> list:
        return routes()

    def listeners(self) -> list:
        return [self.agent.commands.on_changes]

    async def start(self) -> None:
        await self.agent.start()

    async def stop(self) -> None:
        await self.agent.stop()
