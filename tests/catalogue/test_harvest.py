"""Harvest in (issue 18): a dataset another Toshi publishes through its CKAN Action API, pulled into
this town's entities through `toshi harvest`, the real command line, over loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from support import ServerProcess, free_port

from toshi.catalogue import standards as std


def toshi(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOSHI_")}
    return subprocess.run([sys.executable, "-m", "toshi.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def aed_csv(rows: int) -> bytes:
    sample = {std.TEXT: "値", std.INTEGER: "120", std.NUMBER: "12.5", std.DATE: "2024-04-01", std.TIME: "09:00",
              std.FLAG: "1", std.YESNO: "有", std.CODE: "273619", std.LIST: "余野;川尻", std.LATITUDE: "34.82",
              std.LONGITUDE: "135.47"}
    lines = [",".join(c.header for c in std.AED.columns)]
    for n in range(rows):
        lines.append(",".join(f"{n:03d}" if c.header == std.ID_HEADER else sample[c.kind] for c in std.AED.columns))
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """Another town's Toshi publishing an open AED dataset of 5 rows."""
    root = tmp_path_factory.mktemp("source")
    town = str(root / "town")
    (root / "aed.csv").write_bytes(aed_csv(5))
    assert toshi("import", str(root / "aed.csv"), "--dataset", "aed", "--data-dir", town).returncode == 0
    assert toshi("dataset", "open", "aed", "--data-dir", town).returncode == 0
    server = ServerProcess(root / "town").start()
    yield server
    server.stop()


def test_a_harvested_dataset_becomes_entities_here(source, tmp_path):
    here = str(tmp_path / "here")
    done = toshi("harvest", source.url, "--package", "aed", "--dataset", "aed-neighbour", "--data-dir", here)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["written"] is True and report["changes"]["created"] == 5
    assert report["source"] == {"catalogue": source.url, "package": "aed",
                                "resource": f"{source.url}/catalogue/datasets/aed.csv"}
    shown = json.loads(toshi("dataset", "show", "aed-neighbour", "--data-dir", here).stdout)
    assert shown["type"] == "AEDLocation" and shown["standard"] == "jp-standard-08-aed"


def test_harvesting_again_changes_nothing(source, tmp_path):
    here = str(tmp_path / "here")
    first = toshi("harvest", source.url + "/api/3/action", "--package", "aed", "--dataset", "aed", "--data-dir", here)
    assert first.returncode == 0, first.stderr
    again = json.loads(toshi("harvest", source.url, "--package", "aed", "--dataset", "aed", "--data-dir", here).stdout)
    assert again["changes"] == {"created": 0, "updated": 0, "unchanged": 5, "deleted": 0, "failed": 0}


def test_an_unknown_package_is_refused_in_one_sentence(source, tmp_path):
    done = toshi("harvest", source.url, "--package", "nosuch", "--dataset", "x", "--data-dir", str(tmp_path / "h"))
    assert done.returncode == 1
    assert done.stderr.startswith(f"toshi: {source.url} has no package 'nosuch'") and "Traceback" not in done.stderr


def test_an_unreachable_catalogue_is_refused_in_one_sentence(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    done = toshi("harvest", dead, "--package", "aed", "--dataset", "x", "--data-dir", str(tmp_path / "h"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"toshi: cannot fetch the package at {dead}/api/3/action/package_show")


# -- from a DCAT catalogue (another Toshi's /catalog, read with rdflib) ----------------------------

def test_a_dataset_of_a_dcat_catalogue_in_turtle_becomes_entities_here(source, tmp_path):
    here, iri = str(tmp_path / "here"), f"{source.url}/catalogue/datasets/aed"
    done = toshi("harvest", source.url + "/catalog.ttl", "--dcat", "--package", iri, "--dataset", "aed-dcat",
                 "--data-dir", here)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["written"] is True and report["changes"]["created"] == 5
    assert report["source"] == {"catalogue": source.url + "/catalog.ttl", "dataset": iri,
                                "distribution": f"{source.url}/catalogue/datasets/aed.csv"}


def test_a_dcat_dataset_is_found_by_its_identifier_in_json_ld(source, tmp_path):
    import httpx

    identifier = httpx.get(f"{source.url}/api/3/action/package_show", params={"id": "aed"}).json()["result"]["id"]
    done = toshi("harvest", source.url + "/catalog", "--dcat", "--package", identifier, "--dataset", "aed-dcat",
                 "--dry-run", "--data-dir", str(tmp_path / "here"))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["valid"] is True and report["rows"] == 5 and report["written"] is False
    assert report["source"]["dataset"] == f"{source.url}/catalogue/datasets/aed"


def test_a_dcat_catalogue_without_the_dataset_is_refused_in_one_sentence(source, tmp_path):
    done = toshi("harvest", source.url + "/catalog.ttl", "--dcat", "--package", "nosuch", "--dataset", "x",
                 "--data-dir", str(tmp_path / "h"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"toshi: the DCAT catalogue {source.url}/catalog.ttl has no dataset 'nosuch'")


def test_a_document_that_is_not_rdf_is_refused_in_one_sentence(source, tmp_path):
    done = toshi("harvest", source.url + "/catalogue/datasets/aed.csv", "--dcat", "--package", "aed", "--dataset", "x",
                 "--data-dir", str(tmp_path / "h"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"toshi: {source.url}/catalogue/datasets/aed.csv is not a DCAT catalogue")
