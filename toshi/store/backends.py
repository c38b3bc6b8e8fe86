"""Which store a configuration gets: SQLite in the data directory, or PostgreSQL at `database_url`."""

from __future__ import annotations

from toshi.config import Settings


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def store_for(settings: Settings):
    """A (not yet opened) store for these settings."""
    if settings.database_url:
        if not is_postgres(settings.database_url):
            raise ValueError(f"database_url must start with postgresql:// (got {settings.database_url.split(':')[0]}:)")
        from toshi.store.postgres import PostgresStore

        return PostgresStore(settings.database_url, timeout=settings.database_timeout,
                             statement_timeout=settings.request_timeout)
    from toshi.store.sqlite import SqliteStore

    return SqliteStore(settings.database_path)


def describe(settings: Settings) -> str:
    """Where the data lives, for messages (no password)."""
    if settings.database_url:
        from toshi.store.pgsql import safe_url

        return safe_url(settings.database_url)
    return str(settings.data_dir)
