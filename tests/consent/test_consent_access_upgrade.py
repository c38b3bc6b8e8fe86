"""Upgrading a town whose access log an older Toshi kept in `consent_access_log` (one hash per record,
chained): the records move into the chain steps, the residents and readers still list them, the
chain verifies, running it again changes nothing, and a broken old chain is refused untouched."""

from __future__ import annotations

import asyncio
import hashlib

import orjson
import pytest
from consent_town import LD, PURPOSE, TENANT, Town, patient, resident_id
from starlette.testclient import TestClient

from toshi.app import create_app
from toshi.consent.accesslog import CONSENTED, OFFICIAL, ZERO_HASH, AccessLog
from toshi.consent.accesslog_upgrade import BrokenAccessLog, upgrade
from toshi.core.access import current_actor
from toshi.store import store_for, table_exists

DIAGNOSIS = "https://uri.etsi.org/ngsi-ld/default-context/diagnosis"
PHONE = "https://uri.etsi.org/ngsi-ld/default-context/phone"
OLD_DDL = """CREATE TABLE consent_access_log (
    seq INTEGER NOT NULL, at TEXT NOT NULL, tenant TEXT NOT NULL, subject TEXT NOT NULL, reader TEXT NOT NULL,
    request_id TEXT, purpose TEXT, basis TEXT NOT NULL, attrs TEXT NOT NULL, consents TEXT NOT NULL,
    entities TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)"""
FIELDS = ("seq", "at", "tenant", "subject", "reader", "request_id", "purpose", "basis", "attrs", "consents",
          "entities", "prev_hash")


def old_reads(count: int) -> list[dict]:
    """`count` reads as the older log recorded them: resident n % 3 read by svc-a or svc-b (or the office)."""
    return [{"at": f"2026-12-01T10:00:{n:02d}.000000Z", "tenant": TENANT, "subject": resident_id(n % 3),
             "reader": "town-office" if n % 4 == 3 else f"svc-{'ab'[n % 2]}", "request_id": f"req-{n}",
             "purpose": PURPOSE, "basis": OFFICIAL if n % 4 == 3 else CONSENTED,
             "attrs": sorted([DIAGNOSIS, PHONE][:1 + n % 2]), "consents": [f"consent-{n % 3}"],
             "entities": [f"urn:ngsi-ld:Patient:{n % 3}"]} for n in range(count)]


def write_old_log(db, reads: list[dict]) -> None:
    """The table and its chain as the older Toshi wrote them (each hash over the record's fields,
    sorted, with the previous record's hash)."""
    db.execute(OLD_DDL)
    prev = ZERO_HASH
    for seq, read in enumerate(reads, 1):
        record = {**read, "seq": seq, "prev_hash": prev}
        prev = hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()
        row = [orjson.dumps(v).decode() if isinstance(v, list) else v for v in (record[k] for k in FIELDS)]
        db.execute(f"INSERT INTO consent_access_log ({', '.join(FIELDS)}, hash) VALUES "
                   f"({', '.join('?' * 13)})", (*row, prev))


def rows(db, table: str) -> list[tuple]:
    return db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


def test_the_old_records_are_listed_by_resident_and_reader_with_the_chain_intact(store):
    reads = old_reads(7)
    write_old_log(store.db, reads)
    log = AccessLog(store)
    mine = log.of_subject(TENANT, resident_id(1))
    assert [(r["seq"], r["reader"], r["request_id"], r["attrs"]) for r in mine] == [
        (2, "svc-b", "req-1", ["diagnosis", "phone"]), (5, "svc-a", "req-4", ["diagnosis"])]
    office = log.of_reader(TENANT, "town-office")
    assert [(r["seq"], r["basis"], r["subject"]) for r in office] == [(4, OFFICIAL, resident_id(0))]
    every = log.of_reader(TENANT, "svc-a") + log.of_reader(TENANT, "svc-b") + office
    assert sorted(r["seq"] for r in every) == list(range(1, 8))
    assert log.verify() == []
    assert not table_exists(store.db, "consent_access_log")


def test_upgrading_again_changes_nothing(store):
    write_old_log(store.db, old_reads(5))
    log = AccessLog(store)
    assert log.upgrade() == 5
    before = rows(store.db, "consent_access_records"), rows(store.db, "consent_access_chain")
    assert upgrade(store.db) == 0
    assert AccessLog(store).upgrade() == 0
    assert (rows(store.db, "consent_access_records"), rows(store.db, "consent_access_chain")) == before


def test_records_the_newer_log_already_held_follow_the_old_ones(store):
    log = AccessLog(store)
    mark = current_actor.set({"principal": "svc-a", "request": "after-upgrade"})
    try:
        log.note(TENANT, "svc-a", resident_id(1), PURPOSE, CONSENTED, {DIAGNOSIS: "sensitive"}, ("consent-1",),
                 "urn:ngsi-ld:Patient:1")
    finally:
        current_actor.reset(mark)
    assert log.flush() == 1
    write_old_log(store.db, old_reads(4))  # the old table kept beside the newer one, unread
    assert AccessLog(store).upgrade() == 4
    mine = AccessLog(store).of_subject(TENANT, resident_id(1))
    assert [(r["seq"], r["request_id"]) for r in mine] == [(2, "req-1"), (5, "after-upgrade")]
    assert AccessLog(store).verify() == []


def test_a_broken_old_chain_is_refused_and_nothing_changes(store):
    write_old_log(store.db, old_reads(4))
    store.db.execute("UPDATE consent_access_log SET reader='someone-else' WHERE seq=2")
    old = rows(store.db, "consent_access_log")
    with pytest.raises(BrokenAccessLog, match="seq 2"):
        AccessLog(store).upgrade()
    assert rows(store.db, "consent_access_log") == old
    assert rows(store.db, "consent_access_chain") == []


def test_a_server_started_on_an_older_town_shows_the_resident_their_old_accesses(secure_settings):
    store = store_for(secure_settings)
    asyncio.run(store.open())
    write_old_log(store.db, old_reads(3))
    asyncio.run(store.close())
    with TestClient(create_app(secure_settings)) as client:
        town = Town(client)
        r = client.get("/consent/me/access-log", headers=town.ld(town.resident(2)))
        assert r.status_code == 200
        assert [(e["seq"], e["reader"], e["attrs"]) for e in r.json()] == [(3, "svc-a", ["diagnosis"])]
        town.create(patient(2))  # the log goes on after the moved records
        provider = town.provider()
        town.grant(town.resident(2), provider, ["sensitive"])
        assert client.get(f"{LD}/entities/urn:ngsi-ld:Patient:2", headers=town.ld(provider, PURPOSE)).status_code == 200
        later = client.get("/consent/me/access-log", headers=town.ld(town.resident(2))).json()
        assert [e["seq"] for e in later] == [3, 4]
        assert client.app.state.consent.service.log.verify() == []
