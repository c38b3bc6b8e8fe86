"""`toshi demo` interrupted after its town is loaded, then run again: it resumes — the town is not
loaded again (no second set of entities, accounts or consents) and the simulated clock goes on from
where it stopped."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from toshi.town import demo
from toshi.town.client import Api
from toshi.town.entities import urn
from toshi.town.simulator import JST

RESIDENTS = 60
START = datetime(2026, 7, 3, 6, 0, tzinfo=JST)


def run_demo(data_dir, state, until_hours: float | None, start=None) -> dict:
    """One `toshi demo` session on a real server: set up, simulate, stop (as Ctrl-C would)."""
    port, mqtt = demo.free_port(), demo.mqtt_reachable()
    server = demo.start_server(data_dir, port, state, mqtt=mqtt)
    base = f"http://127.0.0.1:{port}"

    async def session():
        town = demo.DemoTown(base, data_dir, state, speed=3600, mqtt=mqtt, start=start, tick_seconds=0.25)
        try:
            await town.setup()
            began = town.simulator.now
            if until_hours:
                await town.run(until=began + timedelta(hours=until_hours))
            admin = Api(base, state["adminKey"], context=state["context"])
            consenting = next(r for r in town.town.residents if "evacuation-guidance" in r.consents)
            seen = {"began": began, "residents": len(await admin.entities("Resident")),
                    "accounts": (await admin.call("GET", "/admin/auth/accounts")).json(),
                    "consents": (await admin.call("GET", f"/consent/residents/{urn('Resident', consenting.id)}"
                                                         "/consents")).json()}
            await admin.close()
            return seen
        finally:
            await town.close()

    try:
        return asyncio.run(session())
    finally:
        demo.stop_server(server)


@pytest.fixture(scope="module")
def two_sessions(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo-resume")
    state = demo.bootstrap(data_dir, seed=5, residents=RESIDENTS)
    first = run_demo(data_dir, state, 1.0, start=START)
    saved = demo.read_state(data_dir)
    second = run_demo(data_dir, saved, None)
    return first, saved, second


def test_the_second_session_does_not_load_the_town_again(two_sessions):
    first, saved, second = two_sessions
    assert saved["loaded"] is True
    assert second["residents"] == first["residents"] == RESIDENTS
    assert [a["id"] for a in second["accounts"]] == [a["id"] for a in first["accounts"]]
    assert len(second["consents"]) == len(first["consents"]) >= 1


def test_the_simulated_clock_goes_on_from_where_it_stopped(two_sessions):
    first, saved, second = two_sessions
    assert first["began"] == START
    assert datetime.fromisoformat(saved["clock"]) >= START + timedelta(hours=1)
    assert second["began"] == datetime.fromisoformat(saved["clock"])
