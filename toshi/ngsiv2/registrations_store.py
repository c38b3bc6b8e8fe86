"""Where NGSI-v2 registrations live: one table in the store's database, created on first use.

Registrations are few and read on every forwarding decision, so each tenant's list is kept in memory
(the store owns its database file: no other process writes it) and reloaded after every change.
"""

from __future__ import annotations

import orjson

from toshi.store import FeatureTables, attached

SCHEMA = """
CREATE TABLE IF NOT EXISTS v2_registrations (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
)
"""


class RegistrationStore:
    def __init__(self, store):
        self._store = store
        self._tables = FeatureTables(store, SCHEMA)
        self._cache: dict[str, list[dict]] = {}
        store.watch("v2.registrations", lambda tenant: self._cache.pop(tenant, None))  # another process

    @property
    def _db(self):
        return self._tables.db

    def all(self, tenant: str) -> list[dict]:
        """The tenant's registrations in creation order (shared objects: do not mutate)."""
        if tenant not in self._cache:
            rows = self._db.execute("SELECT doc FROM v2_registrations WHERE tenant=? ORDER BY rowid", (tenant,))
            self._cache[tenant] = [orjson.loads(r[0]) for r in rows]
        return self._cache[tenant]

    def get(self, tenant: str, registration_id: str) -> dict | None:
        return next((r for r in self.all(tenant) if r["id"] == registration_id), None)

    def put(self, tenant: str, registration: dict) -> None:
        self._db.execute("INSERT INTO v2_registrations (tenant, id, doc) VALUES (?, ?, ?) "
                         "ON CONFLICT (tenant, id) DO UPDATE SET doc = excluded.doc",
                         (tenant, registration["id"], orjson.dumps(registration).decode()))
        self._changed(tenant)

    def delete(self, tenant: str, registration_id: str) -> bool:
        deleted = self._db.execute("DELETE FROM v2_registrations WHERE tenant=? AND id=?",
                                   (tenant, registration_id)).rowcount
        self._changed(tenant)
        return deleted > 0

    def _changed(self, tenant: str) -> None:
        self._cache.pop(tenant, None)
        self._store.publish("v2.registrations", tenant)


def registrations_of(services) -> RegistrationStore:
    """The RegistrationStore of an app (one per store), created on first use."""
    return attached(services.store, RegistrationStore)
