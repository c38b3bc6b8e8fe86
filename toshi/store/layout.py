"""The store's own tables, declared the way features declare theirs (toshi/core/feature.py Table): what
backups keep of the store and restores make for it.

Primary: meta, tenants, entities, stored @contexts, the change log and its cursors, subscriptions, the
outbox and dead letters (SQLite-flavoured DDL, as features write theirs). Derived: the indexes both
backends rebuild from the entities (DERIVED_TABLES in sqlite.py and postgres.py), never in a backup.

It imports both backends (PostgreSQL's driver with them): backup, restore and migration use it, the
server does not (an SQLite server never loads psycopg)."""

from __future__ import annotations

from toshi.core.feature import Table, tables_of
from toshi.store import postgres, sql_changes, sqlite


def _store_tables() -> tuple[Table, ...]:
    tables = tables_of(sqlite.SCHEMA, derived=sqlite.DERIVED_TABLES) + tables_of(sql_changes.SCHEMA)
    named = {table.name for table in tables}
    pg_only = tuple(table for table in tables_of(postgres.SCHEMA, derived=postgres.DERIVED_TABLES)
                    if table.derived and table.name not in named)  # geo_boxes: SQLite's geo_index
    return tables + pg_only


STORE_TABLES = _store_tables()
