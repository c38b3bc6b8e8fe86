"""Distributions are the live state, streamed page by page, with validators for conditional GETs."""

from __future__ import annotations

from catalogue_samples import read_csv

from toshi.catalogue import distributions

ADMIN = "/catalogue/admin/datasets"


def published(client, data: bytes) -> None:
    assert client.post(f"{ADMIN}/shelters/import?confirm=true", content=data).status_code == 200
    assert client.post(f"{ADMIN}/shelters/open").status_code == 200


def test_an_unchanged_distribution_answers_304(client, shelters_csv):
    published(client, shelters_csv(2))
    first = client.get("/catalogue/datasets/shelters.csv")
    again = client.get("/catalogue/datasets/shelters.csv", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_a_change_gives_a_new_etag(client, shelters_csv):
    published(client, shelters_csv(2))
    before = client.get("/catalogue/datasets/shelters.geojson").headers["etag"]
    site = "urn:ngsi-ld:EvacuationSite:273619:000"
    client.patch(f"/ngsi-ld/v1/entities/{site}/attrs", json={"maxCapacity": {"type": "Property", "value": 99}})
    after = client.get("/catalogue/datasets/shelters.geojson", headers={"If-None-Match": before})
    assert after.status_code == 200 and after.headers["etag"] != before


def test_last_modified_is_an_http_date(client, shelters_csv):
    published(client, shelters_csv(1))
    assert client.get("/catalogue/datasets/shelters.jsonld").headers["last-modified"].endswith(" GMT")


def test_a_large_dataset_streams_every_page(client, shelters_csv, monkeypatch):
    monkeypatch.setattr(distributions, "PAGE", 7)
    published(client, shelters_csv(30))
    table = read_csv(client.get("/catalogue/datasets/shelters.csv").content)
    assert [row[1] for row in table[1:]] == [f"{n:03d}" for n in range(30)]
    assert len(client.get("/catalogue/datasets/shelters.geojson").json()["features"]) == 30
    assert len(client.get("/catalogue/datasets/shelters.jsonld").json()) == 30


def test_ngsi_ld_distribution_is_normalized_with_the_core_context(client, shelters_csv):
    published(client, shelters_csv(1))
    [entity] = client.get("/catalogue/datasets/shelters.jsonld").json()
    assert entity["@context"].startswith("https://uri.etsi.org/ngsi-ld/")
    assert entity["maxCapacity"] == {"type": "Property", "value": 120}


def test_a_saved_query_selects_its_entities(client, shelters_csv):
    assert client.post(f"{ADMIN}/shelters/import?confirm=true", content=shelters_csv(3)).status_code == 200
    client.patch("/ngsi-ld/v1/entities/urn:ngsi-ld:EvacuationSite:273619:001/attrs",
                 json={"maxCapacity": {"type": "Property", "value": 500}})
    big = {"name": "big-sites", "type": "EvacuationSite", "q": "maxCapacity>=300", "attrs": ["name", "maxCapacity"]}
    assert client.post(ADMIN, json=big).status_code == 201
    assert client.post(f"{ADMIN}/big-sites/open").status_code == 200
    features = client.get("/catalogue/datasets/big-sites.geojson").json()["features"]
    assert [f["properties"]["maxCapacity"] for f in features] == [500]


def test_an_unknown_format_is_404(client, shelters_csv):
    published(client, shelters_csv(1))
    assert client.get("/catalogue/datasets/shelters.xlsx").status_code == 404
