"""End to end: the demo town's watched residents through a simulated day on a real server — their
devices report through the IoT agent, the watch-over feature alerts their families, and only them."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from town_day import demo_day

from toshi.town import watchers
from toshi.town.client import Api
from toshi.town.simulator import JST

RESIDENTS = 400
START, END = datetime(2026, 7, 3, 6, 0, tzinfo=JST), datetime(2026, 7, 3, 16, 0, tzinfo=JST)


@pytest.fixture(scope="module")
def watched_day(tmp_path_factory):
    async def observe(town, admin, base):
        await asyncio.sleep(7)  # the service's next round
        return {"alerts": await admin.entities("WatchOverAlert"),
                "status": (await admin.call("GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:WatchOverService:watchover",
                                            params={"options": "keyValues"})).json(),
                "public": (await Api(base).call("GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:WatchOverService:watchover",
                                                params={"options": "keyValues"}, ok=(200, 401, 403, 404))).status_code}

    with demo_day(tmp_path_factory, "demo-watch", seed=7, residents=RESIDENTS, start=START, end=END,
                  observe=observe) as (_, day):
        yield day


def test_the_status_counts_every_watched_resident(watched_day):
    town, seen = watched_day
    assert seen["status"]["watchedResidents"] == len(watchers.watched(town.town)) > watchers.QUIET_PEOPLE


def test_the_quiet_residents_raise_no_activity_alerts(watched_day):
    town, seen = watched_day
    people = watchers.watched(town.town)
    quiet = {w.resident for w in people[:watchers.QUIET_PEOPLE]}
    assert {a["watched"] for a in seen["alerts"] if a["kind"] == "noActivity"} == quiet


def test_the_fall_is_alerted_to_the_family(watched_day):
    town, seen = watched_day
    faller = watchers.watched(town.town)[watchers.QUIET_PEOPLE]
    assert [(a["watched"], a["watcher"]) for a in seen["alerts"] if a["kind"] == "fall"] == \
        [(faller.resident, faller.watcher)]


def test_alerts_are_only_about_watched_residents(watched_day):
    town, seen = watched_day
    people = {w.resident: w.watcher for w in watchers.watched(town.town)}
    assert seen["alerts"]
    assert all(people.get(a["watched"]) == a["watcher"] for a in seen["alerts"])


def test_the_status_is_open_data(watched_day):
    assert watched_day[1]["public"] == 200
