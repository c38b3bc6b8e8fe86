"""Versioned schema migrations of the embedded database.

The database records its schema version (`meta.schema_version`). A new database gets the latest
version. A database at an older version is refused at start-up with the command that upgrades it
(`toshi db upgrade`), which applies the missing migrations in order, each in its own transaction;
one made by a newer Toshi is refused too. A migration is a function of the connection, appended to
MIGRATIONS with the next version number; it must leave the database in the state a fresh database of
its version has."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BASE_VERSION = 1  # the schema of the first release: what toshi/store/sqlite.py creates


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[sqlite3.Connection], None]


MIGRATIONS: list[Migration] = []  # versions BASE_VERSION + 1, + 2, ... in order


class SchemaMismatch(ValueError):
    """The database's schema is not the one this Toshi runs on (the message says what to do)."""


def latest() -> int:
    return MIGRATIONS[-1].version if MIGRATIONS else BASE_VERSION


def version_of(db: sqlite3.Connection) -> int | None:
    """The schema version of a database, None when it has no schema yet."""
    if not _has_meta(db):
        return None
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row else None


def _has_meta(db) -> bool:
    if getattr(db, "dialect", "sqlite") == "postgresql":
        return db.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0]
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone() is not None


def check(db: sqlite3.Connection, where: str) -> None:
    version = version_of(db)
    if version is None or version == latest():
        return
    if version < latest():
        raise SchemaMismatch(f"the database in {where} has schema version {version}; this Toshi needs "
                             f"{latest()}: stop Toshi, back it up (toshi backup), then run `toshi db upgrade`")
    raise SchemaMismatch(f"the database in {where} has schema version {version}, newer than this Toshi's "
                         f"{latest()}: run the Toshi that made it, or a newer one")


def check_file(path: Path) -> None:
    """Refuse to start on a database whose schema is behind or ahead (read-only look)."""
    if not path.exists():
        return
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        check(db, str(path.parent))
    finally:
        db.close()


def pending(db: sqlite3.Connection) -> list[Migration]:
    version = version_of(db)
    if version is None:
        return []
    return [m for m in MIGRATIONS if m.version > version]


def upgrade(db: sqlite3.Connection) -> list[Migration]:
    """Apply the pending migrations, each with its version bump in one transaction."""
    applied = []
    for migration in pending(db):
        db.execute("BEGIN IMMEDIATE")
        try:
            migration.apply(db)
            db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(migration.version),))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        applied.append(migration)
    return applied
