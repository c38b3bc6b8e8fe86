"""The change log, subscriptions and the notification outbox, in the same database as the state
(SQLite or PostgreSQL: the SQL is in the subset both run, see toshi/store/pgsql.py).

The change log is appended inside the write transaction, so a committed write always has its record
(and a rolled-back one never does). Consumers (notifications, live streams) read it by sequence
number and keep their position in `cursors`, so after a crash they resume where they stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from toshi.core.delta import entity_delta, previous_state

SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    at TEXT NOT NULL,
    before TEXT,            -- NULL: created; the entity if deleted; else the delta to rebuild it from `after`
    after TEXT              -- entity after the write (NULL: deleted)
);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,            -- the notification id (stable across retries and restarts)
    tenant TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    payload TEXT NOT NULL,          -- JSON: what to send and where (see toshi.notify)
    attempts INTEGER NOT NULL DEFAULT 0,
    due REAL NOT NULL,              -- unix time of the next attempt
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (due);
CREATE TABLE IF NOT EXISTS dead_letters (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    failed_at TEXT NOT NULL,
    last_error TEXT
);
"""


@dataclass(frozen=True)
class ChangeRecord:
    seq: int
    tenant: str
    entity_id: str
    at: str
    before: dict | None
    after: dict | None


def _json(value) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _load(text: str | None):
    return None if text is None else orjson.loads(text)


def _record(seq: int, tenant: str, entity_id: str, at: str, before: str | None, after: str | None) -> ChangeRecord:
    after_state = _load(after)
    before_state = _load(before)
    if before_state is not None and after_state is not None:
        before_state = previous_state(after_state, before_state)
    return ChangeRecord(seq, tenant, entity_id, at, before_state, after_state)


class SqlChangeLog:
    def __init__(self, db):
        self.db = db

    def append(self, tenant: str, entity_id: str, at: str, before: dict | None, after: dict | None,
               after_json: str | None) -> int:
        """Inside a write transaction: record one entity's change (with the new state as the JSON text
        the store already made); returns its sequence number."""
        return self.db.execute("INSERT INTO changes (tenant, entity_id, at, before, after) VALUES (?, ?, ?, ?, ?) "
                               "RETURNING seq", (tenant, entity_id, at, self.previous_json(before, after),
                                                 after_json)).fetchone()[0]

    def row(self, seq: int, tenant: str, entity_id: str, at: str, before: dict | None, after: dict | None,
            after_json: str | None) -> tuple:
        """The row of one entity's change with a sequence number the writer allocated (it holds the
        write lock), for `append_many`."""
        return seq, tenant, entity_id, at, self.previous_json(before, after), after_json

    def append_many(self, rows: list[tuple]) -> None:
        """Inside a write transaction: the change records of `row`, in one statement."""
        self.db.executemany("INSERT INTO changes (seq, tenant, entity_id, at, before, after) VALUES (?, ?, ?, ?, ?, ?)",
                            rows)

    @staticmethod
    def previous_json(before: dict | None, after: dict | None) -> str | None:
        """What a change record keeps of the state before: nothing (created), the entity (deleted),
        else the delta that rebuilds it from the state after."""
        return _json(before if before is None or after is None else entity_delta(before, after))

    async def read(self, after_seq: int, limit: int = 500) -> list[ChangeRecord]:
        rows = self.db.execute("SELECT seq, tenant, entity_id, at, before, after FROM changes WHERE seq > ? "
                               "ORDER BY seq LIMIT ?", (after_seq, limit)).fetchall()
        return [_record(*row) for row in rows]

    async def last_seq(self) -> int:
        return self.db.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]

    async def cursor(self, name: str) -> int | None:
        row = self.db.execute("SELECT seq FROM cursors WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def set_cursor(self, name: str, seq: int) -> None:
        self.db.execute("INSERT INTO cursors VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq=excluded.seq",
                        (name, seq))

    async def prune(self, up_to_seq: int, older_than: str) -> int:
        """Forget records every consumer has passed that are older than the retention time."""
        return self.db.execute("DELETE FROM changes WHERE seq <= ? AND at < ?", (up_to_seq, older_than)).rowcount

    def forget(self, tenant: str, erased: dict[str, frozenset[str] | None]) -> int:
        """Erasure, inside the caller's write transaction: rewrite the records of these entities so that
        none holds the erased attributes (entity id -> expanded names; None: every attribute), in the
        state after and in the state before alike; returns how many records changed. The records stay
        (a consumer behind them still learns that the entity changed or went), only the erased values
        go. It reads every record of the tenant's entities named: erasures are rare."""
        changed = 0
        for chunk in _chunked(sorted(erased), 500):
            rows = self.db.execute(f"SELECT seq, entity_id, before, after FROM changes WHERE tenant=? AND entity_id IN "
                                   f"({','.join('?' * len(chunk))}) ORDER BY seq", (tenant, *chunk)).fetchall()
            for seq, entity_id, before_text, after_text in rows:
                record = _record(seq, tenant, entity_id, "", before_text, after_text)
                names = erased[entity_id]
                before, after = _without(record.before, names), _without(record.after, names)
                if before == record.before and after == record.after:
                    continue
                self.db.execute("UPDATE changes SET before=?, after=? WHERE seq=?",
                                (self.previous_json(before, after), _json(after), seq))
                changed += 1
        return changed


def _without(state: dict | None, names: frozenset[str] | None) -> dict | None:
    if state is None:
        return None
    attrs = {} if names is None else {k: v for k, v in state["attrs"].items() if k not in names}
    return state if attrs == state["attrs"] else {**state, "attrs": attrs}


def _names_any(body, ids: set[str]) -> bool:
    """Whether a notification body names one of these entity ids: a string of the JSON equal to one, or
    a raw text body (NGSI-v2 httpCustom.payload) containing one."""
    if isinstance(body, str):
        return any(entity_id in body for entity_id in ids)
    return _holds_any(body, ids)


def _holds_any(value, ids: set[str]) -> bool:
    if isinstance(value, str):
        return value in ids
    if isinstance(value, dict):
        return any(_holds_any(v, ids) for v in value.values())
    if isinstance(value, list):
        return any(_holds_any(v, ids) for v in value)
    return False


def _chunked(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


class SqlSubscriptions:
    """Subscriptions as JSON documents (their internal representation is the subscriptions feature's)."""

    def __init__(self, db):
        self.db = db

    async def put(self, tenant: str, subscription: dict) -> None:
        self.db.execute("INSERT INTO subscriptions VALUES (?, ?, ?) "
                        "ON CONFLICT(tenant, id) DO UPDATE SET doc=excluded.doc",
                        (tenant, subscription["id"], orjson.dumps(subscription).decode()))

    async def get(self, tenant: str, subscription_id: str) -> dict | None:
        row = self.db.execute("SELECT doc FROM subscriptions WHERE tenant=? AND id=?",
                              (tenant, subscription_id)).fetchone()
        return orjson.loads(row[0]) if row else None

    async def list(self, tenant: str, limit: int, offset: int,
                   match: dict[str, str] | None = None) -> tuple[list[dict], int]:
        """A page of the tenant's subscriptions in creation order and how many there are; `match`: only
        those whose top-level string fields have these values (e.g. `{"api": "v2"}`), in SQL."""
        where, args = "tenant=?", [tenant]
        for key, value in (match or {}).items():
            if not key.isidentifier():
                raise ValueError(f"not a field name: {key!r}")
            where += f" AND {self._field(key)}=?"
            args.append(value)
        rows = self.db.execute(f"SELECT doc FROM subscriptions WHERE {where} ORDER BY rowid LIMIT ? OFFSET ?",
                               (*args, limit, offset)).fetchall()
        total = self.db.execute(f"SELECT count(*) FROM subscriptions WHERE {where}", tuple(args)).fetchone()[0]
        return [orjson.loads(r[0]) for r in rows], total

    def _field(self, key: str) -> str:
        """A top-level field of the JSON document, as text (the column is text in both dialects)."""
        if getattr(self.db, "dialect", "sqlite") == "postgresql":
            return f"(doc::jsonb ->> '{key}')"
        return f"json_extract(doc, '$.{key}')"

    async def delete(self, tenant: str, subscription_id: str) -> bool:
        return self.db.execute("DELETE FROM subscriptions WHERE tenant=? AND id=?",
                               (tenant, subscription_id)).rowcount > 0

    async def all(self) -> list[tuple[str, dict]]:
        return [(t, orjson.loads(d)) for t, d in self.db.execute("SELECT tenant, doc FROM subscriptions")]


class SqlOutbox:
    """Notifications waiting for delivery, and those that failed for good (dead letters)."""

    def __init__(self, db):
        self.db = db

    def add(self, rows: list[tuple[str, str, str, str, float]], cursor: tuple[str, int] | None = None) -> None:
        """Queue (id, tenant, subscription_id, payload JSON, due) rows and, in the same transaction,
        move a change-log cursor past the changes they came from."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT INTO outbox (id, tenant, subscription_id, payload, due) "
                                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", rows)
            if cursor is not None:
                self.db.execute("INSERT INTO cursors VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq=excluded.seq",
                                cursor)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def due(self, now: float, limit: int, skip: set[str]) -> list[tuple[str, str, str, str, int]]:
        rows = self.db.execute("SELECT id, tenant, subscription_id, payload, attempts FROM outbox WHERE due <= ? "
                               "ORDER BY due LIMIT ?", (now, limit + len(skip))).fetchall()
        return [row for row in rows if row[0] not in skip][:limit]

    def delivered(self, notification_ids: list[str]) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany("DELETE FROM outbox WHERE id=?", [(i,) for i in notification_ids])
        self.db.execute("COMMIT")

    def retry_later(self, notification_id: str, attempts: int, due: float, error: str) -> None:
        self.db.execute("UPDATE outbox SET attempts=?, due=?, last_error=? WHERE id=?",
                        (attempts, due, error, notification_id))

    def bury(self, notification_id: str, attempts: int, failed_at: str, error: str) -> None:
        """Move a notification that exhausted its retries to the dead letters."""
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO dead_letters (id, tenant, subscription_id, payload, attempts, failed_at, last_error) "
                        "SELECT id, tenant, subscription_id, payload, ?, ?, ? FROM outbox WHERE id=? "
                        "ON CONFLICT (id) DO UPDATE SET attempts=excluded.attempts, failed_at=excluded.failed_at, "
                        "last_error=excluded.last_error", (attempts, failed_at, error, notification_id))
        self.db.execute("DELETE FROM outbox WHERE id=?", (notification_id,))
        self.db.execute("COMMIT")

    def withdraw(self, tenant: str, entity_ids: set[str]) -> int:
        """Erasure, inside the caller's write transaction: drop the waiting notifications and dead
        letters of the tenant whose payload names one of these entities (they may carry erased values;
        a notification already being sent is not called back). Returns how many were dropped."""
        dropped = 0
        for table in ("outbox", "dead_letters"):
            rows = self.db.execute(f"SELECT id, payload FROM {table} WHERE tenant=?", (tenant,)).fetchall()
            doomed = [(row[0],) for row in rows if _names_any(orjson.loads(row[1]).get("body"), entity_ids)]
            if doomed:
                self.db.executemany(f"DELETE FROM {table} WHERE id=?", doomed)
            dropped += len(doomed)
        return dropped

    def dead_letters(self, limit: int, offset: int) -> list[dict]:
        rows = self.db.execute("SELECT id, tenant, subscription_id, payload, attempts, failed_at, last_error "
                               "FROM dead_letters ORDER BY failed_at LIMIT ? OFFSET ?", (limit, offset))
        keys = ("id", "tenant", "subscriptionId", "payload", "attempts", "failedAt", "lastError")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def replay(self, notification_id: str | None, now: float) -> int:
        """Put dead letters (one, or all) back in the outbox for a fresh round of attempts."""
        where, params = ("WHERE id=?", (notification_id,)) if notification_id else ("WHERE true", ())
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO outbox (id, tenant, subscription_id, payload, due) "
                        f"SELECT id, tenant, subscription_id, payload, ? FROM dead_letters {where} ON CONFLICT DO NOTHING",
                        (now, *params))
        count = self.db.execute(f"DELETE FROM dead_letters {where}", params).rowcount
        self.db.execute("COMMIT")
        return count

    def pending(self) -> int:
        return self.db.execute("SELECT count(*) FROM outbox").fetchone()[0]
