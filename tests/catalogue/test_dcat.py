"""The DCAT catalogue parses with rdflib, as JSON-LD and as Turtle, and says what DCAT-AP asks."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

ADMIN = "/catalogue/admin/datasets"


@pytest.fixture
def published(client, shelters_csv):
    assert client.post(f"{ADMIN}/shelters/import?confirm=true", content=shelters_csv(1)).status_code == 200
    client.patch(f"{ADMIN}/shelters", json={"frequency": "DAILY", "temporal_start": "2024-04-01"})
    assert client.post(f"{ADMIN}/shelters/open").status_code == 200
    return client


def parsed(client, path: str, fmt: str) -> Graph:
    r = client.get(path)
    assert r.status_code == 200
    return Graph().parse(data=r.content, format=fmt)


@pytest.mark.parametrize(("path", "fmt"), [("/catalog.jsonld", "json-ld"), ("/catalog.ttl", "turtle")])
def test_the_catalogue_parses_with_rdflib(published, path, fmt):
    graph = parsed(published, path, fmt)
    [dataset] = graph.subjects(RDF.type, DCAT.Dataset)
    assert (dataset, DCTERMS.title, Literal("指定緊急避難場所一覧", lang="ja")) in graph
    assert (dataset, DCTERMS.title, Literal("Designated emergency evacuation sites", lang="en")) in graph


def test_each_distribution_has_a_download_url_and_the_licence(published):
    graph = parsed(published, "/catalog.ttl", "turtle")
    downloads = {str(u) for u in graph.objects(None, DCAT.downloadURL)}
    assert downloads == {f"http://testserver/catalogue/datasets/shelters.{f}" for f in ("csv", "geojson", "jsonld")}
    for distribution in graph.subjects(RDF.type, DCAT.Distribution):
        assert (distribution, DCTERMS.license, URIRef("https://creativecommons.org/licenses/by/4.0/")) in graph


def test_the_standard_and_the_frequency_are_stated(published):
    graph = parsed(published, "/catalog.jsonld", "json-ld")
    [dataset] = graph.subjects(RDF.type, DCAT.Dataset)
    assert graph.value(dataset, DCTERMS.accrualPeriodicity) == \
        URIRef("http://publications.europa.eu/resource/authority/frequency/DAILY")
    standard = graph.value(dataset, DCTERMS.conformsTo)
    assert (standard, RDF.type, DCTERMS.Standard) in graph


def test_turtle_is_negotiated_at_catalog(published):
    r = published.get("/catalog", headers={"Accept": "text/turtle"})
    assert r.headers["content-type"].startswith("text/turtle")


def test_a_closed_dataset_is_not_in_the_catalogue(client):
    client.post(ADMIN, json={"name": "drafts", "type": "Draft", "attrs": ["name"]})
    graph = parsed(client, "/catalog.ttl", "turtle")
    assert list(graph.subjects(RDF.type, DCAT.Dataset)) == []
