"""Creating a feature's tables in the store's database without disturbing an open transaction
(sqlite3's executescript would COMMIT it first), and what a table's DDL says differently to each
database."""

from __future__ import annotations

import re
from contextlib import contextmanager

# The exact numeric type of a column that holds integers and floats as they are: no affinity in SQLite
# (integers stay integers), NUMERIC in PostgreSQL (its sums and extremes of integers stay integers).
NUM_TYPES = {"sqlite": "", "postgresql": " NUMERIC"}


def dialect_ddl(statement: str, dialect: str) -> str:
    """A table's (SQLite-flavoured) DDL as `dialect` gets it: `{num_type}` (as in `num{num_type}`)
    becomes the dialect's exact numeric type. PostgreSQL's connection translates the rest."""
    return statement.replace("{num_type}", NUM_TYPES[dialect])


def create_tables(db, schema: str) -> bool:
    """Runs the CREATE ... IF NOT EXISTS statements of `schema`; True when they are surely kept (no
    transaction was open that could still roll them back). On PostgreSQL, where several processes
    may start at once, outside a transaction they are created under the write lock (concurrent
    CREATE TABLE IF NOT EXISTS can collide there)."""
    dialect = getattr(db, "dialect", "sqlite")
    statements = [s for s in re.sub(r"--[^\n]*", "", dialect_ddl(schema, dialect)).split(";") if s.strip()]
    if dialect == "postgresql" and not db.in_transaction:
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements:
                db.execute(statement)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return True
    for statement in statements:
        db.execute(statement)
    return not db.in_transaction


class FeatureTables:
    """A feature's tables in the store's database: `db` is the store's connection, the tables created
    on first use (and again until no open transaction could still roll them back)."""

    def __init__(self, store, schema: str):
        self._store, self._schema, self._ready = store, schema, False

    @property
    def db(self):
        db = self._store.db
        if not self._ready:
            self._ready = create_tables(db, self._schema)
            if not self._ready and self._confirm not in self._store.on_commit:
                self._store.on_commit.append(self._confirm)  # made inside a transaction: kept once it commits
        return db

    def _confirm(self) -> None:
        """After a commit: are the tables there now (the transaction that made them committed)?"""
        if table_exists(self._store.db, _first_table(self._schema)):
            self._ready = True
            self._store.on_commit.remove(self._confirm)


def _first_table(schema: str) -> str:
    return re.search(r"CREATE TABLE IF NOT EXISTS (\w+)", schema).group(1)


def table_exists(db, table: str) -> bool:
    if getattr(db, "dialect", "sqlite") == "postgresql":
        return db.execute("SELECT to_regclass(?) IS NOT NULL", (table,)).fetchone()[0]
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone() is not None


@contextmanager
def atomic(db):
    """The block's statements in one write transaction: the open one if any (they commit or roll back
    with it), else one of their own."""
    if db.in_transaction:
        yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
