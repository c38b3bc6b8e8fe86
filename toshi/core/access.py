"""The hook through which authorisation reaches the one read path and the one write path.

The auth feature (toshi/auth/) decides who may see and change what; it sets `current_guard` for a
request, and the store's reads and the Writer's edits consult it. Nothing here knows about roles or
policies: a Guard only answers "may this entity be read, and how much of it" and "may this change be
made". No guard (the default) means no restriction, e.g. when authentication is off or for Toshi's own
background work. `current_actor` names who is writing, for the audit trail; `current_deadline` bounds
how long a request's reads may run."""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Protocol


class Guard(Protocol):
    reads_everything: bool  # True when no entity or attribute is hidden: the read path skips filtering

    def readable(self, entity: dict) -> dict | None:
        """The entity as the principal may see it (hidden attributes removed), None if hidden."""

    def check_write(self, before: dict | None, after: dict | None) -> None:
        """Raise an NgsiError (403) if the principal may not make this change."""

    def permitted_attrs(self, action: str, entity: dict):
        """The attribute names of `entity` the principal may `action` (None: all)."""

    def type_visible(self, type_iri: str) -> bool: ...

    def attribute_visible(self, attr_iri: str) -> bool: ...


current_guard: ContextVar[Guard | None] = ContextVar("toshi_guard", default=None)
current_actor: ContextVar[dict | None] = ContextVar("toshi_actor", default=None)
# time.monotonic() after which a read gives up (TooComplexQuery); writes never do (a group commit
# holds other requests' edits)
current_deadline: ContextVar[float | None] = ContextVar("toshi_deadline", default=None)


def past_deadline() -> bool:
    deadline = current_deadline.get()
    return deadline is not None and time.monotonic() > deadline


def read_guard() -> Guard | None:
    """The current request's guard when it hides something from reads, else None (nothing to filter)."""
    guard = current_guard.get()
    return None if guard is None or guard.reads_everything else guard


def readable(entity: dict | None) -> dict | None:
    guard = read_guard()
    return entity if guard is None or entity is None else guard.readable(entity)
