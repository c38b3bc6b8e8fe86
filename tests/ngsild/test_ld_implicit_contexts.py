"""ImplicitlyCreated @contexts (ETSI GS CIM 009 v1.8 clause 5.13): an inline @context that a request
carries (an object, or an array holding one) is hosted by the broker and listed under /jsonldContexts
with kind ImplicitlyCreated, whatever the request; a @context given by URL is not."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.config import Settings

ENTITIES = "/ngsi-ld/v1/entities"
CONTEXTS = "/ngsi-ld/v1/jsonldContexts"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
LD = {"Content-Type": "application/ld+json"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # the @context registry is the same code on every backend: SQLite alone
    settings = Settings(data_dir=str(tmp_path_factory.mktemp("implicit")))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def implicit(client) -> dict[str, object]:
    """Each ImplicitlyCreated @context: its URL -> the @context it hosts."""
    found = {}
    for url in client.get(CONTEXTS, params={"kind": "ImplicitlyCreated"}).json():
        served = client.get(CONTEXTS + "/" + url.rsplit("/", 1)[1])
        assert served.status_code == 200, served.text
        found[url] = served.json()["@context"]
    return found


def test_an_entity_created_with_an_inline_context_hosts_it(client):
    context = {"shade": "https://example.org/a/shade"}
    entity = {"id": "urn:ngsi-ld:Tree:a", "type": "Tree", "shade": {"type": "Property", "value": 3},
              "@context": context}
    assert client.post(ENTITIES, json=entity, headers=LD).status_code == 201
    assert context in implicit(client).values()


def test_an_array_context_with_an_inline_part_is_hosted(client):
    context = [CORE, {"height": "https://example.org/b/height"}]
    entity = {"id": "urn:ngsi-ld:Tree:b", "type": "Tree", "height": {"type": "Property", "value": 9},
              "@context": context}
    assert client.post(ENTITIES, json=entity, headers=LD).status_code == 201
    assert context in implicit(client).values()


def test_the_same_inline_context_is_hosted_once(client):
    context = {"girth": "https://example.org/c/girth"}
    for n in (1, 2):
        entity = {"id": f"urn:ngsi-ld:Tree:c{n}", "type": "Tree", "girth": {"type": "Property", "value": n},
                  "@context": context}
        assert client.post(ENTITIES, json=entity, headers=LD).status_code == 201
    assert list(implicit(client).values()).count(context) == 1


def test_an_update_with_an_inline_context_hosts_it(client):
    assert client.post(ENTITIES, json={"id": "urn:ngsi-ld:Tree:d", "type": "Tree"}).status_code == 201
    context = {"leaves": "https://example.org/d/leaves"}
    patch = {"leaves": {"type": "Property", "value": 100}, "@context": context}
    assert client.patch(f"{ENTITIES}/urn:ngsi-ld:Tree:d", json=patch, headers=LD).status_code == 204
    assert context in implicit(client).values()


def test_a_batch_with_an_inline_context_hosts_it(client):
    context = {"bark": "https://example.org/e/bark"}
    batch = [{"id": "urn:ngsi-ld:Tree:e", "type": "Tree", "bark": {"type": "Property", "value": "rough"},
              "@context": context}]
    response = client.post("/ngsi-ld/v1/entityOperations/upsert", json=batch, headers=LD)
    assert response.status_code in (201, 204), response.text
    assert context in implicit(client).values()


def test_a_query_with_an_inline_context_hosts_it(client):
    context = {"crown": "https://example.org/f/crown"}
    body = {"type": "Query", "entities": [{"type": "Tree"}], "@context": context}
    assert client.post("/ngsi-ld/v1/entityOperations/query", json=body, headers=LD).status_code == 200
    assert context in implicit(client).values()


def test_the_answer_links_the_implicit_context(client):
    context = {"root": "https://example.org/g/root"}
    entity = {"id": "urn:ngsi-ld:Tree:g", "type": "Tree", "root": {"type": "Property", "value": 1},
              "@context": context}
    assert client.post(ENTITIES, json=entity, headers=LD).status_code == 201
    [url] = [u for u, c in implicit(client).items() if c == context]
    response = client.get(f"{ENTITIES}/urn:ngsi-ld:Tree:g", headers={"Link": f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"'})
    assert response.status_code == 200 and "root" in response.json()


def test_a_context_by_url_creates_no_implicit_one(client):
    before = implicit(client)
    entity = {"id": "urn:ngsi-ld:Tree:h", "type": "Tree", "@context": CORE}
    assert client.post(ENTITIES, json=entity, headers=LD).status_code == 201
    assert implicit(client) == before


def test_an_invalid_inline_context_is_bad_request_and_hosts_nothing(client):
    before = implicit(client)
    entity = {"id": "urn:ngsi-ld:Tree:i", "type": "Tree", "@context": {"bad": 42}}
    response = client.post(ENTITIES, json=entity, headers=LD)
    assert response.status_code == 400
    assert implicit(client) == before


def test_an_implicit_context_is_listed_with_its_kind(client):
    details = client.get(CONTEXTS, params={"details": "true", "kind": "ImplicitlyCreated"}).json()
    assert details and all(d["kind"] == "ImplicitlyCreated" for d in details)
