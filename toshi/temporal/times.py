"""Instants as integer milliseconds since the Unix epoch: how the history stores and compares times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@lru_cache(maxsize=8192)
def to_ms(iso: str) -> int:
    """A normalized UTC DateTime (`2026-11-24T09:00:00.123Z`, as the parser stores it) -> milliseconds."""
    return (datetime.fromisoformat(iso) - EPOCH) // _MS


def to_iso(ms: int) -> str:
    """Milliseconds -> `YYYY-MM-DDTHH:MM:SS.mmmZ`."""
    moment = EPOCH + timedelta(milliseconds=ms)
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%S')}.{ms % 1000:03d}Z"
