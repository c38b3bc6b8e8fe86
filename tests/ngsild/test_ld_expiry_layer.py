"""The read path's expiry layer (toshi/core/expiry.py ExpiryFilter): an attribute instance past its own
`expiresAt` (v1.9.1 clause 4.22), or an entity past its `expiresAt`, is invisible at once to every
outlet — q, NGSI-v2, the temporal API's entity filters, subscriptions — not only once the sweeper has
removed it. The sweeper is held back here (it runs only when a test calls `sweep_once`), so each test
reads the state between the instant of expiry and the removal."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import BACKENDS, Receiver, module_settings, wait_until

from toshi.app import create_app
from toshi.core.times import in_seconds, instant_key, now_iso
from toshi.ngsild import transient

ENTITIES = "/ngsi-ld/v1/entities"
TEMPORAL = "/ngsi-ld/v1/temporal/entities"
OBSERVED = "2020-08-01T10:00:00Z"


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    settings = module_settings(request, tmp_path_factory, "expiry-layer")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transient, "SWEEP_EVERY", 10**6)  # the background sweep runs once, at start
        with TestClient(create_app(settings)) as test_client:
            yield test_client


@pytest.fixture(scope="module")
def receiver(client):
    """A receiver of each backend's own (its subscriptions' paths start afresh)."""
    listening = Receiver()
    yield listening
    listening.close()


def beacon(client, n: int, *, expires: str | None = None, entity_expires: str | None = None) -> str:
    """Beacon n with `battery` 80 and `signal` -60; `signal` expires at `expires`, the entity at
    `entity_expires` (None: never)."""
    entity_id = f"urn:ngsi-ld:Beacon:expiry-{n}"
    client.delete(f"{ENTITIES}/{entity_id}")
    signal = {"type": "Property", "value": -60, "observedAt": OBSERVED}
    if expires:
        signal["expiresAt"] = expires
    body = {"id": entity_id, "type": "Beacon", "signal": signal,
            "battery": {"type": "Property", "value": 80, "observedAt": OBSERVED}}
    if entity_expires:
        body["expiresAt"] = entity_expires
    created = client.post(ENTITIES, json=body)
    assert created.status_code == 201, created.text
    return entity_id


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def sweep(client) -> int:
    return client.portal.call(client.app.state.ngsild.transients.sweep_once)


# -- transient attributes ---------------------------------------------------------------------------

def test_q_does_not_match_an_expired_attribute(client):
    entity_id = beacon(client, 1, expires=in_seconds(-1))
    assert entity_id not in ids(client.get(ENTITIES, params={"type": "Beacon", "q": "signal==-60"}))


def test_q_in_a_post_query_does_not_match_an_expired_attribute(client):
    entity_id = beacon(client, 2, expires=in_seconds(-1))
    body = {"type": "Query", "entities": [{"type": "Beacon"}], "q": "signal==-60"}
    assert entity_id not in ids(client.post("/ngsi-ld/v1/entityOperations/query", json=body))


def test_q_still_matches_an_attribute_before_its_expiry(client):
    entity_id = beacon(client, 3, expires=in_seconds(3600))
    assert entity_id in ids(client.get(ENTITIES, params={"type": "Beacon", "q": "signal==-60"}))


def test_ngsi_v2_retrieve_leaves_out_an_expired_attribute(client):
    entity_id = beacon(client, 4, expires=in_seconds(-1))
    found = client.get(f"/v2/entities/{entity_id}")
    assert found.status_code == 200 and "signal" not in found.json() and found.json()["battery"]["value"] == 80


def test_ngsi_v2_query_leaves_out_an_expired_attribute(client):
    entity_id = beacon(client, 5, expires=in_seconds(-1))
    [found] = [e for e in client.get("/v2/entities", params={"type": "Beacon"}).json() if e["id"] == entity_id]
    assert "signal" not in found


def test_ngsi_v2_q_does_not_match_an_expired_attribute(client):
    entity_id = beacon(client, 6, expires=in_seconds(-1))
    assert entity_id not in ids(client.get("/v2/entities", params={"type": "Beacon", "q": "signal==-60"}))


def test_temporal_retrieve_answers_as_after_the_sweepers_removal(client):
    """The temporal API keeps an attribute's past instances as history (as after any removal): between
    the expiry and the sweep it answers what it answers after the sweep."""
    entity_id = beacon(client, 7, expires=in_seconds(-1))
    before_sweep = client.get(f"{TEMPORAL}/{entity_id}").json()
    assert sweep(client) >= 1
    assert client.get(f"{TEMPORAL}/{entity_id}").json() == before_sweep


# -- transient entities -----------------------------------------------------------------------------

def test_ngsi_v2_retrieve_of_an_expired_entity_is_not_found(client):
    entity_id = beacon(client, 8, entity_expires=in_seconds(-1))
    assert client.get(f"/v2/entities/{entity_id}").status_code == 404


def test_ngsi_v2_query_leaves_out_an_expired_entity(client):
    entity_id = beacon(client, 9, entity_expires=in_seconds(-1))
    assert entity_id not in ids(client.get("/v2/entities", params={"type": "Beacon"}))


def test_a_temporal_query_leaves_out_an_expired_entity(client):
    entity_id = beacon(client, 10, entity_expires=in_seconds(-1))
    assert entity_id not in ids(client.get(TEMPORAL, params={"type": "Beacon"}))


# -- subscriptions ----------------------------------------------------------------------------------

def subscribe(client, receiver, n: int, entity_id: str, **extra) -> None:
    body = {"id": f"urn:ngsi-ld:Subscription:expiry-{n}", "type": "Subscription",
            "entities": [{"id": entity_id, "type": "Beacon"}],
            "notification": {"endpoint": {"uri": f"{receiver.url}/{n}", "accept": "application/json"}}, **extra}
    created = client.post("/ngsi-ld/v1/subscriptions", json=body)
    assert created.status_code == 201, created.text


def notified(receiver, n: int) -> list[dict]:
    """The entities notified so far to subscription n."""
    return [entity for r in list(receiver.requests) if r["path"] == f"/notify/{n}" for entity in r["body"]["data"]]


def wait_notified(receiver, n: int, count: int) -> list[dict]:
    assert wait_until(lambda: len(notified(receiver, n)) >= count)
    return notified(receiver, n)


def test_a_notification_leaves_out_an_attribute_expired_when_the_change_was_made(client, receiver):
    entity_id = beacon(client, 11, expires=in_seconds(-1))
    subscribe(client, receiver, 11, entity_id)
    assert client.patch(f"{ENTITIES}/{entity_id}/attrs", json={"battery": 70}).status_code == 204
    [entity] = wait_notified(receiver, 11, 1)
    assert entity["battery"]["value"] == 70 and "signal" not in entity


def test_a_subscription_q_does_not_match_an_expired_attribute(client, receiver):
    """The change to `battery` while `signal` has expired does not match q=signal==-60; the later change
    that gives `signal` a permanent -60 does (one notification, of that change)."""
    entity_id = beacon(client, 12, expires=in_seconds(-1))
    subscribe(client, receiver, 12, entity_id, q="signal==-60")
    assert client.patch(f"{ENTITIES}/{entity_id}/attrs", json={"battery": 70}).status_code == 204
    assert client.patch(f"{ENTITIES}/{entity_id}/attrs", json={"battery": 60, "signal": -60}).status_code == 204
    [entity] = wait_notified(receiver, 12, 1)
    assert entity["battery"]["value"] == 60


def test_the_sweepers_removal_of_an_attribute_is_notified_as_a_deletion(client, receiver):
    """The state before the sweep is judged at its own instant, when `signal` had not expired yet: the
    removal is an attribute deletion the subscriber sees."""
    expires = in_seconds(0.2)
    entity_id = beacon(client, 13, expires=expires)
    subscribe(client, receiver, 13, entity_id, notificationTrigger=["attributeDeleted"])
    assert wait_until(lambda: instant_key(now_iso()) > instant_key(expires))  # the known instant has passed
    assert sweep(client) >= 1
    [entity] = wait_notified(receiver, 13, 1)
    assert entity["id"] == entity_id and entity["signal"]["value"] == "urn:ngsi-ld:null"  # shown as deleted


def test_the_sweepers_deletion_of_an_expired_entity_is_notified(client, receiver):
    expires = in_seconds(0.2)
    entity_id = beacon(client, 14, entity_expires=expires)
    subscribe(client, receiver, 14, entity_id, notificationTrigger=["entityDeleted"])
    assert wait_until(lambda: instant_key(now_iso()) > instant_key(expires))  # the known instant has passed
    assert sweep(client) >= 1
    [entity] = wait_notified(receiver, 14, 1)
    assert entity["id"] == entity_id


# -- a tenant holding transient attributes only (queries reading no attribute page in SQL) ---------

ATTRIBUTES_ONLY = {"NGSILD-Tenant": "transient-attributes-only"}


def lone_beacon(client) -> str:
    entity_id = "urn:ngsi-ld:Beacon:expiry-lone"
    body = {"id": entity_id, "type": "Beacon", "battery": {"type": "Property", "value": 80},
            "signal": {"type": "Property", "value": -60, "expiresAt": in_seconds(-1)}}
    client.delete(f"{ENTITIES}/{entity_id}", headers=ATTRIBUTES_ONLY)
    assert client.post(ENTITIES, json=body, headers=ATTRIBUTES_ONLY).status_code == 201
    return entity_id


def test_a_query_reading_no_attribute_leaves_out_an_expired_attribute(client):
    entity_id = lone_beacon(client)
    found = client.get(ENTITIES, params={"type": "Beacon"}, headers=ATTRIBUTES_ONLY).json()
    assert [sorted(e) for e in found if e["id"] == entity_id] == [["battery", "id", "type"]]


def test_attrs_does_not_select_an_entity_by_an_expired_attribute(client):
    entity_id = lone_beacon(client)
    found = client.get(ENTITIES, params={"type": "Beacon", "attrs": "signal"}, headers=ATTRIBUTES_ONLY)
    assert entity_id not in ids(found)


def test_q_does_not_match_an_expired_attribute_where_only_attributes_are_transient(client):
    entity_id = lone_beacon(client)
    found = client.get(ENTITIES, params={"type": "Beacon", "q": "signal==-60"}, headers=ATTRIBUTES_ONLY)
    assert entity_id not in ids(found)
