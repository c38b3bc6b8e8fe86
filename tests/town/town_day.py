"""A demo town's simulated day on a real server, for the end-to-end tests of its services: the town is
bootstrapped, served, set up and run from `start` to `end`; then `observe(town, admin, base)` reads
what the test checks, with the town's administrator's client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import contextmanager

from support import demo_town_server

from toshi.town import demo
from toshi.town.client import Api


@contextmanager
def demo_day(tmp_path_factory, name: str, *, seed: int, residents: int, start, end,
             observe: Callable[[demo.DemoTown, Api, str], Awaitable[dict]]):
    """Yields (state, (town, what observe returned)); the server is stopped afterwards."""
    data_dir = tmp_path_factory.mktemp(name)

    async def run(state, base, mqtt):
        town = demo.DemoTown(base, data_dir, state, speed=3600, mqtt=mqtt, start=start, tick_seconds=0.25)
        try:
            await town.setup()
            await town.run(until=end)
            admin = Api(base, state["adminKey"], context=state["context"])
            try:
                return town, await observe(town, admin, base)
            finally:
                await admin.close()
        finally:
            await town.close()

    with demo_town_server(data_dir, seed=seed, residents=residents) as (state, base, mqtt):
        yield state, asyncio.run(run(state, base, mqtt))
