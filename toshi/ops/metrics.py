"""Prometheus metrics (prometheus-client): the requests, timed by route and status, observed by the
access-log middleware; and the town's figures, read at scrape time from what the features already
keep (the change log, the outbox, the dead letters, the IoT agent's counters, the tables' rows), so
nothing on the write path counts for the metrics' sake."""

from __future__ import annotations

import logging
import os
import time

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from toshi import __version__

log = logging.getLogger("toshi.ops")
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
COUNTED_TABLES = {  # gauge name -> (table, help)
    "toshi_subscriptions": ("subscriptions", "Subscriptions (NGSI-LD and NGSI-v2)"),
    "toshi_dead_letters": ("dead_letters", "Notifications that failed every attempt (see /admin/notifications)"),
    "toshi_history_rows": ("attr_history", "Rows of temporal attribute history"),
    "toshi_audit_records": ("audit_log", "Records of the audit trail"),
    "toshi_audit_checkpoints": ("audit_checkpoints", "Signed checkpoints of the audit trail"),
    "toshi_iot_devices": ("iot_devices", "Provisioned IoT devices"),
}
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self, services):
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Histogram("toshi_http_request_duration_seconds", "HTTP requests by route and status",
                                  ["method", "route", "status"], registry=self.registry, buckets=BUCKETS)
        self._children: dict[tuple, object] = {}
        self.town = TownFigures(services)
        self.registry.register(self.town)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.requests.labels(method, route, str(status))
        child.observe(seconds)

    async def render(self) -> bytes:
        await self.town.refresh()
        return generate_latest(self.registry)


class TownFigures:
    """A custom collector: the figures gathered by `refresh()` just before a scrape."""

    def __init__(self, services):
        self.services = services
        self.started = time.time()
        self.figures: dict = {}

    async def refresh(self) -> None:
        store = self.services.store
        figures: dict = {"changes": await store.changes.last_seq(), "queued": store.outbox.pending(),
                         "entities": _count(store.db, "SELECT tenant, count(*) FROM entities GROUP BY tenant"),
                         "store_bytes": store_bytes(store)}
        for name, (table, _) in COUNTED_TABLES.items():
            rows = _count(store.db, f"SELECT '', count(*) FROM {table}")
            figures[name] = rows.get("") if rows is not None else None
        notifier = self.services.notifier
        figures["notifications"] = dict(getattr(notifier, "results", {}))
        figures["iot"] = _iot(self.services.features.get("iot"))
        self.figures = figures

    def collect(self):
        f = self.figures
        yield _gauge("toshi_info", "This Toshi's version", 1, {"version": __version__})
        yield _gauge("toshi_start_time_seconds", "When this server started (Unix time)", self.started)
        if not f:
            return
        yield CounterMetricFamily("toshi_entity_changes", "Entity changes written (the change log's sequence)",
                                  value=f["changes"])
        entities = GaugeMetricFamily("toshi_entities", "Entities by tenant", labels=["tenant"])
        for tenant, count in sorted((f["entities"] or {}).items()):
            entities.add_metric([tenant], count)
        yield entities
        yield _gauge("toshi_notifications_queued", "Notifications waiting in the durable outbox", f["queued"])
        results = CounterMetricFamily("toshi_notifications", "Notification attempts by outcome",
                                      labels=["outcome"])
        for outcome in ("sent", "failed"):
            results.add_metric([outcome], f["notifications"].get(outcome, 0))
        yield results
        for name, (_, text) in COUNTED_TABLES.items():
            if f.get(name) is not None:
                yield _gauge(name, text, f[name])
        if f["store_bytes"] is not None:
            yield _gauge("toshi_store_bytes", "Size of the database on disk", f["store_bytes"])
        iot = f["iot"]
        if iot is not None:
            measures = CounterMetricFamily("toshi_iot_measures", "IoT measures by outcome", labels=["outcome"])
            for outcome in ("accepted", "rejected"):
                measures.add_metric([outcome], iot[outcome])
            yield measures
            if iot["mqtt"] is not None:
                yield _gauge("toshi_iot_mqtt_connected", "1 while the IoT agent is connected to its broker",
                             1 if iot["mqtt"] else 0)


def _gauge(name: str, text: str, value, labels: dict | None = None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, text, labels=list(labels or {}))
    family.add_metric(list((labels or {}).values()), value)
    return family


def _count(db, sql: str) -> dict | None:
    """{label: count} of a `SELECT label, count(*)` statement; None when the table is not there."""
    try:
        return {str(label): count for label, count in db.execute(sql).fetchall()}
    except Exception:  # a feature's table not made yet, or the database gone (health says which)
        return None


def _iot(feature) -> dict | None:
    agent = getattr(feature, "agent", None)
    if agent is None:
        return None
    accepted = rejected = 0
    for counters in list(agent.registry.stats.values()):
        accepted += counters.get("accepted", 0)
        rejected += sum(counters.get("rejected", {}).values())
    rejected += sum(agent.refused.values())
    mqtt = agent.mqtt.connected if agent.mqtt is not None else None
    return {"accepted": accepted, "rejected": rejected, "mqtt": mqtt}


def store_bytes(store) -> int | None:
    """The database's size: the SQLite file with its write-ahead log, or the PostgreSQL schema's tables."""
    db = store.db
    if getattr(db, "dialect", "sqlite") == "postgresql":
        rows = _count(db, "SELECT '', coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                          "JOIN pg_namespace n ON n.oid = c.relnamespace "
                          "WHERE n.nspname = current_schema() AND c.relkind = 'r'")
        return int(rows[""]) if rows else None
    path = getattr(store, "path", "")
    if not path or path == ":memory:":
        return None
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
