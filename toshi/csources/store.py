"""Where context source registrations live: one table in the store's database, per tenant.

Registrations are few and read on every distributed read, so each tenant's list is kept in memory and
reloaded after every change (other processes on the same PostgreSQL database are told through
`store.publish`). Forwarding statistics (timesSent, timesFailed, lastSuccess, lastFailure, status, and
the cooldown after a failure) are kept in memory by the process that forwarded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson

from toshi.core.times import now_iso
from toshi.store import FeatureTables, attached

SCHEMA = """
CREATE TABLE IF NOT EXISTS csource_registrations (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
)
"""
TOPIC = "csource.registrations"


@dataclass
class Statistics:
    times_sent: int = 0
    times_failed: int = 0
    last_success: str | None = None
    last_failure: str | None = None
    failed: bool = False
    cool_until: float = 0.0   # time.monotonic() before which the source is not asked again

    def rendered(self) -> dict:
        if not self.times_sent:
            return {}
        out: dict = {"status": "failed" if self.failed else "ok", "timesSent": self.times_sent,
                     "timesFailed": self.times_failed}
        if self.last_success:
            out["lastSuccess"] = self.last_success
        if self.last_failure:
            out["lastFailure"] = self.last_failure
        return out


class RegistrationStore:
    def __init__(self, store):
        self._store = store
        self._tables = FeatureTables(store, SCHEMA)
        self._cache: dict[str, list[dict]] = {}
        self.statistics: dict[tuple[str, str], Statistics] = {}
        store.watch(TOPIC, lambda tenant: self._cache.pop(tenant, None))

    @property
    def _db(self):
        return self._tables.db

    def all(self, tenant: str) -> list[dict]:
        """The tenant's registrations in creation order (shared objects: do not mutate)."""
        if tenant not in self._cache:
            rows = self._db.execute("SELECT doc FROM csource_registrations WHERE tenant=? ORDER BY rowid", (tenant,))
            self._cache[tenant] = [orjson.loads(r[0]) for r in rows]
        return self._cache[tenant]

    def active(self, tenant: str) -> list[dict]:
        """Those not expired."""
        now = now_iso()
        return [r for r in self.all(tenant) if r.get("expiresAt") is None or r["expiresAt"] > now]

    def get(self, tenant: str, registration_id: str) -> dict | None:
        return next((r for r in self.all(tenant) if r["id"] == registration_id), None)

    def put(self, tenant: str, registration: dict) -> None:
        self._db.execute("INSERT INTO csource_registrations (tenant, id, doc) VALUES (?, ?, ?) "
                         "ON CONFLICT (tenant, id) DO UPDATE SET doc = excluded.doc",
                         (tenant, registration["id"], orjson.dumps(registration).decode()))
        self._changed(tenant)

    def delete(self, tenant: str, registration_id: str) -> bool:
        deleted = self._db.execute("DELETE FROM csource_registrations WHERE tenant=? AND id=?",
                                   (tenant, registration_id)).rowcount
        self.statistics.pop((tenant, registration_id), None)
        self._changed(tenant)
        return deleted > 0

    def stats(self, tenant: str, registration_id: str) -> Statistics:
        return self.statistics.setdefault((tenant, registration_id), Statistics())

    def record(self, tenant: str, registration: dict, ok: bool) -> None:
        """Count one forwarded request; a failure starts the registration's cooldown, if it has one."""
        stats = self.stats(tenant, registration["id"])
        stats.times_sent += 1
        stats.failed = not ok
        if ok:
            stats.last_success = now_iso()
            return
        stats.times_failed += 1
        stats.last_failure = now_iso()
        cooldown = (registration.get("management") or {}).get("cooldown")
        if cooldown:
            stats.cool_until = time.monotonic() + cooldown / 1000

    def cooling(self, tenant: str, registration_id: str) -> bool:
        stats = self.statistics.get((tenant, registration_id))
        return stats is not None and stats.cool_until > time.monotonic()

    def _changed(self, tenant: str) -> None:
        self._cache.pop(tenant, None)
        self._store.publish(TOPIC, tenant)


def registrations_of(services) -> RegistrationStore:
    """The RegistrationStore of an app (one per store), created on first use."""
    return attached(services.store, RegistrationStore)
