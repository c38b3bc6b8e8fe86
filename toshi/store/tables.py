"""Creating a feature's tables in the store's database without disturbing an open transaction
(sqlite3's executescript would COMMIT it first)."""

from __future__ import annotations


def create_tables(db, schema: str) -> bool:
    """Runs the CREATE ... IF NOT EXISTS statements of `schema`; True when they are surely kept (no
    transaction was open that could still roll them back)."""
    for statement in schema.split(";"):
        if statement.strip():
            db.execute(statement)
    return not db.in_transaction
