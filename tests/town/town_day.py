"""A demo town's simulated day on a real server, for the end-to-end tests of its services: the town is
bootstrapped, served, set up and run from `start` to `end`; then `observe(town, admin, base)` reads
what the test checks, with the town's administrator's client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import contextmanager

from toshi.town import demo
from toshi.town.client import Api


@contextmanager
def demo_day(tmp_path_factory, name: str, *, seed: int, residents: int, start, end,
             observe: Callable[[demo.DemoTown, Api, str], Awaitable[dict]]):
    """Yields (state, (town, what observe returned)); the server is stopped afterwards."""
    data_dir = tmp_path_factory.mktemp(name)
    state = demo.bootstrap(data_dir, seed=seed, residents=residents)
    port, mqtt = demo.free_port(), demo.mqtt_reachable()
    server = demo.start_server(data_dir, port, state, mqtt=mqtt)
    base = f"http://127.0.0.1:{port}"

    async def run():
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

    try:
        yield state, asyncio.run(run())
    finally:
        demo.stop_server(server)
