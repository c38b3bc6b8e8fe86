"""`toshi extract` in a log (not a terminal) tells how far it got in plain lines."""

from __future__ import annotations

import dataclasses
import json

from starlette.testclient import TestClient
from test_research_extract import GROUPS, PER_GROUP, SPEC, TENANT, UNIVERSITY, Town

from toshi.app import create_app
from toshi.core.progress import Progress


def test_an_extract_prints_plain_progress_lines(settings, toshi, tmp_path):
    local = dataclasses.replace(settings, auth=True, database_url="")  # the command line opens the data directory
    with TestClient(create_app(local)) as client:
        Town(client)
    quasi = [f"--quasi={name}={rule}" for name, rule in SPEC["quasiIdentifiers"].items()]
    code, _, err = toshi("extract", "--tenant", TENANT, "--recipient", UNIVERSITY, "--purpose", SPEC["purpose"],
                         "--type", "HealthCheckup", "--k", "5", *quasi, "--attribute", "bmi",
                         "--out", str(tmp_path / "out"))
    assert code == 0, err
    consenting = json.loads((tmp_path / "out" / "manifest.json").read_text())["manifest"]["counts"]["consenting"]
    assert consenting >= GROUPS * PER_GROUP
    assert Progress.line("generalising records", consenting, consenting) in err.splitlines()
