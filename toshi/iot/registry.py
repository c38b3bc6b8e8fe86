"""Where service groups and devices live: two tables in the store's database, created on first use.
Each row is the provisioned JSON document, as the IoT Agent's registry keeps it.

Groups are unique by (resource, apikey) across tenants (the southbound finds its tenant through
them); devices by (tenant, service path, device_id). Counters of received measures are in memory.
"""

from __future__ import annotations

import orjson

from toshi.store import FeatureTables, attached

SCHEMA = """
CREATE TABLE IF NOT EXISTS iot_groups (
    tenant TEXT NOT NULL, subservice TEXT NOT NULL, resource TEXT NOT NULL, apikey TEXT NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY (resource, apikey)
);
CREATE TABLE IF NOT EXISTS iot_devices (
    tenant TEXT NOT NULL, subservice TEXT NOT NULL, device_id TEXT NOT NULL, apikey TEXT NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY (tenant, subservice, device_id)
);
CREATE INDEX IF NOT EXISTS iot_devices_by_key ON iot_devices (apikey, device_id);
"""


class IotRegistry:
    def __init__(self, store):
        self._store = store
        self._tables = FeatureTables(store, SCHEMA)
        self.version = 0  # bumped on every provisioning change (caches built from the registry check it)
        self.stats: dict[tuple[str, str, str], dict] = {}
        store.watch("iot.registry", lambda _: self._bump())  # provisioned through another process

    def _changed(self) -> None:
        self._bump()
        self._store.publish("iot.registry")

    def _bump(self) -> None:
        self.version += 1

    @property
    def _db(self):
        return self._tables.db

    # -- groups -----------------------------------------------------------------------------------

    def groups(self, tenant: str, subservice: str | None) -> list[dict]:
        sql, args = "SELECT doc FROM iot_groups WHERE tenant=?", [tenant]
        if subservice is not None:
            sql, args = sql + " AND subservice=?", [*args, subservice]
        return [orjson.loads(r[0]) for r in self._db.execute(sql + " ORDER BY rowid", args)]

    def group(self, resource: str, apikey: str) -> dict | None:
        row = self._db.execute("SELECT doc FROM iot_groups WHERE resource=? AND apikey=?",
                               (resource, apikey)).fetchone()
        return orjson.loads(row[0]) if row else None

    def group_by_apikey(self, apikey: str, resource: str) -> dict | None:
        """The group of a southbound request: the one for this resource, else any with the apikey."""
        return self.group(resource, apikey) or next(
            (orjson.loads(r[0]) for r in self._db.execute(
                "SELECT doc FROM iot_groups WHERE apikey=? ORDER BY rowid LIMIT 1", (apikey,))), None)

    def put_group(self, group: dict) -> None:
        self._changed()
        self._db.execute("INSERT INTO iot_groups (tenant, subservice, resource, apikey, doc) "
                         "VALUES (?, ?, ?, ?, ?) ON CONFLICT (resource, apikey) DO UPDATE SET "
                         "tenant=excluded.tenant, subservice=excluded.subservice, doc=excluded.doc",
                         (group["service"], group["subservice"], group["resource"], group["apikey"],
                          orjson.dumps(group).decode()))

    def delete_group(self, resource: str, apikey: str) -> None:
        self._changed()
        self._db.execute("DELETE FROM iot_groups WHERE resource=? AND apikey=?", (resource, apikey))

    # -- devices ----------------------------------------------------------------------------------

    def devices(self, tenant: str, subservice: str | None) -> list[dict]:
        sql, args = "SELECT doc FROM iot_devices WHERE tenant=?", [tenant]
        if subservice is not None:
            sql, args = sql + " AND subservice=?", [*args, subservice]
        return [orjson.loads(r[0]) for r in self._db.execute(sql + " ORDER BY rowid", args)]

    def device(self, tenant: str, subservice: str, device_id: str) -> dict | None:
        row = self._db.execute("SELECT doc FROM iot_devices WHERE tenant=? AND subservice=? AND device_id=?",
                               (tenant, subservice, device_id)).fetchone()
        return orjson.loads(row[0]) if row else None

    def device_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM iot_devices").fetchone()[0]

    def all_devices(self) -> list[dict]:
        return [orjson.loads(r[0]) for r in self._db.execute("SELECT doc FROM iot_devices ORDER BY rowid")]

    def device_by_apikey(self, apikey: str, device_id: str) -> dict | None:
        row = self._db.execute("SELECT doc FROM iot_devices WHERE apikey=? AND device_id=? ORDER BY rowid LIMIT 1",
                               (apikey, device_id)).fetchone()
        return orjson.loads(row[0]) if row else None

    def put_device(self, device: dict) -> None:
        self._changed()
        self._db.execute("INSERT INTO iot_devices (tenant, subservice, device_id, apikey, doc) "
                         "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, subservice, device_id) DO UPDATE SET "
                         "apikey=excluded.apikey, doc=excluded.doc",
                         (device["service"], device["service_path"], device["device_id"],
                          device.get("apikey") or "", orjson.dumps(device).decode()))

    def delete_device(self, tenant: str, subservice: str, device_id: str) -> None:
        self._changed()
        self._db.execute("DELETE FROM iot_devices WHERE tenant=? AND subservice=? AND device_id=?",
                         (tenant, subservice, device_id))
        self.stats.pop((tenant, subservice, device_id), None)

    # -- counters ---------------------------------------------------------------------------------

    def counters(self, device: dict) -> dict:
        key = (device["service"], device["service_path"], device["device_id"])
        if key not in self.stats:
            self.stats[key] = {"received": 0, "accepted": 0, "rejected": {}, "lastSeen": None}
        return self.stats[key]


def registry_of(services) -> IotRegistry:
    """The IotRegistry of an app (one per store), created on first use."""
    return attached(services.store, IotRegistry)
