"""The one read path's decision, and the hook through which it reaches the write path.

Every outlet that lets data leave (retrieve, query, batch query, discovery, temporal, notifications,
the live stream, forwarded and federated answers, exports) asks `visible(entity)` — or, for a whole
query, `sight()` — what the current reader may see. The answer is composed from a stack of read
filters that features declare (toshi/core/feature.py `read_filters`), always in the same order:
tenant, role/attribute rules, personal-data consent, expiry. Each filter is written once; a new
outlet gets all of them by calling the one function.

A filter turns a reader (principal + tenant) into a Guard, or None when it hides nothing from that
reader. The request gate sets the composed guard of each request (`current_guard`); background work
(notifications, federation) reads as the principal that owns it through `ReadPath.reading_as`.
`current_actor` names who is writing, for the audit trail; `current_deadline` bounds how long a
request's reads may run."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

# The fixed order of the read path's layers (a filter's `order`); lower runs first.
TENANT, RULES, CONSENT, EXPIRY = 10, 20, 30, 40


class Guard(Protocol):
    reads_everything: bool  # True when no entity or attribute is hidden: the read path skips filtering

    def readable(self, entity: dict) -> dict | None:
        """The entity as the principal may see it (hidden attributes removed), None if hidden."""

    def check_write(self, before: dict | None, after: dict | None) -> None:
        """Raise an NgsiError (403) if the principal may not make this change."""

    def permitted_attrs(self, action: str, entity: dict):
        """The attribute names of `entity` the principal may `action` (None: all; empty: none)."""

    def type_visible(self, type_iri: str) -> bool: ...

    # Optional: `keeps_matches(query) -> bool`, True when hiding cannot change which entities `query`
    # (toshi/query/planner.py EntityQuery) matches — no entity hidden whole, no attribute the query
    # reads hidden — so a store pages in SQL and judges only the page (toshi/store/reading.py).
    # Without it a store judges every candidate before paging.
    # Optional: `readable_page(entities) -> list`, `readable` of each of a store's page in one call
    # (None stays None): a guard that judges pages (the consent layer) saves a call per entity. See views().

    def attribute_visible(self, attr_iri: str) -> bool: ...


@dataclass(frozen=True)
class Reader:
    """Who reads: the principal (the auth feature's Principal; opaque here) in a tenant, and why (the
    purpose personal-data consent is given for; None: the request's own, if any)."""

    principal: Any
    tenant: str
    purpose: str | None = None


class ReadFilter(Protocol):
    order: int  # TENANT, RULES, CONSENT or EXPIRY
    # Optional `always = True`: the layer applies with authentication off too (the reader's principal
    # is then None), as personal-data consent must; the role rules do not.

    def guard_for(self, reader: Reader) -> Guard | None:
        """What this layer hides from `reader` (None: nothing)."""


current_guard: ContextVar[Guard | None] = ContextVar("toshi_guard", default=None)
# how the request's guard is made (called again, it gives the guard as the reader's rights are now): a
# reader holding a view for long (a live stream) makes its guard afresh when rights change
current_guard_maker: ContextVar[Callable[[], Guard | None] | None] = ContextVar("toshi_guard_maker", default=None)
current_actor: ContextVar[dict | None] = ContextVar("toshi_actor", default=None)
# time.monotonic() after which a read gives up (TooComplexQuery); writes never do (a group commit
# holds other requests' edits)
current_deadline: ContextVar[float | None] = ContextVar("toshi_deadline", default=None)
# True while a store only judges whether an entity matches a query (nothing leaves yet): a layer that
# records what it lets through (personal-data access logging) records nothing then
judging: ContextVar[bool] = ContextVar("toshi_judging", default=False)


def past_deadline() -> bool:
    deadline = current_deadline.get()
    return deadline is not None and time.monotonic() > deadline


def sight() -> Guard | None:
    """The current reader's guard when it hides something from reads, else None (nothing to filter)."""
    guard = current_guard.get()
    return None if guard is None or guard.reads_everything else guard


read_guard = sight  # the older name, kept for the store's plans


def visible(entity: dict | None) -> dict | None:
    """The one read function: `entity` as the current reader may see it, None when hidden."""
    guard = sight()
    return entity if guard is None or entity is None else guard.readable(entity)


readable = visible


def views(guard: Guard, entities: list) -> list:
    """`guard.readable` of each of `entities` (None stays None): a store's page judged in one call
    when the guard has `readable_page`."""
    page = getattr(guard, "readable_page", None)
    if page is not None:
        return page(entities)
    return [None if entity is None else guard.readable(entity) for entity in entities]


def handed_over(entities: list) -> list:
    """Release the entities of an answer: views the read path gave while a store only judged them
    (`judging`, e.g. a page read with one more entity to tell whether a next page exists). The layers
    that record what leaves (`release`: the consent layer's access log) note them in one go; a layer
    without `release` is asked `readable` again. Returns `entities`."""
    guard = sight()
    if guard is not None and not judging.get():
        release = getattr(guard, "release", None)
        if release is not None:
            release(entities)
        else:
            for entity in entities:
                if entity is not None:
                    guard.readable(entity)
    return entities


def visible_attrs(entity: dict) -> Any:
    """The attribute names of `entity` the current reader may read (None: all; empty: none)."""
    guard = sight()
    return None if guard is None else guard.permitted_attrs("read", entity)


# -- the stack --------------------------------------------------------------------------------------

class ReadPath:
    """The read filters of the running features, in their fixed order."""

    def __init__(self, filters: Sequence[ReadFilter] = ()):
        self.filters: list[ReadFilter] = []
        self.unconditional = False  # some layer applies with authentication off too
        self.owner_of = None  # (tenant, subscription id) -> principal: set by the auth feature
        self.purpose_of = None  # (tenant, subscription id) -> purpose or None: set by the consent feature
        self._watchers: list = []
        self.use(filters)

    def use(self, filters: Sequence[ReadFilter]) -> None:
        """Add layers (each goes to its place in the fixed order)."""
        self.filters = sorted([*self.filters, *filters], key=lambda f: f.order)
        self.unconditional = any(getattr(f, "always", False) for f in self.filters)

    def watch(self, callback) -> None:
        """Call `callback()` whenever what readers may see changed without an entity changing."""
        self._watchers.append(callback)

    def changed(self) -> None:
        """A layer's rights changed (a consent granted or revoked, a declaration): readers holding a
        view for long (the live streams) look at it again. May be called from any thread."""
        for callback in list(self._watchers):
            callback()

    def guard_for(self, reader: Reader) -> Guard | None:
        """The composed guard of `reader` (None: nothing is hidden and nothing checked)."""
        return stacked([f.guard_for(reader) for f in self.filters])

    def unconditional_guard_for(self, reader: Reader) -> Guard | None:
        """Only the layers that apply whatever the authentication (public paths, authentication off)."""
        return stacked([f.guard_for(reader) for f in self.filters if getattr(f, "always", False)])

    def guard_of_subscription(self, tenant: str, subscription_id: str) -> Guard | None:
        """What the owner of a subscription may read (notifications are filtered by it)."""
        purpose = self.purpose_of(tenant, subscription_id) if self.purpose_of is not None else None
        if self.owner_of is None:
            return self.guard_for(Reader(None, tenant, purpose)) if self.filters else None
        return self.guard_for(Reader(self.owner_of(tenant, subscription_id), tenant, purpose))

    @contextmanager
    def reading_as(self, guard: Guard | None):
        """Run the block's reads with `guard` (background work reading for a principal)."""
        token = current_guard.set(guard)
        try:
            yield
        finally:
            current_guard.reset(token)


def stacked(guards: Sequence[Guard | None]) -> Guard | None:
    present = [g for g in guards if g is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else Stacked(present)


class Stacked:
    """Several guards as one: what every layer lets through."""

    def __init__(self, guards: Sequence[Guard]):
        self.guards = list(guards)
        self.reads_everything = all(g.reads_everything for g in self.guards)

    def readable(self, entity: dict) -> dict | None:
        for guard in self.guards:
            if entity is None:
                return None
            if not guard.reads_everything:
                entity = guard.readable(entity)
        return entity

    def readable_page(self, entities: list) -> list:
        for guard in self.guards:
            if not guard.reads_everything:
                entities = views(guard, entities)
        return entities

    def release(self, entities: list) -> None:
        """handed_over: each layer that records releases notes the (final) views."""
        for guard in self.guards:
            release = getattr(guard, "release", None)
            if release is not None:
                release(entities)

    def check_write(self, before: dict | None, after: dict | None) -> None:
        for guard in self.guards:
            guard.check_write(before, after)

    def permitted_attrs(self, action: str, entity: dict):
        sets = [g.permitted_attrs(action, entity) for g in self.guards]
        sets = [s for s in sets if s is not None]
        if not sets:
            return None
        if any(not s for s in sets):
            return frozenset()
        return sets[0] if len(sets) == 1 else _AllOf(sets)

    def keeps_matches(self, query) -> bool:
        """Whether no layer can change what `query` matches (see Guard.keeps_matches)."""
        return all(g.reads_everything or (getattr(g, "keeps_matches", None) is not None and g.keeps_matches(query))
                   for g in self.guards)

    def type_visible(self, type_iri: str) -> bool:
        return all(g.type_visible(type_iri) for g in self.guards)

    def attribute_visible(self, attr_iri: str) -> bool:
        return all(g.attribute_visible(attr_iri) for g in self.guards)


class _AllOf:
    """The attribute names in every one of several sets (each may be a complement, see auth)."""

    def __init__(self, sets):
        self.sets = sets

    def __contains__(self, name) -> bool:
        return all(name in s for s in self.sets)

    def __bool__(self) -> bool:
        return True
