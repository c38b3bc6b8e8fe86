"""End to end: health linkage and the local currency in the demo town on a real server — check-ups of
consenting residents give indicators, their points are granted once, the shops are paid, and the
ledger reconciles."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from town_day import demo_day

from toshi.town import wellbeing
from toshi.town.client import Api
from toshi.town.simulator import JST

RESIDENTS = 600
START, END = datetime(2026, 7, 3, 8, 30, tzinfo=JST), datetime(2026, 7, 3, 13, 0, tzinfo=JST)


@pytest.fixture(scope="module")
def wellbeing_day(tmp_path_factory):
    async def observe(town, admin, base):
        report = (await admin.call("POST", "/currency/reconciliations")).json()
        return {"indicators": await admin.entities("HealthRiskIndicator"),
                "checkups": await admin.entities("HealthCheckup"), "report": report,
                "ledger": (await Api(base).call("GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:LocalCurrencyLedger:town",
                                                params={"options": "keyValues"})).json(),
                "world": next(w for w in town.simulator.worlds if isinstance(w, wellbeing.CurrencyWorld))}

    with demo_day(tmp_path_factory, "demo-wellbeing", seed=13, residents=RESIDENTS, start=START, end=END,
                  observe=observe) as day:
        yield day


def test_every_consenting_check_up_has_its_indicator(wellbeing_day):
    state, (_, seen) = wellbeing_day
    assert len(seen["checkups"]) == state["wellbeing"]["checkups"] >= 3
    assert sorted(i["checkup"] for i in seen["indicators"]) == sorted(c["id"] for c in seen["checkups"])
    assert sum(state["wellbeing"]["indicators"].values()) == len(seen["checkups"])


def test_the_points_were_granted_once_and_the_ledger_balances(wellbeing_day):
    state, (_, seen) = wellbeing_day
    report = seen["report"]
    assert report["balanced"] is True
    assert report["inCirculation"] == wellbeing.CHECKUP_POINTS * state["wellbeing"]["checkups"]
    assert seen["world"].paid >= 1  # shops were paid, and the ledger still balances


def test_the_ledger_entity_is_open_data(wellbeing_day):
    _, (_, seen) = wellbeing_day
    assert seen["ledger"]["balanced"] is True


def test_the_university_gets_a_k_anonymous_pseudonymous_extract_of_its_consenting_residents(wellbeing_day):
    state, (town, _) = wellbeing_day
    research = state["research"]
    counts = research["counts"]
    assert counts["consenting"] == research["consenting"] >= 1  # only residents who consented to the study
    assert counts["released"] + counts["suppressed"] + counts["incomplete"] == counts["consenting"]
    text = (Path(research["savedIn"]) / f"extract-{research['extract'].rsplit(':', 1)[-1]}.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == counts["released"] >= wellbeing.EXTRACT["k"]  # this seed's town has enough
    assert "Resident" not in text and all(r.id not in text for r in town.town.residents)
    groups = Counter((row["sex"], row["checkedOn"]) for row in rows)
    assert all(n >= wellbeing.EXTRACT["k"] for n in groups.values())
    assert {row["sex"] for row in rows} == {"male", "female"}
