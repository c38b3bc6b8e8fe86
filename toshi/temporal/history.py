"""The attribute history of the embedded SQLite store: every attribute instance a write produced.

Three tables in the store's own database file (created here, on `store.db`):

- `temporal_entities`: one row per entity with a history (live, deleted or temporal-only): its types,
  createdAt, modifiedAt, deletedAt, and `doc`, its last known state when the live store does not have
  it (deleted, or only ever written through the temporal API); NULL while the entity is live.
- `temporal_series`: one row per (entity, attribute, datasetId), the unit a history is kept for.
- `attr_history`: one row per attribute instance: its times in milliseconds since the epoch, its
  number (`num`, booleans as 0/1) or string (`str`) value for aggregation, and the instance itself
  (internal representation, JSON). A deletion is a row whose instance carries `deletedAt` and the
  NGSI-LD Null as its value.

Indexes (series, observedAt, num) and (series, modifiedAt) answer lastN and time ranges with one index
range scan however long a history is, and numeric aggregations over observedAt from the index alone.

`record` is a `Writer` listener: it runs inside the write transaction, so history commits or rolls back
with the state. The temporal API writes history only (`append`, `replace_instance`, the deletions).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from toshi.core.times import Duration, now_iso, parse_duration, to_iso, to_ms, utc_datetime
from toshi.core.write import ERASURE
from toshi.formats.ngsild_parse import NGSI_LD_NULL
from toshi.query.regex import compile_pattern
from toshi.store import attached, dialect_ddl
from toshi.temporal import aggregate as agg
from toshi.temporal.aggregate import Aggregation, Bucket
from toshi.temporal.timequery import TimeQuery

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS temporal_entities (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        types TEXT NOT NULL,          -- JSON array of expanded types, last known
        created_at TEXT NOT NULL,
        modified_at TEXT NOT NULL,
        deleted_at TEXT,
        doc TEXT,                     -- last known state while the live store does not have the entity
        PRIMARY KEY (tenant, id)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS temporal_series (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        attr TEXT NOT NULL,
        dataset_id TEXT NOT NULL,     -- '' for the default instance
        kind TEXT NOT NULL,           -- attribute type of the first instance (Property, Relationship, ...)
        UNIQUE (tenant, entity_id, attr, dataset_id)
    )""",
    """CREATE TABLE IF NOT EXISTS attr_history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        series INTEGER NOT NULL,
        observed_at INTEGER,          -- milliseconds since the epoch
        created_at INTEGER NOT NULL,
        modified_at INTEGER NOT NULL,
        deleted_at INTEGER,
        num{num_type},                          -- no affinity: integers stay integers
        str TEXT,
        instance TEXT NOT NULL
    )""",
    # deleted_at too, so that aggregations (which leave deletions out) read the index alone; a database
    # made before it was added keeps (series, observed_at, num): the same answers, from the table.
    "CREATE INDEX IF NOT EXISTS attr_history_observed ON attr_history (series, observed_at, num, deleted_at) "
    "WHERE observed_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS attr_history_modified ON attr_history (series, modified_at)",
)
INSTANCE_PREFIX = "urn:ngsi-ld:Instance:"
# The entity's Scope, kept as the history of a Property (clause 4.5.6): a change through the Core API is
# an instance whose observedAt is a copy of its modifiedAt.
SCOPE = "https://uri.etsi.org/ngsi-ld/scope"
# Attribute type -> (value member, its NGSI-LD Null), for deletion rows.
NULLS: dict[str, tuple[str, Any]] = {
    "Property": ("value", NGSI_LD_NULL), "GeoProperty": ("value", NGSI_LD_NULL),
    "Relationship": ("object", NGSI_LD_NULL), "LanguageProperty": ("languageMap", {"@none": NGSI_LD_NULL}),
    "JsonProperty": ("json", NGSI_LD_NULL), "VocabProperty": ("vocab", NGSI_LD_NULL),
    "ListProperty": ("valueList", [NGSI_LD_NULL]), "ListRelationship": ("objectList", [NGSI_LD_NULL]),
}
_INSERT = ("INSERT INTO attr_history (series, observed_at, created_at, modified_at, deleted_at, num, str, instance) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_INSERT_INTO_SERIES = (
    "INSERT INTO attr_history (series, observed_at, created_at, modified_at, deleted_at, num, str, instance) "
    "SELECT id, ?, ?, ?, ?, ?, ?, ? FROM temporal_series WHERE tenant=? AND entity_id=? AND attr=? AND dataset_id=?")
_NEW_SERIES = ("INSERT INTO temporal_series (tenant, entity_id, attr, dataset_id, kind) VALUES (?, ?, ?, ?, ?) "
               "RETURNING id")
_NEW_SERIES_IF_NONE = _NEW_SERIES.replace(" RETURNING", " ON CONFLICT DO NOTHING RETURNING", 1)
# PostgreSQL: the series found or made, and the row, in one statement whose answer nobody waits for
# (a write transaction pipelines its statements there).
_ADD_IN_ONE = (
    "WITH made AS (INSERT INTO temporal_series (tenant, entity_id, attr, dataset_id, kind) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING RETURNING id), "
    "series AS (SELECT id FROM made UNION ALL "
    "SELECT id FROM temporal_series WHERE tenant=? AND entity_id=? AND attr=? AND dataset_id=?) "
    "INSERT INTO attr_history (series, observed_at, created_at, modified_at, deleted_at, num, str, instance) "
    "SELECT id, ?, ?, ?, ?, ?, ?, ? FROM series")
_ENTITY_COLUMNS = "tenant, id, types, created_at, modified_at, deleted_at, doc"
_INT64 = 2 ** 63


@dataclass(frozen=True)
class _Dialect:
    """What this module's SQL says differently to SQLite and to PostgreSQL (`db.dialect`)."""

    has_schema: str     # a row when this module's tables exist
    type_values: str    # the elements of temporal_entities.types, as rows with a text column `value`
    exact_floats: bool  # bind floats as Decimal: PostgreSQL's float8 -> numeric cast keeps only 15 digits
    add_in_one: bool    # a history row with its series in one statement (_ADD_IN_ONE)


_DIALECTS = {
    "sqlite": _Dialect("SELECT 1 FROM sqlite_master WHERE name='attr_history_modified'",
                       "json_each(types)", False, False),
    "postgresql": _Dialect("SELECT 1 WHERE to_regclass('attr_history_modified') IS NOT NULL",
                           "jsonb_array_elements_text(types::jsonb) AS t(value)", True, True),
}


def _dialect(db) -> _Dialect:
    return _DIALECTS[getattr(db, "dialect", "sqlite")]


@dataclass
class TemporalEntity:
    id: str
    types: list[str]
    created_at: str
    modified_at: str
    deleted_at: str | None
    doc: dict | None            # last known state when not live


@dataclass
class Series:
    id: int
    attr: str
    dataset_id: str | None
    kind: str


@dataclass
class HistoryRow:
    seq: int
    time: int                   # the queried time property, milliseconds
    instance: dict


def instance_id(seq: int) -> str:
    return f"{INSTANCE_PREFIX}{seq}"


def scope_instance(scope: list[str], at: str) -> dict:
    """The history instance of a Scope set at `at`: a Property (one scope as a string, several as an
    array) observed when it was set."""
    value = scope[0] if len(scope) == 1 else list(scope)
    return {"type": "Property", "value": value, "observedAt": at, "createdAt": at, "modifiedAt": at}


def seq_of(instance_uri: str) -> int | None:
    """The row number behind an instanceId, None when it is not one of ours."""
    number = instance_uri.removeprefix(INSTANCE_PREFIX)
    return int(number) if number != instance_uri and number.isdigit() else None


def history_for(store) -> TemporalHistory:
    """The one TemporalHistory of a store."""
    return attached(store, TemporalHistory)


class TemporalHistory:
    def __init__(self, store):
        self.store = store
        self._ready = None

    @property
    def db(self):
        """The store's connection, with this module's tables (created when missing)."""
        db = self.store.db
        if db is not self._ready:
            if not _has_schema(db):
                for statement in SCHEMA:  # `num` has no affinity in SQLite, NUMERIC in PostgreSQL (see _plain)
                    db.execute(dialect_ddl(statement, getattr(db, "dialect", "sqlite")))
            if not db.in_transaction:
                self._ready = db
            elif self._confirm not in self.store.on_commit:
                # Tables seen inside a transaction may still be rolled back: confirm after a commit.
                self.store.on_commit.append(self._confirm)
        return db

    def _confirm(self) -> None:
        db = self.store.db
        if db is not None and db is not self._ready and not db.in_transaction and _has_schema(db):
            self._ready = db

    # -- recording ------------------------------------------------------------------------------

    def record(self, tx, changes: list) -> None:
        """Writer listener: one history row per new or changed attribute instance, deletion rows for
        instances that disappeared (all of them when the entity was deleted). The rows of all the
        changes go out together (`_Rows.send`: one executemany per statement). An erasure (ERASURE)
        forgets what it names once the rows of the changes before it are out."""
        if not changes:
            return
        db = self.db
        rows = _Rows()
        for change in changes:
            if change.kind == ERASURE:  # after the rows of the changes before it (toshi/core/write.py)
                rows.send(db)
                rows = _Rows()
                self.erase(change.tenant, change.entity_id, change.detail)
                continue
            if change.after is None and change.before is None:
                continue
            entity_id = (change.after or change.before)["id"]
            if entity_id in rows.entity_ids:  # the same entity twice: keep its rows in order
                rows.send(db)
                rows = _Rows()
            rows.entity_ids.add(entity_id)
            if change.after is None:
                self._record_deletion(rows, change.tenant, change.before)
            else:
                self._record_state(rows, change.tenant, change.before, change.after)
        rows.send(db)

    def _record_state(self, rows: _Rows, tenant: str, before: dict | None, after: dict) -> None:
        rows.states.append((tenant, after["id"], _json(after["type"]), after["createdAt"], after["modifiedAt"]))
        old_attrs = before["attrs"] if before is not None else {}
        old_scope, new_scope = (before or {}).get("scope"), after.get("scope")
        if old_scope != new_scope:
            if new_scope:
                inst = scope_instance(new_scope, after["modifiedAt"])
                rows.add(tenant, after["id"], SCOPE, inst, _row(0, inst, self.store.db)[1:])
            else:
                rows.add(tenant, after["id"], SCOPE, {"type": "Property"},
                         _deletion_row({"type": "Property"}, after["modifiedAt"]))
        for name, instances in after["attrs"].items():
            old = old_attrs.get(name)
            if instances is old or instances == old:
                continue
            old_by_dataset = {inst.get("datasetId"): inst for inst in old or ()}
            for inst in instances:
                if old_by_dataset.pop(inst.get("datasetId"), None) != inst:
                    rows.add(tenant, after["id"], name, inst, _row(0, inst, self.store.db)[1:], likely_new=old is None)
            for inst in old_by_dataset.values():
                rows.add(tenant, after["id"], name, inst, _deletion_row(inst, after["modifiedAt"]))
        for name in old_attrs.keys() - after["attrs"].keys():
            for inst in old_attrs[name]:
                rows.add(tenant, after["id"], name, inst, _deletion_row(inst, after["modifiedAt"]))

    def _record_deletion(self, rows: _Rows, tenant: str, before: dict) -> None:
        at = now_iso()
        if before.get("scope"):
            rows.add(tenant, before["id"], SCOPE, {"type": "Property"}, _deletion_row({"type": "Property"}, at))
        for name, instances in before["attrs"].items():
            for inst in instances:
                rows.add(tenant, before["id"], name, inst, _deletion_row(inst, at))
        rows.deletions.append((tenant, before["id"], _json(before["type"]), before["createdAt"], at, at,
                               _json(before)))

    def _add(self, db, tenant: str, entity_id: str, attr: str, inst: dict, *,
             likely_new: bool = False) -> None:
        """One history row; the series is looked up by the INSERT itself (created first when new)."""
        _add_row(db, (tenant, entity_id, attr, inst.get("datasetId", "")), inst.get("type", "Property"),
                 _row(0, inst, db)[1:], likely_new)

    @staticmethod
    def _series_id(db, tenant: str, entity_id: str, attr: str, inst: dict) -> int:
        key = (tenant, entity_id, attr, inst.get("datasetId", ""))
        row = db.execute("SELECT id FROM temporal_series WHERE tenant=? AND entity_id=? AND attr=? AND dataset_id=?",
                         key).fetchone()
        if row is not None:
            return row[0]
        return db.execute(_NEW_SERIES, (*key, inst.get("type", "Property"))).fetchone()[0]

    # -- temporal API writes (inside the caller's transaction) ----------------------------------

    def append(self, tenant: str, entity_id: str, types: list[str], attrs: dict[str, list[dict]], *,
               live: bool, now: str, scope: list[str] | None = None,
               scope_history: list[dict] | None = None, expires_at: str | None = None) -> bool:
        """Add instances to an entity's history, creating its temporal entity if needed (True then).
        `live`: whether the live store has the entity (else its last known state is kept here, with
        `expires_at`, so that a transient temporal-only entity is hidden once expired as a live one is).
        `scope_history`: the Scope's instances as the client wrote them ({"scope", "observedAt"?}, in
        time order); else a `scope` that differs from the last known one is an instance observed now."""
        db = self.db
        found = self.entity(tenant, entity_id)
        created = found is None
        if created:
            found = TemporalEntity(entity_id, list(types), now, now, None, None)
        found.types = found.types + [t for t in types if t not in found.types]
        doc = found.doc
        if not live and doc is None:
            doc = {"id": entity_id, "type": found.types, "createdAt": found.created_at, "attrs": {}}
        series_ids: dict[tuple[str, str], int] = {}
        rows = []
        if scope_history:  # the Scope's history (clause 4.5.6)
            for one in scope_history:
                inst = scope_instance(one["scope"], now)
                if "observedAt" in one:
                    inst["observedAt"] = one["observedAt"]
                rows.append(_row(self._series_id(db, tenant, entity_id, SCOPE, inst), inst, db))
        elif scope and scope != (doc or {}).get("scope"):
            inst = scope_instance(scope, now)
            rows.append(_row(self._series_id(db, tenant, entity_id, SCOPE, inst), inst, db))
        for name, instances in attrs.items():
            for inst in instances:
                key = (name, inst.get("datasetId", ""))
                series = series_ids.get(key) or series_ids.setdefault(
                    key, self._series_id(db, tenant, entity_id, name, inst))
                rows.append(_row(series, inst, db))
                if doc is not None:
                    _keep_latest(doc, name, inst)
        db.executemany(_INSERT, rows)
        if doc is not None:
            doc.update(type=found.types, modifiedAt=now)
            if scope:
                doc["scope"] = scope
            if expires_at:
                doc["expiresAt"] = expires_at
        db.execute(f"INSERT INTO temporal_entities ({_ENTITY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (tenant, id) DO UPDATE SET types=excluded.types, modified_at=excluded.modified_at, "
                   "doc=excluded.doc",
                   (tenant, entity_id, _json(found.types), found.created_at, now, found.deleted_at,
                    None if doc is None else _json(doc)))
        return created

    def replace_instance(self, seq: int, inst: dict) -> None:
        db = self.db
        _, observed, created, modified, _, num, text, doc = _row(0, inst, db)
        db.execute("UPDATE attr_history SET observed_at=?, created_at=?, modified_at=?, num=?, str=?, instance=? "
                   "WHERE seq=?", (observed, created, modified, num, text, doc, seq))

    def delete_entity(self, tenant: str, entity_id: str) -> bool:
        db = self.db
        db.execute("DELETE FROM attr_history WHERE series IN "
                   "(SELECT id FROM temporal_series WHERE tenant=? AND entity_id=?)", (tenant, entity_id))
        db.execute("DELETE FROM temporal_series WHERE tenant=? AND entity_id=?", (tenant, entity_id))
        return db.execute("DELETE FROM temporal_entities WHERE tenant=? AND id=?", (tenant, entity_id)).rowcount > 0

    def delete_series(self, tenant: str, entity_id: str, series: list[Series]) -> None:
        """Forget these histories (and the instances from a last known state)."""
        db = self.db
        for one in series:
            db.execute("DELETE FROM attr_history WHERE series=?", (one.id,))
            db.execute("DELETE FROM temporal_series WHERE id=?", (one.id,))
        found = self.entity(tenant, entity_id)
        if found is None or found.doc is None:
            return
        attrs = found.doc["attrs"]
        for one in series:
            remaining = [i for i in attrs.get(one.attr, ()) if i.get("datasetId") != one.dataset_id]
            if remaining:
                attrs[one.attr] = remaining
            else:
                attrs.pop(one.attr, None)
        db.execute("UPDATE temporal_entities SET doc=? WHERE tenant=? AND id=?", (_json(found.doc), tenant, entity_id))

    def erase(self, tenant: str, entity_id: str, detail: dict) -> None:
        """Erasure of personal data: the whole history of the entity (`{"entity": True}`), else the
        histories of the attributes named (`{"attributes": [...]}`), with their instances in a last
        known state. Nothing is left: no deletion row, no value."""
        if detail.get("entity"):
            self.delete_entity(tenant, entity_id)
            return
        series = self.series(tenant, entity_id, set(detail.get("attributes", ())))
        if series:
            self.delete_series(tenant, entity_id, series)

    def all_instances(self, series_id: int) -> list[HistoryRow]:
        """Every instance of a series, deletion rows included, in the order they were recorded."""
        rows = self.db.execute("SELECT seq, modified_at, instance FROM attr_history WHERE series=? ORDER BY seq",
                               (series_id,))
        return [HistoryRow(seq, t, orjson.loads(inst)) for seq, t, inst in rows]

    def delete_instance(self, seq: int) -> None:
        self.db.execute("DELETE FROM attr_history WHERE seq=?", (seq,))

    def prune(self, older_than: str) -> int:
        """Retention: forget instances whose observedAt (else modifiedAt) is before `older_than`, an ISO
        8601 DateTime or a duration back from now (e.g. P90D), then empty series and the deleted or
        temporal-only entities left without any. Runs its own transaction; returns how many instances
        were removed."""
        if older_than.startswith("P"):
            cutoff = parse_duration(older_than).after(to_ms(now_iso()), -1)
        else:
            cutoff = to_ms(utc_datetime(older_than, "older_than"))
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            removed = db.execute("DELETE FROM attr_history WHERE coalesce(observed_at, modified_at) < ?",
                                 (cutoff,)).rowcount
            db.execute("DELETE FROM temporal_series WHERE NOT EXISTS "
                       "(SELECT 1 FROM attr_history h WHERE h.series = temporal_series.id)")
            db.execute("DELETE FROM temporal_entities WHERE doc IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                       "temporal_series s WHERE s.tenant = temporal_entities.tenant AND s.entity_id = temporal_entities.id)")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return removed

    # -- reading --------------------------------------------------------------------------------

    def entity(self, tenant: str, entity_id: str) -> TemporalEntity | None:
        row = self.db.execute("SELECT id, types, created_at, modified_at, deleted_at, doc FROM temporal_entities "
                              "WHERE tenant=? AND id=?", (tenant, entity_id)).fetchone()
        return _entity(row) if row else None

    def entities(self, tenant: str, ids: list[str] | None = None, id_pattern: str | None = None,
                 types: list[str] | None = None, *, descending: bool = False) -> Iterator[TemporalEntity]:
        """Temporal entities of a tenant by id order (`descending`: from the last), optionally only these
        ids, ids matching a pattern (checked here, as the SQLite store's regexp() would), entities (last
        known to be) of one of these types."""
        db = self.db
        sql = "SELECT id, types, created_at, modified_at, deleted_at, doc FROM temporal_entities WHERE tenant=?"
        params: list[Any] = [tenant]
        if ids is not None:
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            params += ids
        pattern = compile_pattern(id_pattern) if id_pattern is not None else None
        if types is not None:
            sql += (f" AND EXISTS (SELECT 1 FROM {_dialect(db).type_values} "
                    f"WHERE value IN ({','.join('?' * len(types))}))")
            params += types
        for row in db.execute(sql + (" ORDER BY id DESC" if descending else " ORDER BY id"), params):
            if pattern is None or pattern.search(row[0]) is not None:
                yield _entity(row)

    def series(self, tenant: str, entity_id: str, attrs: set[str] | None = None) -> list[Series]:
        rows = self.db.execute("SELECT id, attr, dataset_id, kind FROM temporal_series WHERE tenant=? AND entity_id=? "
                               "ORDER BY attr, dataset_id", (tenant, entity_id))
        return [Series(i, a, d or None, k) for i, a, d, k in rows if attrs is None or a in attrs]

    def row(self, seq: int, series: list[Series]) -> HistoryRow | None:
        """One instance by its row number, if it belongs to one of `series`."""
        found = self.db.execute("SELECT seq, modified_at, instance, series FROM attr_history WHERE seq=?",
                                (seq,)).fetchone()
        if found is None or found[3] not in {s.id for s in series}:
            return None
        return HistoryRow(found[0], found[1], orjson.loads(found[2]))

    def instances(self, series_id: int, query: TimeQuery, limit: int) -> tuple[list[HistoryRow], bool]:
        """The instances of a series the query selects, by time (the last N when lastN is set), at most
        `limit` of them; and whether more were selected than returned."""
        where, params = _where(series_id, query, aggregating=False)
        wanted = min(query.last_n, limit) if query.last_n else limit
        order = "DESC" if query.last_n else "ASC"
        col = query.column
        rows = self.db.execute(f"SELECT seq, {col}, instance FROM attr_history WHERE {where} "
                               f"ORDER BY {col} {order}, seq {order} LIMIT ?", [*params, wanted + 1]).fetchall()
        more = len(rows) > wanted and (query.last_n is None or query.last_n > wanted)
        rows = rows[:wanted]
        if query.last_n:
            rows.reverse()
        return [HistoryRow(seq, t, orjson.loads(inst)) for seq, t, inst in rows], more

    def time_range(self, series_ids: list[int], query: TimeQuery) -> tuple[int, int] | None:
        """Earliest and latest time of the instances the query selects in these series (None: none)."""
        lows, highs = [], []
        for series_id in series_ids:
            where, params = _where(series_id, query, aggregating=True)
            low, high = self.db.execute(f"SELECT min({query.column}), max({query.column}) FROM attr_history "
                                        f"WHERE {where}", params).fetchone()
            if low is not None:
                lows.append(low)
                highs.append(high)
        return (min(lows), max(highs)) if lows else None

    def written_at(self, series_ids: list[int], query: TimeQuery, ms: int) -> str:
        """The time property of an instance of these series at `ms`, as it was written."""
        col = query.column
        for series_id in series_ids:
            row = self.db.execute(f"SELECT instance FROM attr_history WHERE series = ? AND {col} = ? LIMIT 1",
                                  (series_id, ms)).fetchone()
            if row is not None:
                written = orjson.loads(row[0]).get(query.timeproperty)
                if written:
                    return written
        return to_iso(ms)

    def aggregate(self, series_id: int, query: TimeQuery, aggregation: Aggregation, start: int,
                  end: int) -> list[Bucket]:
        """Aggregated values of a series per period, periods counted from `start`; `end` closes the
        whole-range period. Periods without instances are left out; lastN keeps the last N periods."""
        where, params = _where(series_id, query, aggregating=True)
        periods = _Periods.of(aggregation.period, query.column, start, end)
        sql = periods.sql(", ".join(agg.SELECT), where)
        rows = {row[0]: _plain(row[1:]) for row in self.db.execute(sql, [*periods.params, *params]) if row[1]}
        methods = aggregation.methods
        strings = distinct = spread = {}
        if {"min", "max"} & set(methods) and any(not r[1] for r in rows.values()):
            strings = self._per_period(periods.sql("min(str), max(str)", where), periods, params)
        if "distinctCount" in methods:
            sql = periods.sql(agg.distinct_count(getattr(self.db, "dialect", "sqlite")), where)
            distinct = self._per_period(sql, periods, params)
        if "stddev" in methods:
            sql = periods.spread_sql(where)
            spread = {row[0]: _plain(row[1:]) for row in self.db.execute(sql, [*periods.params, *params] * 2)}
        buckets = []
        for b in sorted(rows):
            values = agg.results(methods, rows[b], strings.get(b), _first(distinct.get(b)), _first(spread.get(b)))
            buckets.append(Bucket(*periods.bounds(b), values))
        return buckets[-query.last_n:] if query.last_n else buckets

    def _per_period(self, sql: str, periods: _Periods, params: list) -> dict[int, tuple]:
        return {row[0]: row[1:] for row in self.db.execute(sql, [*periods.params, *params])}


@dataclass
class _Periods:
    """How rows fall into aggregation periods: an SQL expression for the period number `b`."""

    prefix: str         # a WITH clause, or ''
    expr: str           # the period number of a row
    source: str         # FROM
    params: list
    edges: list[int]    # start of period b is edges[b] (calendar periods), else start + b * step
    start: int
    step: int
    end: int

    @classmethod
    def of(cls, period: Duration, column: str, start: int, end: int) -> _Periods:
        if period.whole:
            return cls("", "0", "attr_history", [], [], start, 0, end)
        if period.months == 0:
            return cls("", f"({column} - ?) / ?", "attr_history", [start, period.ms], [], start, period.ms, end)
        edges = agg.calendar_edges(start, end, period)
        values = ", ".join(f"({n}, {edges[n]}, {edges[n + 1]})" for n in range(len(edges) - 1))
        source = f"edges JOIN attr_history ON {column} >= edges.lo AND {column} < edges.hi"
        return cls(f"WITH edges(b, lo, hi) AS (VALUES {values}) ", "edges.b", source, [], edges, start, 0, end)

    def sql(self, columns: str, where: str) -> str:
        return f"{self.prefix}SELECT {self.expr} AS b, {columns} FROM {self.source} WHERE {where} GROUP BY b"

    def spread_sql(self, where: str) -> str:
        """Per period: the sum of squared deviations of the numbers from their mean (two passes over the
        rows; parameters: self.params and the where parameters, twice)."""
        with_ = f"{self.prefix}, " if self.prefix else "WITH "
        return (f"{with_}m AS MATERIALIZED (SELECT {self.expr} AS b, avg(num) AS mean FROM {self.source} "
                f"WHERE {where} GROUP BY b) "
                f"SELECT m.b, sum((num - m.mean) * (num - m.mean)) FROM {self.source} JOIN m ON m.b = {self.expr} "
                f"WHERE {where} AND num IS NOT NULL GROUP BY m.b")

    def bounds(self, b: int) -> tuple[int, int]:
        if self.edges:
            return self.edges[b], self.edges[b + 1]
        if self.step == 0:
            return self.start, self.end
        return self.start + b * self.step, self.start + (b + 1) * self.step


def _where(series_id: int, query: TimeQuery, *, aggregating: bool) -> tuple[str, list]:
    """Rows of one series selected by the temporal query (deletion rows are not aggregated)."""
    col = query.column
    where = [f"series = ? AND {col} IS NOT NULL"]
    params: list[Any] = [series_id]
    if aggregating:  # a deletion has observedAt when a temporal payload gave it (payload.py)
        where.append("deleted_at IS NULL")
    low, high = query.bounds()
    if low is not None:
        where.append(f"{col} >= ?")
        params.append(low)
    if high is not None:
        where.append(f"{col} < ?")
        params.append(high)
    return " AND ".join(where), params


class _Rows:
    """The history rows of one write transaction, gathered and then sent with one executemany per
    statement."""

    SMALL = 4  # up to this many rows, each is sent as its own statement (no series to make first)

    def __init__(self):
        self.entity_ids: set[str] = set()
        self.states: list[tuple] = []     # temporal_entities of live entities
        self.deletions: list[tuple] = []  # temporal_entities of deleted ones (their last state kept)
        self.history: list[tuple] = []    # (series key, kind, attr_history values, likely a new series)

    def add(self, tenant: str, entity_id: str, attr: str, inst: dict, values: tuple, *,
            likely_new: bool = False) -> None:
        self.history.append(((tenant, entity_id, attr, inst.get("datasetId", "")), inst.get("type", "Property"),
                             values, likely_new))

    def send(self, db) -> None:
        if self.states:
            db.executemany("INSERT INTO temporal_entities (tenant, id, types, created_at, modified_at) "
                           "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, id) DO UPDATE SET types=excluded.types, "
                           "modified_at=excluded.modified_at, deleted_at=NULL, doc=NULL", self.states)
        if self.history:
            if _dialect(db).add_in_one:  # PostgreSQL: series and row in one statement each
                db.executemany(_ADD_IN_ONE, [(*key, kind, *key, *values) for key, kind, values, _ in self.history])
            elif len(self.history) <= self.SMALL:
                for key, kind, values, likely_new in self.history:
                    _add_row(db, key, kind, values, likely_new)
            else:
                rest = self.history
                new = [row for row in rest if row[3]]
                if new and _new_series(db, new):
                    rest = [row for row in rest if not row[3]]
                if rest:  # every series made if missing, then every row into its series
                    db.executemany(_NEW_SERIES_IF_NONE.removesuffix(" RETURNING id"),
                                   [(*key, kind) for key, kind, _, _ in rest])
                    db.executemany(_INSERT_INTO_SERIES, [(*values, *key) for key, _, values, _ in rest])
        if self.deletions:
            db.executemany(f"INSERT INTO temporal_entities ({_ENTITY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                           "ON CONFLICT (tenant, id) DO UPDATE SET types=excluded.types, "
                           "modified_at=excluded.modified_at, deleted_at=excluded.deleted_at, doc=excluded.doc",
                           self.deletions)


def _new_series(db, rows: list[tuple]) -> bool:
    """SQLite: rows of attributes new to their entities, each into a series made for it with an id
    given here (one executemany for the series, one for the rows). False, with nothing written, when
    one of the series exists already (the entity had a history before): the caller then looks each up."""
    db.execute("SAVEPOINT toshi_new_series")
    try:
        last = db.execute("SELECT coalesce(max(id), 0) FROM temporal_series").fetchone()[0]
        db.executemany("INSERT INTO temporal_series (id, tenant, entity_id, attr, dataset_id, kind) "
                       "VALUES (?, ?, ?, ?, ?, ?)", [(last + n, *key, kind) for n, (key, kind, _, _) in enumerate(rows, 1)])
    except sqlite3.IntegrityError:
        db.execute("ROLLBACK TO toshi_new_series")
        db.execute("RELEASE toshi_new_series")
        return False
    db.execute("RELEASE toshi_new_series")
    db.executemany(_INSERT, [(last + n, *values) for n, (_, _, values, _) in enumerate(rows, 1)])
    return True


def _add_row(db, key: tuple, kind: str, values: tuple, likely_new: bool) -> None:
    """One history row into the series `key` (made when missing). `likely_new` (a new attribute):
    try creating the series first, which usually succeeds."""
    if _dialect(db).add_in_one:
        db.execute(_ADD_IN_ONE, (*key, kind, *key, *values))
        return
    if likely_new:
        created = db.execute(_NEW_SERIES_IF_NONE, (*key, kind)).fetchone()
        if created is not None:
            db.execute(_INSERT, (created[0], *values))
            return
    if db.execute(_INSERT_INTO_SERIES, (*values, *key)).rowcount == 0:
        series = db.execute(_NEW_SERIES, (*key, kind)).fetchone()[0]
        db.execute(_INSERT, (series, *values))


def deletion_of(inst: dict, at: str) -> dict:
    """The instance recording that `inst` (its type and datasetId) was deleted at `at`: the NGSI-LD
    Null as its value (clause 4.5.7), modifiedAt and deletedAt `at`."""
    member, null = NULLS.get(inst.get("type"), NULLS["Property"])
    marker = {"type": inst.get("type", "Property"), member: null}
    if "datasetId" in inst:
        marker["datasetId"] = inst["datasetId"]
    marker.update(createdAt=inst.get("createdAt", at), modifiedAt=at, deletedAt=at)
    return marker


def _deletion_row(inst: dict, at: str) -> tuple:
    """The attr_history values (without series) of the row that marks `inst` deleted at `at`."""
    marker = deletion_of(inst, at)
    return None, to_ms(marker["createdAt"]), to_ms(at), to_ms(at), None, None, _json(marker)


def _has_schema(db) -> bool:
    return db.execute(_dialect(db).has_schema).fetchone() is not None


def _row(series: int, inst: dict, db) -> tuple:
    """The attr_history values (without seq) of an instance, as bound on `db`."""
    observed = inst.get("observedAt")
    num, text = _scalar(inst)
    if isinstance(num, float) and _dialect(db).exact_floats:
        num = _decimal(num)
    deleted = inst.get("deletedAt")
    return (series, to_ms(observed) if observed else None, to_ms(inst["createdAt"]), to_ms(inst["modifiedAt"]),
            to_ms(deleted) if deleted else None, num, text, _json(inst))


def _scalar(inst: dict) -> tuple[Any, str | None]:
    """(number, string) value of an instance for aggregation: numbers and booleans as num, strings
    (Property values, Relationship objects, vocab) as str."""
    kind = inst.get("type")
    value = inst.get("value") if kind == "Property" else inst.get("object") if kind == "Relationship" else (
        inst.get("vocab") if kind == "VocabProperty" else None)
    if isinstance(value, bool):
        return int(value), None
    if isinstance(value, int):
        return (value if -_INT64 <= value < _INT64 else float(value)), None
    if isinstance(value, float):
        return value, None
    if isinstance(value, str) and value != NGSI_LD_NULL:
        return None, value
    return None, None


def _decimal(number: float) -> Decimal:
    """A float as the Decimal that reads back as that float, with a fractional digit (NUMERIC keeps
    it: 3.0 stays a float, where 3 reads back as an integer)."""
    exact = Decimal(repr(number))
    return exact if exact.as_tuple().exponent < 0 else Decimal(f"{int(number)}.0")


def _plain(values: tuple) -> tuple:
    """Aggregates as SQLite gives them: PostgreSQL's NUMERIC results (Decimal) as integers when they
    have no fractional digits (sums and extremes of integers), else as floats."""
    return tuple(_number(v) if isinstance(v, Decimal) else v for v in values)


def _number(value: Decimal) -> int | float:
    return int(value) if value.as_tuple().exponent >= 0 else float(value)


def _keep_latest(doc: dict, name: str, inst: dict) -> None:
    """Put `inst` into a last-known-state document unless it holds a later observation of that instance."""
    current = doc["attrs"].setdefault(name, [])
    for n, old in enumerate(current):
        if old.get("datasetId") == inst.get("datasetId"):
            if _observed(old, float("-inf")) <= _observed(inst, float("inf")):  # instants, not spellings
                current[n] = inst
            break
    else:
        current.append(inst)
    current[:] = [one for one in current if "deletedAt" not in one]  # a deletion observed last: gone
    if not current:
        del doc["attrs"][name]


def _entity(row: tuple) -> TemporalEntity:
    entity_id, types, created, modified, deleted, doc = row
    return TemporalEntity(entity_id, orjson.loads(types), created, modified, deleted,
                          orjson.loads(doc) if doc else None)


def _first(row: tuple | None) -> Any:
    return row[0] if row else None


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _observed(inst: dict, missing: float) -> float:
    observed = inst.get("observedAt")
    return to_ms(observed) if observed else missing
