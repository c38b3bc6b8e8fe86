"""The embedded store: one SQLite file in WAL mode.

Each entity is one row holding the internal entity as JSON (`doc`), plus two index tables: entity
types, and an R*Tree of GeoProperty bounding boxes. Statements are short, so they run on the event
loop thread directly (a thread hop would cost more than the query); nothing awaits inside a
transaction, so transactions never interleave. A commit in WAL mode with
synchronous=NORMAL is durable against a killed process; `durable_fsync=True` (synchronous=FULL)
also survives power loss.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import orjson

from toshi.core.access import past_deadline, read_guard, readable, views
from toshi.core.errors import TooComplexQuery
from toshi.query.planner import EntityQuery
from toshi.query.regex import compile_pattern
from toshi.store import migrations, sql_changes
from toshi.store.contexts import StoredContexts
from toshi.store.discovery import SqlDiscovery
from toshi.store.reading import page_of, seen_through
from toshi.store.sql_changes import SqlChangeLog, SqlOutbox, SqlSubscriptions
from toshi.store.sqlite_plan import GEO_SLOTS, SqlPlan, plan_query
from toshi.store.valueindex import changed_values, geo_unchanged

SCAN_CHUNK = 500
PROGRESS_STEPS = 1_000  # SQLite VM steps between two checks of the request's deadline

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (name TEXT PRIMARY KEY, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entities (
    rowid INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (tenant, id)
);
CREATE TABLE IF NOT EXISTS entity_types (
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    entity INTEGER NOT NULL,
    PRIMARY KEY (tenant, type, entity)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entity_types_by_entity ON entity_types (entity);
CREATE TABLE IF NOT EXISTS attr_values (
    tenant TEXT NOT NULL,
    attr TEXT NOT NULL,
    val,                -- no type affinity: numbers stay numbers, strings stay text
    entity INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attr_values_lookup ON attr_values (tenant, attr, val, entity);
CREATE INDEX IF NOT EXISTS attr_values_by_entity ON attr_values (entity, attr);
CREATE VIRTUAL TABLE IF NOT EXISTS geo_index USING rtree(id, minx, maxx, miny, maxy, +attr TEXT);
CREATE TABLE IF NOT EXISTS contexts (id TEXT PRIMARY KEY, record TEXT NOT NULL);
"""
SCHEMA_VERSION = str(migrations.latest())
# Rebuilt from `entities` by index_entity (the R*Tree with its shadow tables): not in backups.
DERIVED_TABLES = ("entity_types", "attr_values", "geo_index")


def _regexp(pattern: str, value: str | None) -> bool:
    return value is not None and compile_pattern(pattern).search(value) is not None


class SqliteTransaction:
    """The writes of one transaction. Rows are gathered per table and sent with one `executemany`
    per table (`flush`): before the state is read back by anything but this transaction (the
    Writer flushes before its listeners and operations run), before an entity already pending is
    written again, and before COMMIT. New rows get their rowid and change-log seq here (the
    transaction holds the write lock, so nobody else allocates them meanwhile)."""

    def __init__(self, store: SqliteStore, tenant: str):
        self._db = store.db
        self._store = store
        self.tenant = tenant
        self.written: dict[str, dict | None] = {}  # entity id -> state after this transaction
        self._rows = _PendingRows()
        self._pending: set[str] = set()            # entity ids with rows not yet flushed
        self._last_rowid: int | None = None
        self._last_seq: int | None = None

    def get(self, entity_id: str) -> dict | None:
        if entity_id in self.written:
            return self.written[entity_id]
        return self._store.load_entity(self.tenant, entity_id)

    def prefetch(self, entity_ids: list[str]) -> None:
        """The entities about to be written that the cache does not know, read in one statement."""
        self._store.load_entities(self.tenant, [i for i in entity_ids if i not in self.written])

    def put(self, entity: dict, before: dict | None = None, *, at: str = "") -> int:
        """Insert or replace `entity`; `before` is its previous state (None when new). Returns the
        sequence number of the change record written with it."""
        entity_id = entity["id"]
        if entity_id in self._pending:
            self.flush()
        doc = orjson.dumps(entity).decode()
        rows = self._rows
        if before is None:
            rowid = self._next_rowid()
            rows.entities.append((rowid, self.tenant, entity_id, doc))
        else:
            rowid = self._db.execute(
                "UPDATE entities SET doc=? WHERE tenant=? AND id=? RETURNING rowid",
                (doc, self.tenant, entity_id)).fetchone()[0]
        _index_rows(rows, self.tenant, rowid, entity, before)
        self._store.ensure_tenant(self.tenant)
        self.written[entity_id] = entity
        self._pending.add(entity_id)
        return self._change(entity_id, at or entity["modifiedAt"], before, entity, doc)

    def delete(self, entity_id: str, before: dict | None = None, *, at: str = "") -> int | None:
        """Delete an entity; returns the sequence number of its change record (None if it did not exist)."""
        if entity_id in self._pending:
            self.flush()
        row = self._db.execute(
            "DELETE FROM entities WHERE tenant=? AND id=? RETURNING rowid", (self.tenant, entity_id)).fetchone()
        if row is None:
            return None
        self.written[entity_id] = None
        self._db.execute("DELETE FROM entity_types WHERE entity=?", (row[0],))
        self._db.execute("DELETE FROM attr_values WHERE entity=?", (row[0],))
        self._db.execute("DELETE FROM geo_index WHERE id BETWEEN ? AND ?", _geo_range(row[0]))
        self._pending.add(entity_id)
        return self._change(entity_id, at, before, None, None)

    def flush(self) -> None:
        """Send the gathered rows, one executemany per table (deletions before insertions)."""
        rows, db = self._rows, self._db
        if rows.entities:
            db.executemany("INSERT INTO entities (rowid, tenant, id, doc) VALUES (?, ?, ?, ?)", rows.entities)
        _send_index_rows(db, rows)
        if rows.changes:
            self._store.changes.append_many(rows.changes)
        self._rows = _PendingRows()
        self._pending.clear()

    def _next_rowid(self) -> int:
        if self._last_rowid is None:
            self._last_rowid = self._db.execute("SELECT coalesce(max(rowid), 0) FROM entities").fetchone()[0]
        self._last_rowid += 1
        return self._last_rowid

    def _change(self, entity_id: str, at: str, before: dict | None, after: dict | None,
                after_json: str | None) -> int:
        if self._last_seq is None:
            # AUTOINCREMENT keeps the highest seq ever given (pruned records' numbers are never reused)
            row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name='changes'").fetchone()
            self._last_seq = row[0] if row else 0
        self._last_seq += 1
        self._rows.changes.append(self._store.changes.row(self._last_seq, self.tenant, entity_id, at, before, after,
                                                          after_json))
        return self._last_seq


class _PendingRows:
    """Rows of a transaction not yet sent, per table."""

    __slots__ = ("entities", "type_deletes", "value_deletes", "geo_deletes", "types", "values", "geo", "changes")

    def __init__(self):
        self.entities: list[tuple] = []
        self.type_deletes: list[tuple] = []
        self.value_deletes: list[tuple] = []
        self.geo_deletes: list[tuple] = []
        self.types: list[tuple] = []
        self.values: list[tuple] = []
        self.geo: list[tuple] = []
        self.changes: list[tuple] = []


def _index_rows(rows: _PendingRows, tenant: str, rowid: int, entity: dict, before: dict | None) -> None:
    """The index rows (types, values for q, geo boxes) a write adds and removes (all of them when
    `before` is None)."""
    if before is None or before["type"] != entity["type"]:
        if before is not None:
            rows.type_deletes.append((rowid,))
        rows.types.extend((tenant, t, rowid) for t in entity["type"])
    _geo_rows(rows, rowid, entity, before)
    for name, indexed_before, values in changed_values(entity, before):
        if indexed_before:
            rows.value_deletes.append((rowid, name))
        rows.values.extend((tenant, name, v, rowid) for v in values)


def _geo_rows(rows: _PendingRows, rowid: int, entity: dict, before: dict | None) -> None:
    if before is not None and geo_unchanged(entity, before):
        return
    boxes = _geo_boxes(entity)
    if before is not None:
        if boxes == _geo_boxes(before):
            return
        rows.geo_deletes.append(_geo_range(rowid))
    rows.geo.extend((rowid * GEO_SLOTS + n, b[0], b[2], b[1], b[3], attr) for n, (attr, b) in enumerate(boxes))


def _send_index_rows(db: sqlite3.Connection, rows: _PendingRows) -> None:
    """The gathered index rows, one executemany per table (deletions before insertions)."""
    for sql, batch in (
            ("DELETE FROM entity_types WHERE entity=?", rows.type_deletes),
            ("DELETE FROM attr_values WHERE entity=? AND attr=?", rows.value_deletes),
            ("DELETE FROM geo_index WHERE id BETWEEN ? AND ?", rows.geo_deletes),
            ("INSERT OR IGNORE INTO entity_types (tenant, type, entity) VALUES (?, ?, ?)", rows.types),
            ("INSERT INTO attr_values VALUES (?, ?, ?, ?)", rows.values),
            ("INSERT INTO geo_index (id, minx, maxx, miny, maxy, attr) VALUES (?, ?, ?, ?, ?, ?)", rows.geo)):
        if batch:
            db.executemany(sql, batch)


def index_entity(db: sqlite3.Connection, tenant: str, rowid: int, entity: dict) -> None:
    """Write the index rows (types, values for q, geo boxes) of a stored entity that has none yet, and
    nothing else: no change-log record, so no notification and no history. `toshi restore` rebuilds
    the derived tables with it."""
    rows = _PendingRows()
    _index_rows(rows, tenant, rowid, entity, None)
    _send_index_rows(db, rows)


WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the WAL is cut back to when a checkpoint resets it


class Checkpointer:
    """Copies the WAL back into the database file from a background thread, so that no request pays
    for a checkpoint (SQLite would otherwise run one inside whichever commit crosses the threshold)."""

    def __init__(self, path: str, every: float = 1.0):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(path, every), name="toshi-checkpoint", daemon=True)
        self._thread.start()

    def _run(self, path: str, every: float) -> None:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            while not self._stop.wait(every):
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            db.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def _lock_file(path: str):
    """Hold an exclusive lock on `path` for as long as the returned file stays open."""
    import fcntl

    handle = open(path, "w")  # noqa: SIM115 - stays open: the lock lives as long as the file
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RuntimeError(f"{path} is locked: another Toshi process is using this data directory") from None
    return handle


def _after(order: str, after: int | None, mark: str) -> tuple[str, list]:
    """The SQL condition of a keyset page (EntityQuery.after): the plan's order column is the rowid."""
    return ("", []) if after is None else (f" AND {order} > {mark}", [after])


def _geo_range(rowid: int) -> tuple[int, int]:
    return rowid * GEO_SLOTS, rowid * GEO_SLOTS + GEO_SLOTS - 1


def _geo_boxes(entity: dict) -> list[tuple[str, tuple]]:
    from toshi.query.geo import entity_bboxes

    return entity_bboxes(entity)[:GEO_SLOTS]


class SqliteStore(StoredContexts, SqlDiscovery):
    """Owns its database file: one process at a time (a lock file beside it says so), which is what
    lets it keep a cache of decoded entities that every write updates."""

    ATTRIBUTE_KINDS = ("SELECT t.type, a.key, json_extract(i.value, '$.type') FROM entity_types t "
                       "JOIN entities e ON e.rowid = t.entity, json_each(e.doc, '$.attrs') a, json_each(a.value) i "
                       "WHERE t.tenant=? GROUP BY 1, 2, 3")
    ATTRIBUTE_COUNTS = "SELECT a.key, count(*) FROM entities e, json_each(e.doc, '$.attrs') a WHERE e.tenant=? GROUP BY 1"

    def __init__(self, path: str | Path, *, durable_fsync: bool = False, cache_size: int = 20_000):
        self.path = str(path)
        self.durable_fsync = durable_fsync
        self.db: sqlite3.Connection | None = None
        self._tenants: set[str] = set()
        # oldest first: OrderedDict evicts in O(1) (next(iter(dict)) walks the slots that earlier
        # evictions emptied, which made a long scan quadratic)
        self._cache: OrderedDict[tuple[str, str], dict | None] = OrderedDict()
        self._cache_size = cache_size
        self._lock = None
        self._checkpointer: Checkpointer | None = None
        self.changes: SqlChangeLog | None = None
        self.subscriptions: SqlSubscriptions | None = None
        self.outbox: SqlOutbox | None = None
        self.on_commit: list = []  # callbacks run after every commit (wake change-log consumers)

    async def open(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._lock = _lock_file(self.path + ".lock")
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if self.durable_fsync else 'NORMAL'}")
        db.execute("PRAGMA foreign_keys=OFF")
        db.execute("PRAGMA cache_size=-65536")
        db.execute("PRAGMA mmap_size=268435456")
        db.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run in the background (Checkpointer)
        # A load can grow the WAL to gigabytes; without a limit the file keeps that size for good.
        db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        try:
            migrations.check(db, str(Path(self.path).parent))
        except migrations.SchemaMismatch:
            db.close()
            self._release_lock()
            raise
        db.executescript(SCHEMA)
        db.executescript(sql_changes.SCHEMA)
        db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(migrations.latest()),))
        db.create_function("regexp", 2, _regexp, deterministic=True)
        db.set_progress_handler(past_deadline, PROGRESS_STEPS)  # a read past its deadline is interrupted
        self.db = db
        if self.path != ":memory:":
            self._checkpointer = Checkpointer(self.path)
        self.changes = SqlChangeLog(db)
        self.subscriptions = SqlSubscriptions(db)
        self.outbox = SqlOutbox(db)
        self._tenants = {r[0] for r in db.execute("SELECT name FROM tenants")}

    def leader(self, name: str) -> bool:
        """One process owns an SQLite database: it does everything."""
        return True

    def publish(self, topic: str, payload: str = "") -> None:
        """Tell the other processes serving this database (there are none)."""

    def watch(self, topic: str, callback) -> None:
        """Hear what other processes publish (there are none)."""

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self.db is not None:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.db.close()
            self.db = None
        self._release_lock()
        self._cache.clear()

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- writes ---------------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self, tenant: str) -> AsyncIterator[SqliteTransaction]:
        self.db.execute("BEGIN IMMEDIATE")
        tx = SqliteTransaction(self, tenant)
        try:
            yield tx
            tx.flush()
        except BaseException:
            self.db.execute("ROLLBACK")
            self._tenants = {r[0] for r in self.db.execute("SELECT name FROM tenants")}
            raise
        self.db.execute("COMMIT")
        for entity_id, state in tx.written.items():
            self._remember(tenant, entity_id, state)
        for callback in list(self.on_commit):  # a callback may remove itself
            callback()

    def ensure_tenant(self, tenant: str) -> None:
        if tenant not in self._tenants:
            self.db.execute(
                "INSERT OR IGNORE INTO tenants VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))", (tenant,))
            self._tenants.add(tenant)

    # -- reads ----------------------------------------------------------------------------------

    async def tenant_exists(self, tenant: str) -> bool:
        return tenant in self._tenants

    async def tenants(self) -> list[str]:
        return sorted(self._tenants)

    async def get_entity(self, tenant: str, entity_id: str) -> dict | None:
        """The entity as the current request may see it (see toshi/core/access.py)."""
        return readable(self.load_entity(tenant, entity_id))

    def load_entity(self, tenant: str, entity_id: str) -> dict | None:
        """The committed state of an entity. Callers must not mutate it: it is shared via the cache."""
        key = (tenant, entity_id)
        if key in self._cache:
            return self._cache[key]
        row = self.db.execute(
            "SELECT doc FROM entities WHERE tenant=? AND id=?", (tenant, entity_id)).fetchone()
        entity = orjson.loads(row[0]) if row else None
        self._remember(tenant, entity_id, entity)
        return entity

    def load_entities(self, tenant: str, entity_ids: list[str]) -> None:
        """Bring the committed states of entities the cache does not know into it (None for those
        that do not exist), in statements of up to 500 ids."""
        missing = list(dict.fromkeys(i for i in entity_ids if (tenant, i) not in self._cache))
        for first in range(0, len(missing) if len(missing) > 1 else 0, 500):
            chunk = missing[first:first + 500]
            docs = dict(self.db.execute(f"SELECT id, doc FROM entities WHERE tenant=? AND id IN ({','.join('?' * len(chunk))})",
                                        (tenant, *chunk)).fetchall())
            for entity_id in chunk:
                doc = docs.get(entity_id)
                self._remember(tenant, entity_id, orjson.loads(doc) if doc is not None else None)

    def _remember(self, tenant: str, entity_id: str, entity: dict | None) -> None:
        if len(self._cache) >= self._cache_size:
            self._cache.popitem(last=False)  # evict the oldest entry
        self._cache[(tenant, entity_id)] = entity

    async def query_entities(self, tenant: str, query: EntityQuery) -> tuple[list[dict], int | None]:
        """One page of the entities matching `query` that the current request may see."""
        guard = read_guard()
        if guard is not None and (judged := seen_through(guard, query)) is not None:
            query.extra.append(judged)
        try:
            plan = plan_query(self.db, tenant, query)
            found, total = self._query_with_residual(plan, query) if plan.needs_python else \
                self._query_in_sql(plan, query)
        except sqlite3.OperationalError as exc:
            if past_deadline():
                raise TooComplexQuery("the query ran past the request time limit (request_timeout)") from None
            raise exc
        if guard is not None:
            found = views(guard, found)
        return found, total

    def _query_in_sql(self, plan: SqlPlan, query: EntityQuery) -> tuple[list[dict], int | None]:
        """The page's ids first; documents are read only for the entities not in the cache."""
        after, after_params = _after(plan.order, query.after, "?")
        rows = self.db.execute(
            f"SELECT e.tenant, e.id, e.rowid FROM {plan.source} WHERE {plan.sql_where}{after} ORDER BY {plan.order} "
            "LIMIT ? OFFSET ?", [*plan.params, *after_params, query.limit, query.offset]).fetchall()
        query.next_after = rows[-1][2] if rows else None
        total = None
        if query.count:
            total = self.db.execute(
                f"SELECT count(*) FROM {plan.source} WHERE {plan.sql_where}", plan.params).fetchone()[0]
        missing = [rowid for tenant, entity_id, rowid in rows if self._cache.get((tenant, entity_id)) is None]
        docs = dict(self.db.execute(f"SELECT rowid, doc FROM entities WHERE rowid IN ({','.join('?' * len(missing))})",
                                    missing).fetchall()) if missing else {}
        return [self._decoded(tenant, entity_id, docs.get(rowid)) for tenant, entity_id, rowid in rows], total

    def _decoded(self, tenant: str, entity_id: str, doc: str | None, *, remember: bool = True) -> dict:
        """The shared decoded object for a row (from the cache when there, so renderings are reused;
        `doc` may then be None).
        Long scans do not `remember`, so they don't push the hot entities out of the cache."""
        entity = self._cache.get((tenant, entity_id))
        if entity is None:
            entity = orjson.loads(doc)
            if remember:
                self._remember(tenant, entity_id, entity)
        return entity

    def _query_with_residual(self, plan: SqlPlan, query: EntityQuery) -> tuple[list[dict], int | None]:
        return page_of(self._scan(plan, query.after or 0),
                       lambda entity: query.matches_residual(entity, **plan.residual), query)

    def _scan(self, plan: SqlPlan, last: int = 0) -> Iterator[tuple[int, dict]]:
        """(rowid, entity) of the plan's candidates after rowid `last`, in rowid order."""
        while True:
            rows = self.db.execute(
                f"SELECT e.rowid, e.tenant, e.id, e.doc FROM {plan.source} WHERE {plan.sql_where} "
                f"AND {plan.order} > ? ORDER BY {plan.order} LIMIT ?", [*plan.params, last, SCAN_CHUNK]).fetchall()
            if past_deadline():
                raise TooComplexQuery("the query ran past the request time limit (request_timeout)")
            for rowid, tenant, entity_id, doc in rows:
                yield rowid, self._decoded(tenant, entity_id, doc, remember=False)
                last = rowid
            if len(rows) < SCAN_CHUNK:
                return

    async def has_attribute(self, tenant: str, attr: str) -> bool:
        """Whether any entity of the tenant has a (scalar-valued) attribute of that name."""
        row = self.db.execute("SELECT 1 FROM attr_values WHERE tenant=? AND attr=? LIMIT 1", (tenant, attr)).fetchone()
        return row is not None
