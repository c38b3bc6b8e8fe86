"""The store: tables, transactions, the change log and query plans — the ground floor.

What features use of it is named here (their public interface to the store); the backends
(`sqlite.py`, `postgres.py`) and their plans are the store's own business."""

from toshi.store.attached import attached
from toshi.store.backends import describe, is_postgres, store_for
from toshi.store.linked_q import resolve_linked
from toshi.store.migrations import latest as latest_schema
from toshi.store.migrations import version_of as schema_version
from toshi.store.tables import FeatureTables, atomic, create_tables, dialect_ddl, table_exists

__all__ = ["FeatureTables", "atomic", "attached", "create_tables", "describe", "dialect_ddl", "is_postgres", "latest_schema",
           "resolve_linked", "schema_version", "store_for", "table_exists"]
