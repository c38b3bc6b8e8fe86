"""The one write path. Every API, importer and agent changes entities only through `apply`.

An edit is `(entity_id, function)`: the function gets the entity's current state (or None) and
returns the new state (None deletes), optionally as `(state, detail)` with a dict of extras for the
caller (e.g. attributes not updated), or raises an NgsiError for that entity alone. All edits of one
call commit in one transaction; a failing edit is reported and skipped, the others are applied.

A change that is not an entity's new state (a feature's own records about the entity, e.g. its
attribute history) is an `Operation` given in place of the function: it runs in the same transaction,
is checked by the same guard, and reaches the listeners as a Change of its own kind.

One kind every feature that keeps copies of entity data must honour: ERASURE, the erasure of a
resident's personal data from an entity (toshi/consent/mydata.py). Its Change's detail names what is
erased, `{"attributes": [expanded names]}` or `{"entity": True}` (the whole entity); each listener
that keeps history of entities (the temporal history) forgets it in the same transaction, so the
erasure and every copy's deletion commit together or not at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from toshi.core.access import current_actor, current_deadline, current_guard
from toshi.core.errors import NgsiError
from toshi.core.times import now_iso

GATHER_TURNS = 1  # event-loop turns a commit waits for more edits: a commit costs ~150 µs whatever its size
EDITS_PER_COMMIT = 1000  # requests gathered into one transaction up to this many edits (callers wait for it)

Edit = Callable[[dict | None], "dict | None | tuple[dict | None, dict]"]
Check = Callable[[dict | None, dict | None], None]  # raises an NgsiError when a change is not allowed
STATE = "state"  # the kind of Change an Edit makes: the entity's state went from `before` to `after`
ERASURE = "erasure"  # the kind of Change of an erasure Operation (see above)


def _unchecked(before: dict | None, after: dict | None) -> None:
    """No guard: every change is allowed."""


@dataclass(frozen=True)
class Operation:
    """A change of a feature's own records about an entity. `run(tx, check)` makes it inside the write
    transaction: first it calls `check(before, after)` with the entity states the change amounts to
    (the caller's guard checks them as it checks an edit), then it changes what it changes and returns
    the detail for the caller and the listeners. It raises an NgsiError, before changing anything,
    when it cannot be made."""

    kind: str                                    # the kind of Change reported to the listeners
    run: Callable[[object, Check], dict]
    check: Check = _unchecked                    # set by the writer: its caller's guard


@dataclass
class Change:
    """What one edit did to one entity: the unit the change log, history and notifications use."""

    tenant: str
    entity_id: str
    before: dict | None
    after: dict | None
    detail: dict = field(default_factory=dict)  # operation-specific extras (e.g. not-updated attrs)
    seq: int | None = None                       # the change-log sequence number
    actor: dict | None = None                    # who wrote it (toshi/core/access.py), for the audit trail
    kind: str = STATE                            # else an Operation's kind (before and after are None)


@dataclass
class Outcome:
    entity_id: str
    change: Change | None = None
    error: NgsiError | None = None


ChangeListener = Callable[[object, list[Change]], None]


class Writer:
    """Runs edits against a store. Listeners are called inside the transaction with its changes,
    so whatever they record (change log, audit) commits or rolls back with the state.

    Group commit: the edits of requests that arrive together (within one event-loop turn) share one
    transaction per tenant, so the cost of a commit is paid once for all of them. Each caller still
    waits for the commit before it answers.
    """

    def __init__(self, store):
        self.store = store
        self.listeners: list[ChangeListener] = []
        self._pending: dict[str, list[tuple[list, asyncio.Future]]] = {}
        self._flush_task: asyncio.Task | None = None

    async def apply(self, tenant: str, edits: list[tuple[str, Edit | Operation]]) -> list[Outcome]:
        """Run the edits in the next group commit. The caller's guard (if any) checks every change
        before it is made; the caller's actor is recorded with it."""
        guard = current_guard.get()
        if guard is not None:
            edits = [(entity_id, _guarded(edit, guard)) for entity_id, edit in edits]
        future = asyncio.get_running_loop().create_future()
        self._pending.setdefault(tenant, []).append(((edits, current_actor.get()), future))
        if self._flush_task is None:
            self._flush_task = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        current_deadline.set(None)  # this task holds many requests' edits: none of their deadlines applies
        for _ in range(GATHER_TURNS):  # let the requests already under way reach apply() and join this commit
            await asyncio.sleep(0)
        pending, self._pending, self._flush_task = self._pending, {}, None
        for tenant, groups in ((t, chunk) for t, every in pending.items() for chunk in _chunks(every)):
            try:
                results = await self._commit(tenant, [edits for edits, _ in groups])
            except BaseException as exc:  # the transaction rolled back: every caller in it failed
                for _, future in groups:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), outcomes in zip(groups, results):
                if not future.done():
                    future.set_result(outcomes)

    async def _commit(self, tenant: str, groups: list[tuple[list[tuple[str, Edit]], dict | None]]
                      ) -> list[list[Outcome]]:
        results: list[list[Outcome]] = []
        async with self.store.transaction(tenant) as tx:
            if hasattr(tx, "expected"):  # a store that reserves numbers for the writes in advance
                tx.expected = sum(len(edits) for edits, _ in groups)
            prefetch = getattr(tx, "prefetch", None)  # a store that reads many entities at once
            if prefetch is not None:
                prefetch([entity_id for edits, _ in groups for entity_id, edit in edits
                          if not isinstance(edit, Operation)])
            changes: list[Change] = []
            for edits, actor in groups:
                outcomes: list[Outcome] = []
                for entity_id, edit in edits:
                    change = self._apply_one(tx, tenant, entity_id, edit, outcomes)
                    if change is not None:
                        change.actor = actor
                        changes.append(change)
                results.append(outcomes)
            _flush(tx)  # the rows gathered per table go out before anyone else reads the tables
            for listener in self.listeners:
                listener(tx, changes)
        return results

    async def apply_one(self, tenant: str, entity_id: str, edit: Edit | Operation) -> Change:
        """A single edit whose error is raised to the caller (the single-entity endpoints)."""
        outcome = (await self.apply(tenant, [(entity_id, edit)]))[0]
        if outcome.error is not None:
            raise outcome.error
        return outcome.change

    @staticmethod
    def _apply_one(tx, tenant: str, entity_id: str, edit: Edit | Operation, outcomes: list[Outcome]
                   ) -> Change | None:
        if isinstance(edit, Operation):
            _flush(tx)  # an operation may read what the edits before it wrote
            return Writer._run(tx, tenant, entity_id, edit, outcomes)
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

    @staticmethod
    def _run(tx, tenant: str, entity_id: str, operation: Operation, outcomes: list[Outcome]) -> Change | None:
        try:
            detail = operation.run(tx, operation.check)
        except NgsiError as exc:
            outcomes.append(Outcome(entity_id, error=exc))
            return None
        change = Change(tenant, entity_id, None, None, detail or {}, kind=operation.kind)
        outcomes.append(Outcome(entity_id, change=change))
        return change


def _flush(tx) -> None:
    """A store's transaction may gather rows and send them per table (`flush`): it does before
    listeners and operations see the tables."""
    flush = getattr(tx, "flush", None)
    if flush is not None:
        flush()


def _chunks(groups: list) -> list[list]:
    """Gathered requests in transactions of at most EDITS_PER_COMMIT edits (a request's own edits
    always share one)."""
    chunks, size = [[]], 0
    for group in groups:
        edits = len(group[0][0])
        if chunks[-1] and size + edits > EDITS_PER_COMMIT:
            chunks.append([])
            size = 0
        chunks[-1].append(group)
        size += edits
    return chunks


def _guarded(edit: Edit | Operation, guard) -> Edit | Operation:
    if isinstance(edit, Operation):
        return replace(edit, check=guard.check_write)

    def checked(before):
        result = edit(before)
        guard.check_write(before, result[0] if isinstance(result, tuple) else result)
        return result
    return checked
