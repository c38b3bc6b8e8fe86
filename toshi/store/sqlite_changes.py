"""The change log, subscriptions and the notification outbox, in the same SQLite file as the state.

The change log is appended inside the write transaction, so a committed write always has its record
(and a rolled-back one never does). Consumers (notifications, live streams) read it by sequence
number and keep their position in `cursors`, so after a crash they resume where they stopped.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    at TEXT NOT NULL,
    before TEXT,            -- entity before the write (NULL: created)
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


class SqliteChangeLog:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def append(self, tenant: str, entity_id: str, at: str, before: dict | None, after_json: str | None) -> int:
        """Inside a write transaction: record one entity's change (the new state as the JSON text the
        store already made); returns its sequence number."""
        cur = self.db.execute("INSERT INTO changes (tenant, entity_id, at, before, after) VALUES (?, ?, ?, ?, ?)",
                              (tenant, entity_id, at, _json(before), after_json))
        return cur.lastrowid

    async def read(self, after_seq: int, limit: int = 500) -> list[ChangeRecord]:
        rows = self.db.execute("SELECT seq, tenant, entity_id, at, before, after FROM changes WHERE seq > ? "
                               "ORDER BY seq LIMIT ?", (after_seq, limit)).fetchall()
        return [ChangeRecord(s, t, e, a, _load(b), _load(f)) for s, t, e, a, b, f in rows]

    async def last_seq(self) -> int:
        return self.db.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]

    async def cursor(self, name: str) -> int | None:
        row = self.db.execute("SELECT seq FROM cursors WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def set_cursor(self, name: str, seq: int) -> None:
        self.db.execute("INSERT INTO cursors VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq=excluded.seq",
                        (name, seq))

    async def prune(self, up_to_seq: int) -> int:
        """Forget records every consumer has passed; returns how many were removed."""
        return self.db.execute("DELETE FROM changes WHERE seq <= ?", (up_to_seq,)).rowcount


class SqliteSubscriptions:
    """Subscriptions as JSON documents (their internal representation is the subscriptions feature's)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    async def put(self, tenant: str, subscription: dict) -> None:
        self.db.execute("INSERT INTO subscriptions VALUES (?, ?, ?) "
                        "ON CONFLICT(tenant, id) DO UPDATE SET doc=excluded.doc",
                        (tenant, subscription["id"], orjson.dumps(subscription).decode()))

    async def get(self, tenant: str, subscription_id: str) -> dict | None:
        row = self.db.execute("SELECT doc FROM subscriptions WHERE tenant=? AND id=?",
                              (tenant, subscription_id)).fetchone()
        return orjson.loads(row[0]) if row else None

    async def list(self, tenant: str, limit: int, offset: int) -> tuple[list[dict], int]:
        rows = self.db.execute("SELECT doc FROM subscriptions WHERE tenant=? ORDER BY rowid LIMIT ? OFFSET ?",
                               (tenant, limit, offset)).fetchall()
        total = self.db.execute("SELECT count(*) FROM subscriptions WHERE tenant=?", (tenant,)).fetchone()[0]
        return [orjson.loads(r[0]) for r in rows], total

    async def delete(self, tenant: str, subscription_id: str) -> bool:
        return self.db.execute("DELETE FROM subscriptions WHERE tenant=? AND id=?",
                               (tenant, subscription_id)).rowcount > 0

    async def all(self) -> list[tuple[str, dict]]:
        return [(t, orjson.loads(d)) for t, d in self.db.execute("SELECT tenant, doc FROM subscriptions")]
