"""/ngsi-ld/v1/csourceSubscriptions and their notifications (CIM 009 v1.8 clauses 5.11, 5.3.2)."""

from __future__ import annotations

import time

REGS = "/ngsi-ld/v1/csourceRegistrations"
SUBS = "/ngsi-ld/v1/csourceSubscriptions"


def registration(reg_id: str = "urn:x:1", **extra) -> dict:
    body = {"id": reg_id, "type": "ContextSourceRegistration",
            "information": [{"entities": [{"type": "Shelter"}], "propertyNames": ["occupancy"]}],
            "endpoint": "http://town-b.example.org"}
    body.update(extra)
    return body


def subscription(uri: str, **extra) -> dict:
    body = {"id": "urn:ngsi-ld:Subscription:cs1", "type": "Subscription", "entities": [{"type": "Shelter"}],
            "notification": {"endpoint": {"uri": uri}}}
    body.update(extra)
    return body


def test_create_answers_201_with_location(client):
    created = client.post(SUBS, json=subscription("http://127.0.0.1:9/n"))
    assert created.status_code == 201
    assert created.headers["Location"] == f"{SUBS}/urn:ngsi-ld:Subscription:cs1"


def test_retrieve_renders_status_and_is_active(client):
    client.post(SUBS, json=subscription("http://127.0.0.1:9/n"))
    got = client.get(f"{SUBS}/urn:ngsi-ld:Subscription:cs1").json()
    assert got == {"id": "urn:ngsi-ld:Subscription:cs1", "type": "Subscription",
                   "entities": [{"type": "Shelter"}], "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}},
                   "jsonldContext": got["jsonldContext"], "isActive": True, "status": "active"}


def test_csource_subscriptions_are_not_entity_subscriptions(client):
    client.post(SUBS, json=subscription("http://127.0.0.1:9/n"))
    assert client.get("/ngsi-ld/v1/subscriptions").json() == []
    assert client.get("/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:cs1").status_code == 404


def test_query_lists_them_with_count(client):
    client.post(SUBS, json=subscription("http://127.0.0.1:9/n"))
    listed = client.get(SUBS + "?count=true")
    assert [s["id"] for s in listed.json()] == ["urn:ngsi-ld:Subscription:cs1"]
    assert listed.headers["NGSILD-Results-Count"] == "1"


def test_needs_entities_or_watched_attributes(client):
    body = subscription("http://127.0.0.1:9/n")
    del body["entities"]
    response = client.post(SUBS, json=body)
    assert response.status_code == 400
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"


def test_notification_is_mandatory(client):
    body = subscription("http://127.0.0.1:9/n")
    del body["notification"]
    assert client.post(SUBS, json=body).status_code == 400


def test_time_interval_is_not_a_member(client):
    response = client.post(SUBS, json=subscription("http://127.0.0.1:9/n", timeInterval=10))
    assert response.status_code == 400 and "timeInterval" in response.json()["detail"]


def test_duplicate_is_409(client):
    client.post(SUBS, json=subscription("http://127.0.0.1:9/n"))
    again = client.post(SUBS, json=subscription("http://127.0.0.1:9/n"))
    assert again.status_code == 409
    assert again.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/AlreadyExists"


def test_patch_pauses_it(client):
    client.post(SUBS, json=subscription("http://127.0.0.1:9/n"))
    assert client.patch(f"{SUBS}/urn:ngsi-ld:Subscription:cs1", json={"isActive": False}).status_code == 204
    assert client.get(f"{SUBS}/urn:ngsi-ld:Subscription:cs1").json()["status"] == "paused"


def test_delete_then_404(client):
    client.post(SUBS, json=subscription("http://127.0.0.1:9/n"))
    assert client.delete(f"{SUBS}/urn:ngsi-ld:Subscription:cs1").status_code == 204
    assert client.get(f"{SUBS}/urn:ngsi-ld:Subscription:cs1").status_code == 404
    assert client.delete(f"{SUBS}/urn:ngsi-ld:Subscription:cs1").status_code == 404


def test_created_registration_is_notified_as_newly_matching(client, receiver):
    client.post(SUBS, json=subscription(receiver.url))
    client.post(REGS, json=registration())
    [sent] = receiver.wait_for(1)
    body = sent["body"]
    assert body["type"] == "Notification" and body["subscriptionId"] == "urn:ngsi-ld:Subscription:cs1"
    assert body["triggerReason"] == "newlyMatching"
    assert body["data"] == [{"id": "urn:x:1", "type": "ContextSourceRegistration",
                             "information": [{"entities": [{"type": "Shelter"}], "propertyNames": ["occupancy"]}],
                             "endpoint": "http://town-b.example.org", "mode": "inclusive",
                             "operations": ["federationOps"]}]


def test_updated_registration_is_notified_as_updated(client, receiver):
    client.post(REGS, json=registration())
    client.post(SUBS, json=subscription(receiver.url))
    client.patch(f"{REGS}/urn:x:1", json={"description": "now with capacity"})
    [sent] = receiver.wait_for(1)
    assert sent["body"]["triggerReason"] == "updated"
    assert sent["body"]["data"][0]["description"] == "now with capacity"


def test_deleted_registration_is_notified_as_no_longer_matching(client, receiver):
    client.post(REGS, json=registration())
    client.post(SUBS, json=subscription(receiver.url))
    client.delete(f"{REGS}/urn:x:1")
    [sent] = receiver.wait_for(1)
    assert sent["body"]["triggerReason"] == "noLongerMatching" and sent["body"]["data"][0]["id"] == "urn:x:1"


def test_update_out_of_the_subscription_is_no_longer_matching(client, receiver):
    client.post(REGS, json=registration())
    client.post(SUBS, json=subscription(receiver.url))
    client.patch(f"{REGS}/urn:x:1", json={"information": [{"entities": [{"type": "Road"}]}]})
    [sent] = receiver.wait_for(1)
    assert sent["body"]["triggerReason"] == "noLongerMatching"


def test_registrations_of_other_types_are_not_notified(client, receiver):
    client.post(SUBS, json=subscription(receiver.url))
    client.post(REGS, json=registration("urn:x:2", information=[{"entities": [{"type": "Road"}]}]))
    client.post(REGS, json=registration("urn:x:3"))
    sent = receiver.wait_for(1)
    assert [s["body"]["data"][0]["id"] for s in sent] == ["urn:x:3"]


def test_watched_attributes_select_registrations(client, receiver):
    body = {k: v for k, v in subscription(receiver.url).items() if k != "entities"}
    client.post(SUBS, json={**body, "watchedAttributes": ["capacity"]})
    client.post(REGS, json=registration("urn:x:2"))  # occupancy only
    client.post(REGS, json=registration("urn:x:3", information=[{"entities": [{"type": "Shelter"}],
                                                                 "propertyNames": ["capacity"]}]))
    sent = receiver.wait_for(1)
    assert [s["body"]["data"][0]["id"] for s in sent] == ["urn:x:3"]


def test_paused_subscription_is_not_notified(client, receiver):
    client.post(SUBS, json=subscription(receiver.url, isActive=False))
    client.post(REGS, json=registration("urn:x:2"))
    client.post(SUBS, json=subscription(receiver.url, id="urn:ngsi-ld:Subscription:cs2"))
    client.post(REGS, json=registration("urn:x:3"))
    sent = receiver.wait_for(1)
    assert [(s["body"]["subscriptionId"], s["body"]["data"][0]["id"]) for s in sent] == \
        [("urn:ngsi-ld:Subscription:cs2", "urn:x:3")]


def test_notification_carries_tenant_and_receiver_info(client, receiver):
    tenant = {"NGSILD-Tenant": "pref"}
    client.post(SUBS, json=subscription(receiver.url, notification={"endpoint": {
        "uri": receiver.url, "receiverInfo": [{"key": "X-Town", "value": "osaka"}]}}), headers=tenant)
    client.post(REGS, json=registration(), headers=tenant)
    [sent] = receiver.wait_for(1)
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert headers["ngsild-tenant"] == "pref" and headers["x-town"] == "osaka"


def test_other_tenants_registrations_are_not_notified(client, receiver):
    client.post(SUBS, json=subscription(receiver.url))
    client.post(REGS, json=registration("urn:x:2"), headers={"NGSILD-Tenant": "other"})
    client.post(REGS, json=registration("urn:x:3"))
    sent = receiver.wait_for(1)
    assert [s["body"]["data"][0]["id"] for s in sent] == ["urn:x:3"]


def test_failed_delivery_is_retried(fast_client):
    from support import Receiver

    failing = Receiver(fail_first=1)
    try:
        fast_client.post(SUBS, json=subscription(failing.url))
        fast_client.post(REGS, json=registration())
        [sent] = failing.wait_for(1)
        assert sent["body"]["triggerReason"] == "newlyMatching"
    finally:
        failing.close()


def test_statistics_are_kept(client, receiver):
    client.post(SUBS, json=subscription(receiver.url))
    client.post(REGS, json=registration())
    receiver.wait_for(1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = client.get(f"{SUBS}/urn:ngsi-ld:Subscription:cs1").json()["notification"]
        if "timesSent" in got:
            break
        time.sleep(0.1)
    assert got["timesSent"] == 1 and got["status"] == "ok" and "lastSuccess" in got
