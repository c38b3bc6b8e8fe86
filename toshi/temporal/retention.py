"""Temporal retention: forget history older than the configured duration, once an hour."""

from __future__ import annotations

import asyncio
import logging

from toshi.temporal.history import history_for

log = logging.getLogger("toshi.temporal")
EVERY_SECONDS = 3600.0


async def keep_pruning(store, retention: str, every: float = EVERY_SECONDS) -> None:
    """Run until cancelled; `retention` is an ISO 8601 duration such as P365D (empty: keep all)."""
    if not retention:
        return
    while True:
        try:
            removed = history_for(store).prune(retention)
            if removed:
                log.info("temporal retention %s: removed %d instances", retention, removed)
        except Exception:
            log.exception("temporal retention failed")
        await asyncio.sleep(every)
