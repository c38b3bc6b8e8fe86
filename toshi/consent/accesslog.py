"""Who read a resident's personal data: one record per (reader, data subject, request), with when,
which attributes, for which purpose, under which consents (or as a town official).

The read path's consent layer notes every release of personal data here (toshi/consent/guard.py);
notes are gathered in memory and written in batches (every FLUSH_SECONDS, before the log is read,
and at shutdown), so a query over many residents costs one batch insert, not one per entity.

The log is its own hash chain (each record's hash covers its fields and the previous hash, as the
audit trail's does) rather than records of the audit trail: it has one record per resident per
request, listed by resident and by reader, so it needs its own indexes and would drown the audit
trail's admin records. Changes of consents and declarations do go to the audit trail.
"""

from __future__ import annotations

import hashlib
import threading

import orjson

from toshi.core.access import current_actor
from toshi.core.times import now_iso
from toshi.store import FeatureTables, atomic

SCHEMA = """
CREATE TABLE IF NOT EXISTS consent_access_log (
    seq INTEGER NOT NULL, at TEXT NOT NULL, tenant TEXT NOT NULL, subject TEXT NOT NULL, reader TEXT NOT NULL,
    request_id TEXT, purpose TEXT, basis TEXT NOT NULL, attrs TEXT NOT NULL, consents TEXT NOT NULL,
    entities TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS consent_access_log_by_seq ON consent_access_log (seq);
CREATE INDEX IF NOT EXISTS consent_access_log_by_subject ON consent_access_log (tenant, subject, seq);
CREATE INDEX IF NOT EXISTS consent_access_log_by_reader ON consent_access_log (tenant, reader, seq);
"""
FIELDS = ("seq", "at", "tenant", "subject", "reader", "request_id", "purpose", "basis", "attrs", "consents",
          "entities", "prev_hash")
ZERO_HASH = "0" * 64
FLUSH_SECONDS = 0.25
OFFICIAL, CONSENTED = "official", "consent"


def record_hash(record: dict) -> str:
    return hashlib.sha256(orjson.dumps({k: record[k] for k in FIELDS}, option=orjson.OPT_SORT_KEYS)).hexdigest()


class AccessLog:
    def __init__(self, store):
        self._tables = FeatureTables(store, SCHEMA)
        self._pending: dict[tuple, dict] = {}
        self._lock = threading.Lock()  # notes may come from the event loop and from worker threads

    @property
    def _db(self):
        return self._tables.db

    # -- noting (called by the read path: cheap, in memory) ---------------------------------------

    def note(self, tenant: str, reader: str, subject: str, purpose: str | None, basis: str,
             attrs, consents, entity_id: str) -> None:
        actor = current_actor.get()
        request = actor.get("request") if actor else None
        key = (tenant, reader, subject, request, purpose, basis)
        with self._lock:
            entry = self._pending.get(key)
            if entry is None:
                entry = self._pending[key] = {"at": now_iso(), "attrs": set(), "consents": set(), "entities": set()}
            entry["attrs"].update(attrs)
            entry["consents"].update(consents)
            entry["entities"].add(entity_id)

    # -- writing ----------------------------------------------------------------------------------

    def flush(self) -> int:
        """Write what was noted (one chained record per reader, subject and request)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        with self._atomic() as db:
            seq, prev = self._tail(db)
            rows = []
            for (tenant, reader, subject, request, purpose, basis), entry in pending.items():
                seq += 1
                record = {"seq": seq, "at": entry["at"], "tenant": tenant, "subject": subject, "reader": reader,
                          "request_id": request, "purpose": purpose, "basis": basis,
                          "attrs": sorted(entry["attrs"]), "consents": sorted(entry["consents"]),
                          "entities": sorted(entry["entities"]), "prev_hash": prev}
                record["hash"] = prev = record_hash(record)
                rows.append((seq, record["at"], tenant, subject, reader, request, purpose, basis,
                             _dumps(record["attrs"]), _dumps(record["consents"]), _dumps(record["entities"]),
                             record["prev_hash"], record["hash"]))
            db.executemany(_INSERT, rows)  # one statement for the batch (a query page notes one per resident)
        return len(pending)

    def _tail(self, db) -> tuple[int, str]:
        row = db.execute("SELECT seq, hash FROM consent_access_log ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, ZERO_HASH)

    def _atomic(self):
        return atomic(self._db)

    # -- reading ----------------------------------------------------------------------------------

    def of_subject(self, tenant: str, subject: str, after: int = 0, limit: int = 100) -> list[dict]:
        return self._select("tenant=? AND subject=?", (tenant, subject), after, limit)

    def of_reader(self, tenant: str, reader: str, after: int = 0, limit: int = 100) -> list[dict]:
        return self._select("tenant=? AND reader=?", (tenant, reader), after, limit)

    def _select(self, where: str, args: tuple, after: int, limit: int) -> list[dict]:
        self.flush()
        rows = self._db.execute(f"SELECT {', '.join(FIELDS)}, hash FROM consent_access_log WHERE {where} "
                                "AND seq > ? ORDER BY seq LIMIT ?", (*args, after, limit))
        return [_record(row) for row in rows]

    def verify(self) -> list[int]:
        """The seqs where the chain is broken (empty: intact)."""
        self.flush()
        broken, prev = [], None
        for row in self._db.execute(f"SELECT {', '.join(FIELDS)}, hash FROM consent_access_log ORDER BY seq"):
            record = _record(row)
            if (prev is not None and record["prev_hash"] != prev) or record_hash(record) != record["hash"]:
                broken.append(record["seq"])
            prev = record["hash"]
        return broken


_INSERT = (f"INSERT INTO consent_access_log ({', '.join(FIELDS)}, hash) "
           f"VALUES ({', '.join('?' * (len(FIELDS) + 1))})")


def _dumps(value: list) -> str:
    return orjson.dumps(value).decode()


def _record(row) -> dict:
    record = dict(zip((*FIELDS, "hash"), row))
    for key in ("attrs", "consents", "entities"):
        record[key] = orjson.loads(record[key])
    return record
