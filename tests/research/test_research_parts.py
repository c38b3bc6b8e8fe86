"""The parts of an extract on their own: pseudonyms, generalisation, k-anonymity, and `toshi extract`."""

from __future__ import annotations

import dataclasses
import json

import pytest
from starlette.testclient import TestClient
from test_research_extract import GROUPS, PER_GROUP, SPEC, TENANT, UNIVERSITY, Town

from toshi.app import create_app
from toshi.core.signing import SigningKey, key_file
from toshi.research.extract import verify
from toshi.research.generalise import rule_of
from toshi.research.kanonymity import k_anonymous
from toshi.research.pseudonyms import Pseudonyms

SECRET = bytes(range(32))


def test_a_pseudonym_is_stable_for_one_recipient():
    assert Pseudonyms(SECRET, "", "a").of("r1") == Pseudonyms(SECRET, "", "a").of("r1")


def test_a_pseudonym_differs_between_recipients():
    assert Pseudonyms(SECRET, "", "a").of("r1") != Pseudonyms(SECRET, "", "b").of("r1")


def test_a_pseudonym_differs_between_secrets():
    assert Pseudonyms(SECRET, "", "a").of("r1") != Pseudonyms(bytes(32), "", "a").of("r1")


@pytest.mark.parametrize(("rule", "value", "expected"), [
    ("month", "2026-04-03T09:00:00Z", "2026-04"), ("month", "2026-04-03", "2026-04"), ("year", "2026-04-03", "2026"),
    ("month", "yesterday", None), ("band:10", 47, "40-50"), ("band:5", 47.5, "45-50"), ("band:10", "47", None),
    ("grid:0.1", {"type": "Point", "coordinates": [135.47, 34.82]}, "34.8,135.4"),
    ("grid:0.1", {"type": "Polygon", "coordinates": []}, None), ("exact", "豊能町", "豊能町"), ("exact", None, None),
])
def test_generalisation(rule, value, expected):
    assert rule_of(rule)(value) == expected


@pytest.mark.parametrize("rule", ["week", "grid:0", "band:-1", "grid:x", "month:2"])
def test_an_unknown_generalisation_is_refused(rule):
    with pytest.raises(ValueError):
        rule_of(rule)


def test_k_anonymity_counts_residents_not_rows():
    rows = [{"p": "a", "q": "x"}, {"p": "a", "q": "x"}, {"p": "b", "q": "x"}, {"p": "c", "q": "y"}]
    kept, suppressed = k_anonymous(rows, ["q"], 2, "p")
    assert kept == rows[:3] and suppressed == 1


def test_toshi_extract_writes_the_csv_and_a_verifiable_manifest(settings, toshi, tmp_path):
    local = dataclasses.replace(settings, auth=True, database_url="")  # the command line opens the data directory
    with TestClient(create_app(local)) as client:
        Town(client)
    quasi = [f"--quasi={name}={rule}" for name, rule in SPEC["quasiIdentifiers"].items()]
    code, _, err = toshi("extract", "--tenant", TENANT, "--recipient", UNIVERSITY, "--purpose", SPEC["purpose"],
                         "--type", "HealthCheckup", "--k", "5", *quasi, "--attribute", "bmi",
                         "--out", str(tmp_path / "out"))
    assert code == 0, err
    written = json.loads((tmp_path / "out" / "manifest.json").read_text())
    jwks = SigningKey.load(key_file(local.data_dir)).jwks()
    assert verify(written["jws"], jwks) == written["manifest"]
    lines = (tmp_path / "out" / "extract.csv").read_text().splitlines()
    assert len(lines) == 1 + GROUPS * PER_GROUP and "suppressed for k-anonymity" in err
