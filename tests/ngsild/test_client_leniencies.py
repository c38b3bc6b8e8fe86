"""What widely used clients send where the spec leaves room (docs/ngsi-ld.md, "Leniencies")."""

from __future__ import annotations

ENTITIES = "/ngsi-ld/v1/entities"
LD = {"Content-Type": "application/ld+json"}


def beacon(n: int) -> dict:
    return {"id": f"urn:ngsi-ld:Beacon:{n}", "type": "Beacon", "battery": {"type": "Property", "value": n}}


def test_options_count_is_count_true(client):
    for n in range(3):
        client.post(ENTITIES, json=beacon(n))
    response = client.get(ENTITIES, params={"type": "Beacon", "options": "count", "limit": 1})
    assert response.status_code == 200
    assert response.headers["NGSILD-Results-Count"] == "3"
    assert len(response.json()) == 1


def test_options_count_allows_limit_zero(client):
    client.post(ENTITIES, json=beacon(1))
    response = client.get(ENTITIES, params={"type": "Beacon", "options": "count,keyValues", "limit": 0})
    assert response.status_code == 200
    assert response.json() == [] and response.headers["NGSILD-Results-Count"] == "1"


def test_options_count_on_a_post_query(client):
    client.post(ENTITIES, json=beacon(1))
    response = client.post("/ngsi-ld/v1/entityOperations/query", params={"options": "count"},
                           json={"type": "Query", "entities": [{"type": "Beacon"}]})
    assert response.status_code == 200 and response.headers["NGSILD-Results-Count"] == "1"


def test_batch_delete_array_of_ids_as_ld_json_needs_no_context(client):
    client.post(ENTITIES, json=beacon(1))
    response = client.post("/ngsi-ld/v1/entityOperations/delete", content=b'["urn:ngsi-ld:Beacon:1"]', headers=LD)
    assert response.status_code == 204
    assert client.get(f"{ENTITIES}/urn:ngsi-ld:Beacon:1").status_code == 404


def test_an_ld_json_entity_still_needs_its_context(client):
    response = client.post("/ngsi-ld/v1/entityOperations/create", json=[beacon(1)], headers=LD)
    assert response.status_code == 400
    assert response.json()["type"].endswith("BadRequestData")


def test_subscription_name_is_the_pre_1_4_subscription_name(client):
    subscription = {"type": "Subscription", "name": "low batteries", "entities": [{"type": "Beacon"}],
                    "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}}}
    created = client.post("/ngsi-ld/v1/subscriptions", json=subscription)
    assert created.status_code == 201, created.text
    stored = client.get(created.headers["location"]).json()
    assert stored["subscriptionName"] == "low batteries"
