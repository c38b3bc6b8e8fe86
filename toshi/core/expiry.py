"""Expiry of transient entities (Orion's `dateExpires`), as a predicate on the internal entity, so
every API's reads can hide expired entities (toshi.ngsiv2.expiry writes and sweeps them).

An entity expires when its attribute `dateExpires` (the core context's default-vocabulary IRI) has a
default instance whose value is an ISO 8601 date-time at or before now. An NGSI-LD attribute instance
with `expiresAt` (a transient attribute, v1.9.1 clause 4.22) expires alone at that instant:
`unexpired_attributes` leaves it out (toshi/ngsild/transient.py removes it through the write path).

`ExpiryFilter` is the read path's expiry layer (toshi/core/access.py, order EXPIRY): from the instant
of expiry an expired entity is hidden and an expired attribute instance left out for every outlet —
retrieve, queries and their `q` (the store judges each candidate's view, toshi/store/reading.py),
NGSI-v2, the temporal API's entity filters, subscriptions — before the sweepers delete them. It hides
something only in a tenant known to hold transient data (`mark_transient`), so other tenants' queries
keep their all-SQL plan. The notifier judges a change's states at their own instants (`as_of`).
"""

from __future__ import annotations

import weakref
from contextlib import contextmanager
from contextvars import ContextVar

from toshi.core.access import EXPIRY
from toshi.core.times import instant_key, now_iso

EXPIRES_IRI = "https://uri.etsi.org/ngsi-ld/default-context/dateExpires"


def expiry_of(entity: dict) -> str | None:
    """The entity's expiry as an instant key (comparable text), or None when it has none: NGSI-LD's
    `expiresAt` member, else Orion's `dateExpires` attribute."""
    if isinstance(entity.get("expiresAt"), str):
        return instant_key(entity["expiresAt"])
    instances = (entity.get("attrs") or {}).get(EXPIRES_IRI)
    if not instances:
        return None
    inst = next((i for i in instances if "datasetId" not in i), instances[0])
    value = inst.get("value")
    return instant_key(value) if isinstance(value, str) else None


def is_expired(entity: dict | None, now: str | None = None) -> bool:
    if entity is None:
        return False
    expiry = expiry_of(entity)
    return expiry is not None and expiry <= instant_key(now or now_iso())


def unexpired_attributes(entity: dict, now: str | None = None) -> dict:
    """The entity without its attribute instances whose `expiresAt` has come (itself when none has)."""
    if not any("expiresAt" in inst for instances in entity["attrs"].values() for inst in instances):
        return entity
    now_key = instant_key(now or now_iso())
    attrs = {iri: [inst for inst in instances if not _past(inst.get("expiresAt"), now_key)]
             for iri, instances in entity["attrs"].items()}
    if all(len(attrs[iri]) == len(instances) for iri, instances in entity["attrs"].items()):
        return entity
    return {**entity, "attrs": {iri: kept for iri, kept in attrs.items() if kept}}


def _past(expires_at, now_key: str) -> bool:
    key = instant_key(expires_at) if isinstance(expires_at, str) else None
    return key is not None and key <= now_key


def not_expired(entity: dict) -> bool:
    """A query predicate (EntityQuery.extra): the entity has not expired."""
    return not is_expired(entity)


# The tenants of each store known to hold transient entities (`expiresAt`, `dateExpires`), and those known
# to hold transient attribute instances (toshi/ngsild/transient.py keeps both)
_transient_tenants: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_transient_attribute_tenants: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def mark_transient(store, tenant: str, *, attributes_only: bool = False) -> None:
    """The tenant holds transient entities (or, `attributes_only`, transient attribute instances)."""
    known = _transient_attribute_tenants if attributes_only else _transient_tenants
    known.setdefault(store, set()).add(tenant)


def holds_transient(store, tenant: str) -> bool:
    """The tenant is known to hold transient entities."""
    return tenant in _transient_tenants.get(store, ())


def holds_transient_attributes(store, tenant: str) -> bool:
    return tenant in _transient_attribute_tenants.get(store, ())


def expires_whole(entity: dict) -> bool:
    """The entity itself may expire (`expiresAt`, or NGSI-v2's `dateExpires`)."""
    return expiry_of(entity) is not None


def has_expiring_attributes(entity: dict) -> bool:
    """An attribute instance of the entity may expire."""
    return any("expiresAt" in inst for instances in entity["attrs"].values() for inst in instances)


# the instant the expiry layer judges at (None: now); the notifier sets a change's own instants
_judged_at: ContextVar[str | None] = ContextVar("toshi_expiry_at", default=None)


@contextmanager
def as_of(instant: str | None):
    """Judge expiry at `instant` (None: now) inside the block."""
    token = _judged_at.set(instant)
    try:
        yield
    finally:
        _judged_at.reset(token)


class _ExpiryGuard:
    """Hides expired entities and expired attribute instances; checks no write (the write path treats
    an expired entity as gone itself, toshi/core/entity.py). `whole`: the tenant holds transient
    entities, so hiding may change which entities any query matches; else only transient attributes,
    which change the matches only of a query reading attributes."""

    reads_everything = False

    def __init__(self, whole: bool):
        self.whole = whole

    def keeps_matches(self, query) -> bool:
        return not self.whole and query.attrs is None and query.q is None and query.geo is None

    def readable(self, entity: dict) -> dict | None:
        now = _judged_at.get() or now_iso()
        return None if is_expired(entity, now) else unexpired_attributes(entity, now)

    def check_write(self, before, after) -> None:
        return None

    def permitted_attrs(self, action: str, entity: dict):
        return None

    def type_visible(self, type_iri: str) -> bool:
        return True

    def attribute_visible(self, attr_iri: str) -> bool:
        return True


_WHOLE, _ATTRIBUTES = _ExpiryGuard(True), _ExpiryGuard(False)


class ExpiryFilter:
    """The read path's expiry layer (declared by the NGSI-LD feature, whose listener marks the tenants
    that hold transient data). It applies with authentication off too."""

    order = EXPIRY
    always = True

    def __init__(self, store):
        self.store = store

    def guard_for(self, reader) -> _ExpiryGuard | None:
        if holds_transient(self.store, reader.tenant):
            return _WHOLE
        return _ATTRIBUTES if holds_transient_attributes(self.store, reader.tenant) else None


async def hide_expired(store, tenant: str, query) -> None:
    """Make `query` skip expired entities — only when the tenant has transient entities at all, so
    ordinary queries keep their all-SQL plan."""
    if holds_transient(store, tenant) or await store.has_attribute(tenant, EXPIRES_IRI):
        query.extra.append(not_expired)
