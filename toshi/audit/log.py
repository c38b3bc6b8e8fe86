"""The audit trail: an append-only hash chain of records in the store's database (tables made
on first use), with checkpoints signed by Toshi's key and pruning that leaves a signed anchor.

`append` reads the chain's tail inside the caller's transaction (one indexed lookup) instead of
keeping it in memory: a rolled-back transaction then cannot leave a stale tail behind. Like the rest
of the store it runs on the event loop thread; nothing here awaits.
"""

from __future__ import annotations

from toshi.audit import statements
from toshi.audit.chain import COLUMNS, ZERO_HASH, decode_detail, encode_detail, from_row, record_hash
from toshi.audit.verify import ChainCheck, VerifyReport
from toshi.core.signing import SigningKey
from toshi.core.times import normalize_instant, now_iso
from toshi.store import FeatureTables, attached

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER NOT NULL, at TEXT NOT NULL, principal TEXT, tenant TEXT, operation TEXT NOT NULL,
    target TEXT, request_id TEXT, outcome TEXT NOT NULL, detail TEXT, prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_by_seq ON audit_log (seq);
CREATE INDEX IF NOT EXISTS audit_log_by_at ON audit_log (at);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq INTEGER NOT NULL, hash TEXT NOT NULL, at TEXT NOT NULL, kid TEXT NOT NULL, signature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_anchor (
    seq INTEGER NOT NULL, hash TEXT NOT NULL, at TEXT NOT NULL, kid TEXT NOT NULL, signature TEXT NOT NULL
);
"""
# seq is deliberately not UNIQUE: verify must see whatever the table holds, duplicates included.

TEXT_FIELDS = ("principal", "tenant", "operation", "target", "request_id", "outcome")
INPUT_FIELDS = {"at", "detail", *TEXT_FIELDS}
STATEMENT_COLUMNS = "seq, hash, at, kid, signature"
FILTERS = ("tenant", "principal", "operation", "outcome")
_INSERT = f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


class AuditLog:
    def __init__(self, store):
        self._tables = FeatureTables(store, SCHEMA)

    @property
    def _db(self):
        return self._tables.db

    # -- writing ----------------------------------------------------------------------------------

    def append(self, records: list[dict], db=None) -> None:
        """Chain and store `records` (fields: operation, outcome, and optionally at, principal, tenant,
        target, request_id, detail). `db` is the caller's connection or transaction (anything with a
        sqlite3-like `.execute`) to write inside its transaction; by default the store's connection, in
        a transaction of its own unless one is open."""
        if not records:
            return
        own = self._db
        if db is not None or own.in_transaction:
            self._write(db or own, records)
            return
        own.execute("BEGIN IMMEDIATE")
        try:
            self._write(own, records)
        except BaseException:
            own.execute("ROLLBACK")
            raise
        own.execute("COMMIT")

    def _write(self, db, records: list[dict]) -> None:
        entries = [_entry(record) for record in records]  # all validated before anything is written
        seq, prev_hash = self._tail(db)
        rows = []
        for entry in entries:
            seq += 1
            entry.update(seq=seq, prev_hash=prev_hash)
            entry["hash"] = prev_hash = record_hash(entry)
            rows.append([encode_detail(entry[c]) if c == "detail" else entry[c] for c in COLUMNS])
        db.executemany(_INSERT, rows)  # one statement for the records of a transaction

    def _tail(self, db) -> tuple[int, str]:
        row = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC, rowid DESC LIMIT 1").fetchone()
        if row is not None:
            return row[0], row[1]
        anchor = self.anchor()
        return (anchor["seq"], anchor["hash"]) if anchor else (0, ZERO_HASH)

    # -- reading ----------------------------------------------------------------------------------

    def records(self, after_seq: int = 0, limit: int = 100, *, tenant: str | None = None,
                principal: str | None = None, operation: str | None = None, outcome: str | None = None,
                since: str | None = None, until: str | None = None) -> list[dict]:
        """Records in seq order after `after_seq`; `since` is inclusive, `until` exclusive (ISO times)."""
        where, args = ["seq > ?"], [after_seq]
        for name, value in zip(FILTERS, (tenant, principal, operation, outcome)):
            if value is not None:
                where, args = [*where, f"{name} = ?"], [*args, value]
        if since is not None:
            where, args = [*where, "at >= ?"], [*args, normalize_instant(since)]
        if until is not None:
            where, args = [*where, "at < ?"], [*args, normalize_instant(until)]
        sql = f"SELECT rowid, {', '.join(COLUMNS)} FROM audit_log WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?"
        return [_public(from_row(row)) for row in self._db.execute(sql, [*args, limit])]

    def checkpoints(self) -> list[dict]:
        return self._statements("audit_checkpoints")

    def anchor(self) -> dict | None:
        """Where the chain starts after pruning (None before any)."""
        found = self._statements("audit_anchor")
        return found[-1] if found else None

    def _statements(self, table: str) -> list[dict]:
        rows = self._db.execute(f"SELECT {STATEMENT_COLUMNS} FROM {table} ORDER BY seq, rowid")
        return [dict(zip(("seq", "hash", "at", "kid", "signature"), row)) for row in rows]

    # -- checkpoints, verification, pruning -------------------------------------------------------

    def checkpoint(self, key: SigningKey) -> dict:
        """Signs the chain's current tail; returns the stored checkpoint."""
        seq, hash_ = self._tail(self._db)
        statement = statements.sign(key, seq, hash_)
        self._insert_statement("audit_checkpoints", statement)
        return statement

    def _insert_statement(self, table: str, statement: dict) -> None:
        self._db.execute(f"INSERT INTO {table} ({STATEMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                         [statement[name] for name in ("seq", "hash", "at", "kid", "signature")])

    def verify(self, key: SigningKey | None = None) -> VerifyReport:
        """Reads the whole chain (streaming): for a long log, run it off the event loop thread only
        with a connection of its own."""
        return ChainCheck(self._db, self.anchor(), self.checkpoints(), key).run()

    def prune(self, before_iso: str, key: SigningKey) -> int:
        """Deletes the oldest records: those before `before_iso` and not after the newest checkpoint
        (so every deleted record was covered by a signed statement). The chain then starts at a signed
        anchor holding the last deleted record's seq and hash. Refuses (ValueError) when the chain
        does not verify: pruning must not destroy evidence. Returns how many records were deleted."""
        report = self.verify(key)
        if not report.ok:
            raise ValueError(f"the audit log does not verify ({len(report.problems)} problems); not pruning")
        last = self._prunable(normalize_instant(before_iso))
        if last is None:
            return 0
        seq, hash_ = last
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            deleted = db.execute("DELETE FROM audit_log WHERE seq <= ?", (seq,)).rowcount
            db.execute("DELETE FROM audit_checkpoints WHERE seq < ?", (seq,))
            db.execute("DELETE FROM audit_anchor")
            self._insert_statement("audit_anchor", statements.sign(key, seq, hash_, statements.ANCHOR))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return deleted

    def _prunable(self, before: str) -> tuple[int, str] | None:
        """(seq, hash) of the last record to delete: the longest run of oldest records all before
        `before`, cut at the newest checkpoint."""
        checkpoints = self.checkpoints()
        anchor = self.anchor()
        start = anchor["seq"] if anchor else 0
        if not checkpoints:
            return None
        first_kept = self._db.execute("SELECT MIN(seq) FROM audit_log WHERE at >= ?", (before,)).fetchone()[0]
        limit = checkpoints[-1]["seq"] if first_kept is None else min(first_kept - 1, checkpoints[-1]["seq"])
        if limit <= start:
            return None
        row = self._db.execute("SELECT seq, hash FROM audit_log WHERE seq=?", (limit,)).fetchone()
        return (row[0], row[1]) if row else None


def _entry(record: dict) -> dict:
    unknown = set(record) - INPUT_FIELDS
    if unknown:
        raise ValueError(f"unknown audit field(s): {', '.join(sorted(unknown))}")
    if not record.get("operation") or not record.get("outcome"):
        raise ValueError("an audit record needs an operation and an outcome")
    entry = {name: None if record.get(name) is None else str(record[name]) for name in TEXT_FIELDS}
    entry["at"] = normalize_instant(record["at"]) if record.get("at") else now_iso()
    entry["detail"] = decode_detail(encode_detail(record.get("detail")))  # as verify will read it back
    return entry


def _public(record: dict) -> dict:
    del record["rowid"]
    return record


def audit_log_of(store) -> AuditLog:
    """The AuditLog of a store, made on first use."""
    return attached(store, AuditLog)
