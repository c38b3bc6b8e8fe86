"""The one write path. Every API, importer and agent changes entities only through `apply`.

An edit is `(entity_id, function)`: the function gets the entity's current state (or None) and
returns the new state (None deletes), optionally as `(state, detail)` with a dict of extras for the
caller (e.g. attributes not updated), or raises an NgsiError for that entity alone. All edits of one
call commit in one transaction; a failing edit is reported and skipped, the others are applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from toshi.core.entity import now_iso
from toshi.core.errors import NgsiError

Edit = Callable[[dict | None], "dict | None | tuple[dict | None, dict]"]


@dataclass
class Change:
    """What one edit did to one entity: the unit the change log, history and notifications use."""

    tenant: str
    entity_id: str
    before: dict | None
    after: dict | None
    detail: dict = field(default_factory=dict)  # operation-specific extras (e.g. not-updated attrs)
    seq: int | None = None                       # the change-log sequence number


@dataclass
class Outcome:
    entity_id: str
    change: Change | None = None
    error: NgsiError | None = None


ChangeListener = Callable[[object, list[Change]], None]


class Writer:
    """Runs edits against a store. Listeners are called inside the transaction with its changes,
    so whatever they record (change log, audit) commits or rolls back with the state."""

    def __init__(self, store):
        self.store = store
        self.listeners: list[ChangeListener] = []

    async def apply(self, tenant: str, edits: list[tuple[str, Edit]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        async with self.store.transaction(tenant) as tx:
            changes = [self._apply_one(tx, tenant, entity_id, edit, outcomes) for entity_id, edit in edits]
            changes = [c for c in changes if c is not None]
            for listener in self.listeners:
                listener(tx, changes)
        return outcomes

    async def apply_one(self, tenant: str, entity_id: str, edit: Edit) -> Change:
        """A single edit whose error is raised to the caller (the single-entity endpoints)."""
        outcome = (await self.apply(tenant, [(entity_id, edit)]))[0]
        if outcome.error is not None:
            raise outcome.error
        return outcome.change

    @staticmethod
    def _apply_one(tx, tenant: str, entity_id: str, edit: Edit, outcomes: list[Outcome]) -> Change | None:
        before = tx.get(entity_id)
        try:
            after = edit(before)
        except NgsiError as exc:
            outcomes.append(Outcome(entity_id, error=exc))
            return None
        detail = {}
        if isinstance(after, tuple):
            after, detail = after
        seq = None
        if after is None:
            if before is not None:
                seq = tx.delete(entity_id, before, at=now_iso())
        else:
            seq = tx.put(after, before)
        change = Change(tenant, entity_id, before, after, detail, seq)
        outcomes.append(Outcome(entity_id, change=change))
        return change
