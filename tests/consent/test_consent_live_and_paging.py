"""Two releases the access log and the consent layer must get exactly right: an open live stream after
a revocation (its guard renews itself), and the entity a query page reads only to tell whether a next
page exists (not handed over, so not in the resident's access log)."""

from __future__ import annotations

from consent_town import LD, PURPOSE, patient
from support import wait_until
from test_consent_leak import LiveStream

SECRET = "diagnosis-1"


def test_an_open_live_stream_stops_carrying_data_after_revocation(town):
    town.create(patient(1))
    provider, resident = town.provider(), town.resident(1)
    consent = town.grant(resident, provider, ["sensitive"])
    stream = LiveStream(town.client, "type=Patient", town.ld(provider, PURPOSE))
    try:
        seen = {}
        for step in ("before", "after"):
            if step == "after":
                town.revoke(resident, consent)
            r = town.client.patch(f"{LD}/entities/urn:ngsi-ld:Patient:1/attrs", headers=town.ld(town.admin),
                                  json={"ward": {"type": "Property", "value": f"ward-{step}"}})
            assert r.status_code == 204, r.text
            assert wait_until(lambda step=step: any(f"ward-{step}" in str(e) for e in stream.events()))
            seen[step] = next(str(e["entity"]) for e in stream.events() if f"ward-{step}" in str(e))
        before, after = seen["before"], seen["after"]
    finally:
        stream.close()
    assert SECRET in before and "ward-before" in before
    assert SECRET not in after and "ward-after" in after


def test_the_entity_read_to_find_a_next_page_is_not_logged(town):
    town.create(patient(1), patient(2))
    provider = town.provider()
    town.grant(town.resident(2), provider, ["sensitive"])
    r = town.client.get(f"{LD}/entities?type=Patient&limit=1", headers=town.ld(provider, PURPOSE))
    assert [e["id"] for e in r.json()] == ["urn:ngsi-ld:Patient:1"] and 'rel="next"' in r.headers["Link"]
    log = town.client.get("/consent/me/access-log", headers=town.ld(town.resident(2))).json()
    assert log == []


def test_the_page_returned_is_logged(town):
    town.create(patient(1), patient(2))
    provider = town.provider()
    town.grant(town.resident(2), provider, ["sensitive"])
    r = town.client.get(f"{LD}/entities?type=Patient&limit=1&offset=1", headers=town.ld(provider, PURPOSE))
    assert [e["id"] for e in r.json()] == ["urn:ngsi-ld:Patient:2"]
    log = town.client.get("/consent/me/access-log", headers=town.ld(town.resident(2))).json()
    assert [(e["reader"], e["entities"]) for e in log] == [(provider["_id"], ["urn:ngsi-ld:Patient:2"])]


def test_a_page_read_again_after_a_revocation_shows_and_logs_only_what_is_consented(town):
    """A page read again with its entities unchanged reuses its judgements only while the consents are
    unchanged: after a revocation the same page hides the resident's data and logs no release of it."""
    town.create(patient(1), patient(2))
    provider, one, two = town.provider(), town.resident(1), town.resident(2)
    revoked = town.grant(one, provider, ["sensitive"])
    town.grant(two, provider, ["sensitive"])
    shown = []
    for k in range(3):
        if k == 2:
            town.revoke(one, revoked)
        r = town.client.get(f"{LD}/entities?type=Patient&limit=10",
                            headers={**town.ld(provider, PURPOSE), "X-Request-Id": f"again-{k}"})
        assert r.status_code == 200
        shown.append({e["id"]: "diagnosis" in e for e in r.json()})
    assert shown == [{"urn:ngsi-ld:Patient:1": True, "urn:ngsi-ld:Patient:2": True}] * 2 + \
        [{"urn:ngsi-ld:Patient:1": False, "urn:ngsi-ld:Patient:2": True}]
    logs = [town.client.get("/consent/me/access-log", headers=town.ld(who)).json() for who in (one, two)]
    assert [[e["request_id"] for e in log] for log in logs] == [["again-0", "again-1"], ["again-0", "again-1", "again-2"]]


def test_a_v2_list_logs_each_entity_of_its_page_and_nothing_else(town):
    """Each entity of a v2 page is in its resident's access log, one record per request; an entity read
    only to order the matches (orderBy) or to count the types (/v2/types) is not."""
    town.create(*(patient(n) for n in range(1, 4)))
    provider = town.provider()
    for n in range(1, 4):
        town.grant(town.resident(n), provider, ["sensitive"])
    headers = town.v2(provider, PURPOSE)
    pages = {"list": "/v2/entities?type=Patient&limit=2",
             "ordered": "/v2/entities?type=Patient&orderBy=!ward&limit=1",
             "query": "/v2/op/query?limit=2"}
    for name, path in pages.items():
        if name == "query":
            r = town.client.post(path, json={"entities": [{"idPattern": ".*", "type": "Patient"}]},
                                 headers={**headers, "X-Request-Id": name})
        else:
            r = town.client.get(path, headers={**headers, "X-Request-Id": name})
        assert r.status_code == 200, r.text
    assert town.client.get("/v2/types", headers={**headers, "X-Request-Id": "types"}).status_code == 200
    logged = {n: [(e["request_id"], e["entities"]) for e in
                  town.client.get("/consent/me/access-log", headers=town.ld(town.resident(n))).json()]
              for n in range(1, 4)}
    assert logged == {1: [("list", ["urn:ngsi-ld:Patient:1"]), ("query", ["urn:ngsi-ld:Patient:1"])],
                      2: [("list", ["urn:ngsi-ld:Patient:2"]), ("query", ["urn:ngsi-ld:Patient:2"])],
                      3: [("ordered", ["urn:ngsi-ld:Patient:3"])]}
