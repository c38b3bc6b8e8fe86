"""/ngsi-ld/v1/subscriptions through the real app: create, query, retrieve, update, delete."""

from __future__ import annotations

import asyncio

import pytest
from support import CORE_CONTEXT, LD, error_type

URL = "/ngsi-ld/v1/subscriptions"
RECEIVER = "http://127.0.0.1:9/notify"
EXAMPLE_CONTEXT = {"@context": {"ex": "https://example.org/terms/", "Shelter": "ex:Shelter",
                                "occupancy": "ex:occupancy"}}


def subscription(n: int | None = 1, **members) -> dict:
    sub = {"type": "Subscription", "entities": [{"type": "Shelter"}], "watchedAttributes": ["occupancy"],
           "notification": {"endpoint": {"uri": RECEIVER, "accept": "application/json"}}}
    if n is not None:
        sub["id"] = f"urn:ngsi-ld:Subscription:{n:03d}"
    sub.update(members)
    return {key: value for key, value in sub.items() if value is not None}


def create(client, sub: dict, headers=None):
    response = client.post(URL, json=sub, headers=headers)
    assert response.status_code == 201, response.text
    return response


def get(client, n: int = 1, **kwargs):
    return client.get(f"{URL}/urn:ngsi-ld:Subscription:{n:03d}", **kwargs)


# --- create and retrieve -------------------------------------------------------------------------------


def test_create_and_retrieve(client):
    response = create(client, subscription(1, q="occupancy>10", throttling=5))
    assert response.headers["location"] == f"{URL}/urn:ngsi-ld:Subscription:001"
    got = get(client)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/json")
    assert "json-ld#context" in got.headers["link"]
    body = got.json()
    assert body["id"] == "urn:ngsi-ld:Subscription:001" and body["type"] == "Subscription"
    assert body["entities"] == [{"type": "Shelter"}] and body["watchedAttributes"] == ["occupancy"]
    assert body["q"] == "occupancy>10" and body["throttling"] == 5
    assert body["notificationTrigger"] == ["attributeCreated", "attributeUpdated"]
    assert body["isActive"] is True and body["status"] == "active"
    assert body["notification"]["format"] == "normalized"
    assert body["notification"]["endpoint"] == {"uri": RECEIVER, "accept": "application/json"}
    assert body["notification"]["timesSent"] == 0
    assert "createdAt" not in body and "tenant" not in body


def test_generated_id(client):
    response = create(client, subscription(None))
    location = response.headers["location"]
    assert location.startswith(f"{URL}/urn:ngsi-ld:Subscription:")
    assert client.get(location).json()["id"] == location.rsplit("/", 1)[1]


def test_sys_attrs_option(client):
    create(client, subscription(1))
    body = get(client, params={"options": "sysAttrs"}).json()
    assert body["createdAt"] == body["modifiedAt"]
    assert get(client, params={"options": "keyValues"}).status_code == 400


def test_duplicate_id_is_already_exists(client):
    create(client, subscription(1))
    again = client.post(URL, json=subscription(1))
    assert again.status_code == 409 and error_type(again) == "AlreadyExists"


def test_ld_json_with_context_in_the_body(client):
    sub = {**subscription(1), "@context": [EXAMPLE_CONTEXT["@context"], CORE_CONTEXT]}
    create(client, sub, headers=LD)
    plain = get(client).json()
    assert plain["entities"] == [{"type": "https://example.org/terms/Shelter"}]
    assert plain["watchedAttributes"] == ["https://example.org/terms/occupancy"]
    ld = get(client, headers={"Accept": "application/ld+json"})
    assert ld.headers["content-type"].startswith("application/ld+json")
    assert ld.json()["@context"] == CORE_CONTEXT


def test_link_header_context(client):
    hosted = client.post("/ngsi-ld/v1/jsonldContexts", json=EXAMPLE_CONTEXT)
    assert hosted.status_code == 201, hosted.text
    url = hosted.headers["location"]
    link = {"Link": f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}
    create(client, subscription(1), headers=link)
    assert get(client).json()["watchedAttributes"] == ["https://example.org/terms/occupancy"]
    with_link = get(client, headers=link)
    assert with_link.json()["watchedAttributes"] == ["occupancy"]
    assert with_link.json()["jsonldContext"] == url
    assert url in with_link.headers["link"]


@pytest.mark.parametrize("sub", [
    {"type": "Subscription"},
    subscription(1, type="Entity"),
    subscription(1, id="not a uri"),
    subscription(1, entities=[{"id": "urn:ngsi-ld:Shelter:1"}]),
    subscription(1, watchedAttributes=[]),
    subscription(1, notificationTrigger=["sometimes"]),
    subscription(1, q="occupancy>>"),
    subscription(1, geoQ={"georel": "near", "geometry": "Point"}),
    subscription(1, scopeQ="no-slash"),
    subscription(1, expiresAt="2001-01-01T00:00:00Z"),
    subscription(1, throttling=0),
    subscription(1, timeInterval=10),
    subscription(1, notification={"endpoint": {"uri": "ftp://x/y"}}),
    subscription(1, notification={"endpoint": {"uri": RECEIVER, "accept": "text/csv"}}),
    subscription(1, notification={"endpoint": {"uri": RECEIVER}, "format": "xml"}),
    subscription(1, jsonldContext="not a uri"),
    {},
    [],
])
def test_invalid_subscription_is_bad_request_data(client, sub):
    response = client.post(URL, json=sub)
    assert response.status_code == 400, response.text
    assert error_type(response) == "BadRequestData"
    assert get(client).status_code == 404


def test_malformed_json_is_invalid_request(client):
    response = client.post(URL, content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and error_type(response) == "InvalidRequest"


def test_wrong_content_type(client):
    response = client.post(URL, content=b"{}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_unsupported_member_is_operation_not_supported(client):
    response = client.post(URL, json=subscription(1, temporalQ={"timerel": "after"}))
    assert response.status_code == 422 and error_type(response) == "OperationNotSupported"


def test_unavailable_jsonld_context(client):
    response = client.post(URL, json=subscription(1, jsonldContext="http://127.0.0.1:9/context.jsonld"))
    assert response.status_code == 503 and error_type(response) == "LdContextNotAvailable"
    assert get(client).status_code == 404


def test_retrieve_errors(client):
    missing = get(client, 42)
    assert missing.status_code == 404 and error_type(missing) == "ResourceNotFound"
    invalid = client.get(f"{URL}/not-a-uri")
    assert invalid.status_code == 400 and error_type(invalid) == "BadRequestData"
    assert get(client, headers={"Accept": "text/html"}).status_code == 406


# --- query ----------------------------------------------------------------------------------------------


def test_query_with_paging_and_count(client):
    for n in range(1, 8):
        create(client, subscription(n))
    page = client.get(URL, params={"limit": 3, "offset": 2, "count": "true"})
    assert page.status_code == 200
    assert [s["id"] for s in page.json()] == [f"urn:ngsi-ld:Subscription:{n:03d}" for n in (3, 4, 5)]
    assert page.headers["NGSILD-Results-Count"] == "7"
    assert "NGSILD-Results-Count" not in client.get(URL).headers
    assert len(client.get(URL).json()) == 7
    only_count = client.get(URL, params={"limit": 0, "count": "true"})
    assert only_count.json() == [] and only_count.headers["NGSILD-Results-Count"] == "7"


def test_query_pages_link_to_the_previous_and_next_page(client):
    """Clause 6.3.10: a page that is not the first links rel="prev", one with more after it rel="next"."""
    for n in range(1, 6):
        create(client, subscription(n))
    links = client.get(URL, params={"limit": 2, "offset": 2}).headers.get_list("link")
    assert f'<{URL}?limit=2&offset=0>;rel="prev";type="application/json", ' \
           f'<{URL}?limit=2&offset=4>;rel="next";type="application/json"' in links
    last = client.get(URL, params={"limit": 2, "offset": 4}).headers.get_list("link")
    assert not any('rel="next"' in link for link in last) and any('rel="prev"' in link for link in last)
    assert not any('rel="prev"' in link or 'rel="next"' in link for link in client.get(URL).headers.get_list("link"))


def test_query_limits(client):
    assert client.get(URL, params={"limit": 0}).status_code == 400
    assert client.get(URL, params={"limit": -1}).status_code == 400
    assert client.get(URL, params={"limit": 100000}).status_code == 403
    assert client.get(URL).json() == []


def test_query_ld_json_carries_context_per_item(client):
    create(client, subscription(1))
    body = client.get(URL, headers={"Accept": "application/ld+json"}).json()
    assert body[0]["@context"] == CORE_CONTEXT


# --- tenants -------------------------------------------------------------------------------------------


def test_tenants_are_isolated(client):
    toyono = {"NGSILD-Tenant": "toyono"}
    create(client, subscription(1), headers=toyono)
    assert get(client).status_code == 404
    assert get(client, headers=toyono).status_code == 200
    assert [s["id"] for s in client.get(URL, headers=toyono).json()] == ["urn:ngsi-ld:Subscription:001"]
    assert client.get(URL).json() == []
    create(client, subscription(1))  # the same id in another tenant
    unknown = client.get(URL, headers={"NGSILD-Tenant": "nowhere"})
    assert unknown.status_code == 404 and error_type(unknown) == "NonexistentTenant"
    assert client.post(URL, json=subscription(2), headers={"NGSILD-Tenant": "bad tenant"}).status_code == 400
    assert client.delete(f"{URL}/urn:ngsi-ld:Subscription:001", headers=toyono).status_code == 204
    assert get(client).status_code == 200


# --- update ---------------------------------------------------------------------------------------------


def patch(client, fragment, n: int = 1, **kwargs):
    return client.patch(f"{URL}/urn:ngsi-ld:Subscription:{n:03d}", json=fragment, **kwargs)


def test_update(client):
    create(client, subscription(1, q="occupancy>1"))
    response = patch(client, {"watchedAttributes": ["name"], "q": None, "description": "renamed",
                              "notification": {"format": "keyValues"}})
    assert response.status_code == 204, response.text
    body = get(client, params={"options": "sysAttrs"}).json()
    assert body["watchedAttributes"] == ["name"] and body["description"] == "renamed" and "q" not in body
    assert body["notification"]["format"] == "keyValues"
    assert body["notification"]["endpoint"]["uri"] == RECEIVER
    assert body["modifiedAt"] >= body["createdAt"]


def test_update_is_active(client):
    create(client, subscription(1))
    assert patch(client, {"isActive": False}).status_code == 204
    assert get(client).json()["status"] == "paused"
    assert patch(client, {"isActive": True}).status_code == 204
    assert get(client).json()["status"] == "active"


def test_update_with_merge_patch_content_type(client):
    create(client, subscription(1))
    response = client.patch(f"{URL}/urn:ngsi-ld:Subscription:001", content=b'{"throttling": 3}',
                            headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 204
    assert get(client).json()["throttling"] == 3


@pytest.mark.parametrize("fragment", [
    {"notification": {"endpoint": None}},
    {"notification": None},
    {"type": "Entity"},
    {"throttling": "fast"},
    {"entities": [{"idPattern": "x"}]},
    {"timeInterval": 10},
    {"id": "urn:ngsi-ld:Subscription:999"},
    ["not", "an", "object"],
])
def test_invalid_update_is_bad_request_data(client, fragment):
    create(client, subscription(1))
    response = patch(client, fragment)
    assert response.status_code == 400, response.text
    assert error_type(response) == "BadRequestData"
    assert get(client).json()["notification"]["endpoint"]["uri"] == RECEIVER


def test_update_errors(client):
    missing = patch(client, {"throttling": 1}, n=42)
    assert missing.status_code == 404 and error_type(missing) == "ResourceNotFound"
    assert client.patch(f"{URL}/not-a-uri", json={"throttling": 1}).status_code == 400


# --- delete ---------------------------------------------------------------------------------------------


def test_delete(client):
    create(client, subscription(1))
    assert client.delete(f"{URL}/urn:ngsi-ld:Subscription:001").status_code == 204
    assert get(client).status_code == 404
    again = client.delete(f"{URL}/urn:ngsi-ld:Subscription:001")
    assert again.status_code == 404 and error_type(again) == "ResourceNotFound"
    assert client.delete(f"{URL}/not-a-uri").status_code == 400


def test_method_not_allowed(client):
    assert client.put(f"{URL}/urn:ngsi-ld:Subscription:001", json={}).status_code == 405


# --- the notifier hook ----------------------------------------------------------------------------------


def test_notifier_is_told_of_every_change(client, monkeypatch):
    calls = []

    async def changed(tenant, subscription_id):
        calls.append((tenant, subscription_id))

    monkeypatch.setattr(client.app.state.toshi.notifier, "subscription_changed", changed)
    toyono = {"NGSILD-Tenant": "toyono"}
    create(client, subscription(1), headers=toyono)
    patch(client, {"throttling": 2}, headers=toyono)
    client.delete(f"{URL}/urn:ngsi-ld:Subscription:001", headers=toyono)
    client.post(URL, json=subscription(1, throttling=-1))
    assert calls == [("toyono", "urn:ngsi-ld:Subscription:001")] * 3


def test_works_without_a_notifier(client):
    services = client.app.state.toshi

    class WithoutNotifier:
        def __getattr__(self, name):
            if name == "notifier":
                raise AttributeError(name)
            return getattr(services, name)

    client.app.state.toshi = WithoutNotifier()
    try:
        create(client, subscription(1))
        assert patch(client, {"throttling": 2}).status_code == 204
        assert client.delete(f"{URL}/urn:ngsi-ld:Subscription:001").status_code == 204
    finally:
        client.app.state.toshi = services


# --- end to end, through the notifier ---------------------------------------------------------------------


@pytest.fixture
def receiver():
    from support import Receiver

    r = Receiver()
    yield r
    r.close()


def test_notifications_show_changes_and_deletions(client, receiver):
    shelter = {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "occupancy": {"type": "Property", "value": 10},
               "name": {"type": "Property", "value": "Toyono Hall"}}
    assert client.post("/ngsi-ld/v1/entities", json=shelter).status_code == 201
    create(client, subscription(1, watchedAttributes=None, q="occupancy<100",
                                notificationTrigger=["attributeUpdated", "attributeDeleted", "entityDeleted"],
                                notification={"endpoint": {"uri": receiver.url}, "showChanges": True}))
    entity_url = "/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:1"
    assert client.patch(f"{entity_url}/attrs/occupancy", json={"value": 11}).status_code == 204
    assert client.patch(f"{entity_url}/attrs/occupancy", json={"value": 500}).status_code == 204  # q fails
    assert client.patch(f"{entity_url}/attrs/occupancy", json={"value": 50}).status_code == 204
    assert client.delete(f"{entity_url}/attrs/name").status_code == 204
    assert client.delete(entity_url).status_code == 204
    bodies = [r["body"] for r in receiver.wait_for(4)]
    assert len(bodies) == 4, bodies
    assert all(b["subscriptionId"] == "urn:ngsi-ld:Subscription:001" for b in bodies)
    entities = [b["data"][0] for b in bodies]  # deliveries may overtake each other
    [gone] = [e for e in entities if "deletedAt" in e]
    assert "name" not in gone  # it was deleted before the entity
    [attribute_deleted] = [e for e in entities if e is not gone and e["name"]["value"] == "urn:ngsi-ld:null"]
    updates = sorted((e["occupancy"] for e in entities if e is not gone and e["name"]["value"] == "Toyono Hall"),
                     key=lambda o: o["value"])
    assert updates == [{"type": "Property", "value": 11, "previousValue": 10},
                       {"type": "Property", "value": 50, "previousValue": 500}]
    assert attribute_deleted["name"] == {"type": "Property", "value": "urn:ngsi-ld:null",
                                         "previousValue": "Toyono Hall"}
    assert gone["id"] == "urn:ngsi-ld:Shelter:1"
    assert gone["occupancy"] == {"type": "Property", "value": "urn:ngsi-ld:null", "previousValue": 50}


def test_key_values_notification_of_a_creation(client, receiver):
    create(client, subscription(1, notification={"endpoint": {"uri": receiver.url}, "format": "keyValues",
                                                 "attributes": ["occupancy"]}))
    shelter = {"id": "urn:ngsi-ld:Shelter:2", "type": "Shelter", "occupancy": {"type": "Property", "value": 3},
               "name": {"type": "Property", "value": "Minoh"}}
    assert client.post("/ngsi-ld/v1/entities", json=shelter).status_code == 201
    [request] = receiver.wait_for(1)
    assert request["body"]["data"] == [{"id": "urn:ngsi-ld:Shelter:2", "type": "Shelter", "occupancy": 3}]


# --- a subscription made with an inline or array @context (5.2.12 jsonldContext, 5.13 ImplicitlyCreated) --


def _inline_subscription(client) -> str:
    body = {**subscription(1), "@context": [EXAMPLE_CONTEXT["@context"], CORE_CONTEXT]}
    create(client, body, headers=LD)
    implicit = client.get("/ngsi-ld/v1/jsonldContexts", params={"kind": "ImplicitlyCreated"}).json()
    assert len(implicit) == 1
    return implicit[0]


def test_an_inline_context_is_shown_by_the_url_of_its_implicitly_created_context(client):
    url = _inline_subscription(client)
    assert get(client).json()["jsonldContext"] == url


def test_an_update_keeps_the_inline_context_itself(client):
    url = _inline_subscription(client)
    assert client.patch(f"{URL}/urn:ngsi-ld:Subscription:001", json={"description": "d"}).status_code == 204
    client.delete("/ngsi-ld/v1/jsonldContexts/" + url.rsplit("/", 1)[-1])
    doc = asyncio.run(client.app.state.toshi.store.subscriptions.get("", "urn:ngsi-ld:Subscription:001"))
    assert doc["jsonldContext"] == [EXAMPLE_CONTEXT["@context"], CORE_CONTEXT] and doc["contextUrl"] == url
