"""@context handling through the real app: hosted contexts, Link headers, implicit contexts."""

from __future__ import annotations

from support import CORE_CONTEXT, LD

TOWN_CONTEXT = {"@context": {"Shelter": "https://toshi.example/ns/Shelter",
                             "capacity": "https://toshi.example/ns/capacity"}}


def link(url: str) -> dict:
    return {"Link": f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}


def test_hosted_context_used_through_link_header(client):
    created = client.post("/ngsi-ld/v1/jsonldContexts", json=TOWN_CONTEXT)
    assert created.status_code == 201
    url = created.headers["location"]
    entity = {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "capacity": {"type": "Property", "value": 80}}
    assert client.post("/ngsi-ld/v1/entities", json=entity, headers=link(url)).status_code == 201

    with_context = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:1", headers=link(url))
    assert with_context.json()["type"] == "Shelter" and "capacity" in with_context.json()
    assert url in with_context.headers["link"]
    core_only = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:1").json()
    assert core_only["type"] == "https://toshi.example/ns/Shelter"
    assert "https://toshi.example/ns/capacity" in core_only
    by_type = client.get("/ngsi-ld/v1/entities", params={"type": "Shelter", "q": "capacity>50"}, headers=link(url))
    assert [e["id"] for e in by_type.json()] == ["urn:ngsi-ld:Shelter:1"]
    listed = client.get("/ngsi-ld/v1/jsonldContexts").json()
    assert url in listed


def test_inline_context_gets_a_hosted_link(client):
    context = [TOWN_CONTEXT["@context"], CORE_CONTEXT]
    entity = {"@context": context, "id": "urn:ngsi-ld:Shelter:2", "type": "Shelter",
              "capacity": {"type": "Property", "value": 10}}
    assert client.post("/ngsi-ld/v1/entities", json=entity, headers=LD).status_code == 201
    query = {"@context": context, "type": "Query", "entities": [{"type": "Shelter"}]}
    response = client.post("/ngsi-ld/v1/entityOperations/query", json=query, headers=LD)
    assert response.status_code == 200
    assert response.json()[0]["type"] == "Shelter"
    hosted = response.headers["link"].split(">")[0].lstrip("<")
    served = client.get(hosted.split("1026", 1)[-1] if "1026" in hosted else hosted)
    assert served.status_code == 200


def test_ld_accept_puts_context_in_body(client):
    entity = {"id": "urn:ngsi-ld:Shelter:3", "type": "Shelter"}
    client.post("/ngsi-ld/v1/entities", json=entity)
    response = client.get("/ngsi-ld/v1/entities", params={"type": "Shelter"},
                          headers={"Accept": "application/ld+json"})
    assert response.headers["content-type"].startswith("application/ld+json")
    assert all("@context" in e for e in response.json())
