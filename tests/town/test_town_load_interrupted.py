"""The demo's first load interrupted part-way, at each step in turn (right after the server did
something and before the state file says so, the worst moment), then run again: the town on the
server is the same as after an uninterrupted load — the same accounts, @contexts, entities, consents
and wallets, nothing doubled."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from toshi.town import demo, loader
from toshi.town.client import LD, Api
from toshi.town.entities import urn

RESIDENTS = 150
SEED = 5
# One interruption per run, in the order the load reaches them; the last run completes.
POINTS = ["context", "account:evacuation", "prepare", "entities", "consents:evacuation-guidance",
          "watchover:watch-over", "watchover:family", "account:ondemand", "ondemand:on-demand-transport",
          "account:health", "wellbeing:health-linkage", "wellbeing:points", "wellbeing",
          "account:research", "research:health-research", "research"]


class Interrupted(Exception):
    pass


async def _load(base: str, data_dir, interrupt_at: str | None, hits: list[str]) -> None:
    """One `toshi demo` start's load, from the state file as a new process would read it."""
    state = demo.read_state(data_dir)
    town = demo.DemoTown(base, data_dir, state, speed=1, mqtt=False)

    def reached(point: str) -> None:
        if point == interrupt_at:
            hits.append(point)
            raise Interrupted(point)

    original, loader.reached = loader.reached, reached
    try:
        await town.load()
    finally:
        loader.reached = original
        await town.admin.close()


async def _town_on_server(base: str, data_dir) -> dict:
    state = demo.read_state(data_dir)
    admin = Api(base, state["adminKey"], context=state["context"])
    try:
        accounts = sorted(a["name"] for a in (await admin.call("GET", "/admin/auth/accounts")).json())
        contexts = len((await admin.call("GET", f"{LD}/jsonldContexts", params={"kind": "Hosted"})).json())
        types = sorted(t.rsplit("/", 1)[-1] for t in (await admin.call("GET", f"{LD}/types")).json()["typeList"])
        entities = {}
        for type_ in types:
            response = await admin.call("GET", f"{LD}/entities", params={"type": type_, "count": "true", "limit": 0})
            entities[type_] = int(response.headers["NGSILD-Results-Count"])
        town = demo.generate(SEED, RESIDENTS)
        consents = {}
        for resident in town.residents:
            records = (await admin.call("GET", f"/consent/residents/{urn('Resident', resident.id)}/consents")).json()
            for record in records:
                key = (record["purpose"], record["status"])
                consents[key] = consents.get(key, 0) + 1
        held = {}  # with the keys the state file kept: each service can still sign in
        for name, account in (("evacuation", state["accounts"]["evacuation"]), ("ondemand", state["ondemand"]["operator"]),
                              ("health", state["wellbeing"]["health"]), ("research", state["research"]["university"])):
            service = Api(base, account["key"])
            held[name] = len((await service.call("GET", "/consent/held")).json())
            await service.close()
    finally:
        await admin.close()
    with sqlite3.connect(f"file:{data_dir / 'toshi.db'}?mode=ro", uri=True) as db:
        wallets = db.execute("SELECT kind, count(*) FROM currency_wallets GROUP BY kind ORDER BY kind").fetchall()
        points = db.execute("SELECT count(*) FROM currency_payments").fetchone()[0]
    return {"accounts": accounts, "contexts": contexts, "entities": entities, "consents": consents,
            "held": held, "wallets": wallets, "payments": points, "watched": state["watched"],
            "riders": state["ondemand"]["riders"], "checkups": state["wellbeing"]["checkups"],
            "extracts": sorted(p.suffix for p in (data_dir / "extracts").iterdir())}


def _a_town(data_dir, interruptions: list[str]) -> tuple[dict, list[str], dict]:
    state = demo.bootstrap(data_dir, seed=SEED, residents=RESIDENTS)
    port = demo.free_port()
    server = demo.start_server(data_dir, port, state, mqtt=False)
    base = f"http://127.0.0.1:{port}"
    hits: list[str] = []

    async def sessions():
        for point in interruptions:
            with pytest.raises(Interrupted):
                await _load(base, data_dir, point, hits)
        await _load(base, data_dir, None, hits)
        return await _town_on_server(base, data_dir)

    try:
        return asyncio.run(sessions()), hits, demo.read_state(data_dir)
    finally:
        demo.stop_server(server)


@pytest.fixture(scope="module")
def towns(tmp_path_factory):
    whole, _, _ = _a_town(tmp_path_factory.mktemp("load-whole"), [])
    interrupted, hits, state = _a_town(tmp_path_factory.mktemp("load-interrupted"), POINTS)
    return whole, interrupted, hits, state


def test_each_point_interrupted_a_run(towns):
    _, _, hits, _ = towns
    assert hits == POINTS


def test_an_interrupted_load_run_again_gives_the_same_town(towns):
    whole, interrupted, _, _ = towns
    assert interrupted == whole
    assert whole["accounts"] == ["town-admin", "town-evacuation", "town-health", "town-ondemand", "town-university"]
    assert whole["contexts"] == 1
    assert whole["entities"]["Resident"] == RESIDENTS
    assert whole["wallets"] == [("issuer", 1), ("resident", whole["checkups"]), ("shop", 5)]


def test_the_resumed_load_keeps_no_part_made_state(towns):
    _, interrupted, _, state = towns
    assert state["loaded"] is True
    assert state["partial"] == {}
    assert interrupted["held"]["health"] == interrupted["checkups"]
    assert interrupted["held"]["ondemand"] == interrupted["riders"]
    assert interrupted["held"]["research"] == state["research"]["consenting"]
    assert interrupted["extracts"] == [".csv", ".jws"]  # one extract, not one per resumed run
