"""The access log's chain: a batch of reads is one chain step (not one hash per record), each resident
still gets their own record of each read, and changing, removing or adding a record, or a step, breaks
the chain."""

from __future__ import annotations

import asyncio

import orjson
from consent_town import LD, PURPOSE, Town, patient
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.consent import accesslog
from toshi.consent.accesslog import CONSENTED, AccessLog
from toshi.core.access import current_actor
from toshi.store.sqlite import SqliteStore

RESIDENTS = 6
DIAGNOSIS = "https://uri.etsi.org/ngsi-ld/default-context/diagnosis"
PHONE = "https://uri.etsi.org/ngsi-ld/default-context/phone"


def _town_with_reads(town, pages: int = 2):
    """Residents 0..5 consent to one provider; the provider reads `pages` query pages of all of them."""
    town.create(*(patient(n) for n in range(RESIDENTS)))
    provider = town.provider()
    for n in range(RESIDENTS):
        town.grant(town.resident(n), provider, ["sensitive"])
    for k in range(pages):
        r = town.client.get(f"{LD}/entities?type=Patient&limit=100",
                            headers={**town.ld(provider, PURPOSE), "X-Request-Id": f"page-{k}"})
        assert r.status_code == 200 and len(r.json()) == RESIDENTS
    return provider, town.client.app.state.consent.service.log


def test_a_batch_is_one_chain_step_with_a_record_per_reader_resident_and_request(store):
    log = AccessLog(store)
    for request in ("r-1", "r-2"):
        mark = current_actor.set({"principal": "svc", "request": request})
        try:
            for n in range(RESIDENTS):
                log.note("city", "svc", f"urn:ngsi-ld:Person:{n}", PURPOSE, CONSENTED, {DIAGNOSIS: "sensitive"},
                         (f"consent-{n}",), f"urn:ngsi-ld:Patient:{n}")
            log.note("city", "svc", "urn:ngsi-ld:Person:0", PURPOSE, CONSENTED, {PHONE: "personal"}, ("consent-0",),
                     "urn:ngsi-ld:Patient:0b")  # a second entity of one resident in the same read: one record
        finally:
            current_actor.reset(mark)
    assert log.flush() == 2 * RESIDENTS
    assert log._db.execute("SELECT count(*) FROM consent_access_chain").fetchone()[0] == 1
    assert log._db.execute("SELECT count(*) FROM consent_access_records").fetchone()[0] == RESIDENTS
    first = log.of_subject("city", "urn:ngsi-ld:Person:0")
    assert [(e["request_id"], e["attrs"], e["entities"]) for e in first] == [
        ("r-1", ["diagnosis", "phone"], ["urn:ngsi-ld:Patient:0", "urn:ngsi-ld:Patient:0b"]),
        ("r-2", ["diagnosis", "phone"], ["urn:ngsi-ld:Patient:0", "urn:ngsi-ld:Patient:0b"])]
    every = log.of_reader("city", "svc", limit=1000)
    assert [e["seq"] for e in every] == list(range(1, 2 * RESIDENTS + 1))
    paged, after = [], 0
    while page := log.of_reader("city", "svc", after=after, limit=5):  # pages cut through rows
        paged.extend(page)
        after = page[-1]["seq"]
    assert paged == every
    assert log.verify() == []


def test_a_record_as_the_one_before_it_is_stored_short_and_read_whole(store):
    """In a row, a record whose purpose, basis, attributes, consents and entities are those of the
    record before keeps only seq, time and request; it reads back whole, from any paging position."""
    log = AccessLog(store)
    read = {"r-1": DIAGNOSIS, "r-2": DIAGNOSIS, "r-3": PHONE, "r-4": PHONE}
    for request, attr in read.items():
        mark = current_actor.set({"principal": "svc", "request": request})
        try:
            log.note("city", "svc", "urn:ngsi-ld:Person:0", PURPOSE, CONSENTED, {attr: "personal"}, ("consent-0",),
                     "urn:ngsi-ld:Patient:0")
        finally:
            current_actor.reset(mark)
    assert log.flush() == 4
    stored = orjson.loads(log._db.execute("SELECT records FROM consent_access_records").fetchone()[0])
    assert [len(r) for r in stored] == [8, 3, 8, 3]
    whole = [(e["seq"], e["request_id"], e["purpose"], e["basis"], e["attrs"], e["consents"], e["entities"])
             for e in log.of_subject("city", "urn:ngsi-ld:Person:0")]
    assert whole == [(n, f"r-{n}", PURPOSE, CONSENTED, ["diagnosis" if n < 3 else "phone"], ["consent-0"],
                      ["urn:ngsi-ld:Patient:0"]) for n in range(1, 5)]
    assert [e["seq"] for e in log.of_subject("city", "urn:ngsi-ld:Person:0", after=3)] == [4]
    assert log.of_subject("city", "urn:ngsi-ld:Person:0", after=3)[0]["attrs"] == ["phone"]
    assert log.verify() == []


def test_requests_noting_the_same_notes_get_a_record_each_as_notes_given_apart_do(store, tmp_path):
    """The read path gives a page read again as the same tuple of notes: each request still has its
    own record per resident, stored and read back as when every request's notes are their own list."""
    other = SqliteStore(tmp_path / "apart.db")  # a second log beside `store`'s, to compare with
    asyncio.run(other.open())
    page = tuple((f"urn:ngsi-ld:Person:{n}", {DIAGNOSIS: "sensitive"}, (f"consent-{n}",), f"urn:ngsi-ld:Patient:{n}")
                 for n in range(RESIDENTS))
    logs = {"same": AccessLog(store), "apart": AccessLog(other)}
    try:
        for request in ("r-1", "r-2", "r-3", "r-4"):
            mark = current_actor.set({"principal": "svc", "request": request})
            try:
                for how, log in logs.items():
                    notes = page if how == "same" else list(page)
                    if request == "r-3":  # another reader in between, and a page of fewer residents
                        log.note_many("city", "other", PURPOSE, CONSENTED, page[:2] if how == "same" else list(page[:2]))
                    log.note_many("city", "svc", PURPOSE, CONSENTED, notes)
            finally:
                current_actor.reset(mark)
        assert logs["same"].flush() == logs["apart"].flush() == 4 * RESIDENTS + 2
        stored = {how: log._db.execute("SELECT tenant, subject, reader, first_seq, last_seq, records "
                                       "FROM consent_access_records ORDER BY first_seq").fetchall()
                  for how, log in logs.items()}
        assert stored["same"] == stored["apart"]
        first = [(e["seq"], e["request_id"], e["entities"]) for e in logs["same"].of_subject("city", "urn:ngsi-ld:Person:0")
                 if e["reader"] == "svc"]
        assert [r for _, r, _ in first] == ["r-1", "r-2", "r-3", "r-4"]
        assert all(entities == ["urn:ngsi-ld:Patient:0"] for *_, entities in first)
        assert logs["same"].verify() == [] and logs["apart"].verify() == []
    finally:
        asyncio.run(other.close())


def test_each_resident_gets_a_record_of_each_read_of_a_query_page(town):
    provider, log = _town_with_reads(town)
    for n in range(RESIDENTS):
        mine = town.client.get("/consent/me/access-log", headers=town.ld(town.resident(n))).json()
        assert [(e["request_id"], e["reader"], e["attrs"]) for e in mine] == \
            [("page-0", provider["_id"], ["diagnosis"]), ("page-1", provider["_id"], ["diagnosis"])]
    assert log.verify() == []


def test_changing_a_record_breaks_the_chain(town):
    _, log = _town_with_reads(town)
    log.flush()
    row = log._db.execute("SELECT rowid, records FROM consent_access_records ORDER BY first_seq LIMIT 1").fetchone()
    records = orjson.loads(row[1])
    records[0][5] = ["ward"]  # which attributes were read
    log._db.execute("UPDATE consent_access_records SET records=? WHERE rowid=?", (orjson.dumps(records).decode(), row[0]))
    assert log.verify() == [1]


def test_removing_a_row_breaks_the_chain(town):
    _, log = _town_with_reads(town, pages=1)
    log.flush()
    log._db.execute("DELETE FROM consent_access_records WHERE subject='urn:ngsi-ld:Person:3'")
    assert log.verify() == [1]


def test_removing_a_step_breaks_the_link_of_the_next(town):
    provider, log = _town_with_reads(town, pages=1)
    log.flush()
    town.client.get(f"{LD}/entities?type=Patient", headers=town.ld(provider, PURPOSE))
    log.flush()
    assert log.verify() == []
    log._db.execute("DELETE FROM consent_access_records WHERE step=1")
    log._db.execute("DELETE FROM consent_access_chain WHERE step=1")
    assert log.verify() == [2]


def test_a_record_added_to_a_step_breaks_it(town):
    _, log = _town_with_reads(town, pages=1)
    log.flush()
    log._db.execute("INSERT INTO consent_access_records (step, tenant, subject, reader, first_seq, last_seq, records) "
                    "VALUES (1, 'city', 'urn:ngsi-ld:Person:99', 'someone', 7, 7, '[]')")
    assert log.verify() == [1]


def test_a_clean_stop_writes_the_records_still_waiting(secure_settings, monkeypatch):
    """The reads a server answered are in the log after a clean stop, though no batch was written yet."""
    monkeypatch.setattr(accesslog, "FLUSH_SECONDS", 3600)  # no batch is written while serving
    with TestClient(create_app(secure_settings)) as client:
        town = Town(client)
        town.create(patient(1))
        provider, resident = town.provider(), town.resident(1)
        town.grant(resident, provider, ["sensitive"])
        r = client.get(f"{LD}/entities/urn:ngsi-ld:Patient:1", headers={**town.ld(provider, PURPOSE),
                                                                      "X-Request-Id": "before-stop"})
        assert r.status_code == 200 and "diagnosis" in r.json()
        db = client.app.state.consent.service.log._db
        assert db.execute("SELECT count(*) FROM consent_access_records").fetchone()[0] == 0  # still waiting
    with TestClient(create_app(secure_settings)) as client:
        log = client.get("/consent/me/access-log", headers=Town.ld(resident)).json()
    assert [(e["request_id"], e["reader"]) for e in log] == [("before-stop", provider["_id"])]
