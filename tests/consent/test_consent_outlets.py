"""A consent shows personal data in every outlet, and its revocation hides it in every outlet at
once: the next answer or notification after DELETE returns no longer carries it."""

from __future__ import annotations

import json

import pytest
from consent_town import LD, PURPOSE, patient
from support import Receiver

SECRET = "diagnosis-1"


def retrieve(town, who):
    return town.client.get(f"{LD}/entities/urn:ngsi-ld:Patient:1", headers=town.ld(who, PURPOSE)).text


def query(town, who):
    return town.client.get(f"{LD}/entities?type=Patient", headers=town.ld(who, PURPOSE)).text


def batch_query(town, who):
    body = {"type": "Query", "entities": [{"type": "Patient"}]}
    return town.client.post(f"{LD}/entityOperations/query", json=body, headers=town.ld(who, PURPOSE)).text


def geojson(town, who):
    return town.client.get(f"{LD}/entities?type=Patient",
                           headers={**town.ld(who, PURPOSE), "Accept": "application/geo+json"}).text


def temporal(town, who):
    return town.client.get(f"{LD}/temporal/entities/urn:ngsi-ld:Patient:1?timeproperty=modifiedAt",
                           headers=town.ld(who, PURPOSE)).text


def temporal_query(town, who):
    return town.client.get(f"{LD}/temporal/entities?type=Patient&timerel=after&timeAt=2000-01-01T00:00:00Z"
                           "&timeproperty=modifiedAt", headers=town.ld(who, PURPOSE)).text


def v2_retrieve(town, who):
    return town.client.get("/v2/entities/urn:ngsi-ld:Patient:1", headers=town.v2(who, PURPOSE)).text


def v2_list(town, who):
    return town.client.get("/v2/entities?type=Patient", headers=town.v2(who, PURPOSE)).text


def v2_op_query(town, who):
    return town.client.post("/v2/op/query", json={"entities": [{"idPattern": ".*"}]},
                            headers=town.v2(who, PURPOSE)).text


OUTLETS = [retrieve, query, batch_query, geojson, temporal, temporal_query, v2_retrieve, v2_list, v2_op_query]


@pytest.mark.parametrize("outlet", OUTLETS, ids=lambda f: f.__name__)
def test_consent_shows_and_revocation_hides(town, outlet):
    town.create(patient(1))
    provider, resident = town.provider(), town.resident(1)
    assert SECRET not in outlet(town, provider)
    consent = town.grant(resident, provider, ["sensitive"])
    assert SECRET in outlet(town, provider)
    town.revoke(resident, consent)
    answer = outlet(town, provider)
    assert "ward-1" in answer and SECRET not in answer


def _notifications(town, path: str, subscription: dict, headers: dict, revoke_after: int):
    """Two updates notified with the consent, then a revocation, then two more updates."""
    receiver = Receiver()
    try:
        provider, resident = headers["provider"], town.resident(1)
        consent = town.grant(resident, provider, ["sensitive"])
        body = json.loads(json.dumps(subscription).replace("RECEIVER", receiver.url))
        r = town.client.post(path, json=body, headers=headers["headers"])
        assert r.status_code == 201, r.text
        texts = []
        for n in range(4):
            if n == revoke_after:
                town.revoke(resident, consent)
            r = town.client.patch(f"{LD}/entities/urn:ngsi-ld:Patient:1/attrs",
                                  json={"ward": {"type": "Property", "value": f"ward-{n}"},
                                        "diagnosis": {"type": "Property", "value": f"{SECRET}-{n}"}},
                                  headers=town.ld(town.admin))
            assert r.status_code == 204, r.text
            got = receiver.wait_for(len(texts) + 1)
            assert len(got) > len(texts), "no notification arrived"
            texts.append(json.dumps(got[len(texts)]["body"]))
        return texts
    finally:
        receiver.close()


def test_ngsi_ld_notifications_stop_carrying_data_after_revocation(town):
    town.create(patient(1))
    provider = town.provider()
    sub = {"type": "Subscription", "entities": [{"type": "Patient"}],
           "notification": {"endpoint": {"uri": "RECEIVER"}}}
    texts = _notifications(town, f"{LD}/subscriptions", sub,
                           {"provider": provider, "headers": town.ld(provider, PURPOSE)}, revoke_after=2)
    assert [SECRET in t for t in texts] == [True, True, False, False]
    assert all("ward-" in t for t in texts)


def test_ngsi_v2_notifications_stop_carrying_data_after_revocation(town):
    town.create(patient(1))
    provider = town.provider()
    sub = {"subject": {"entities": [{"idPattern": ".*", "type": "Patient"}]},
           "notification": {"http": {"url": "RECEIVER"}}}
    texts = _notifications(town, "/v2/subscriptions", sub,
                           {"provider": provider, "headers": town.v2(provider, PURPOSE)}, revoke_after=2)
    assert [SECRET in t for t in texts] == [True, True, False, False]


def test_a_subscription_made_without_a_purpose_gets_no_personal_data(town):
    town.create(patient(1))
    provider = town.provider()
    sub = {"type": "Subscription", "entities": [{"type": "Patient"}],
           "notification": {"endpoint": {"uri": "RECEIVER"}}}
    texts = _notifications(town, f"{LD}/subscriptions", sub,
                           {"provider": provider, "headers": town.ld(provider)}, revoke_after=4)
    assert not any(SECRET in t for t in texts)
