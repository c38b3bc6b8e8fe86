"""Reference ceilings: the smallest apps on Toshi's server stack (Starlette + uvicorn + orjson + SQLite).

They answer "how fast could any Python broker be on this machine?", so Toshi's figures can be read as a
share of the ceiling. Bench-only; never imported by the toshi package.

    python bench/reference_apps.py --port 8001 --data-dir /tmp/ref

Endpoints (ids are the benchmark Shelter ids, seeded at start-up):
    GET   /ref/constant/{id}        a constant JSON body the size of a Shelter entity, no I/O
    GET   /ref/sqlite/{id}          one SELECT by primary key, the stored JSON returned as is
    PATCH /ref/rmw/{id}/attrs/{attr}  read-modify-write in one transaction: read the row, set the
                                    attribute's value, write it back, append a change-log row
    POST  /ref/bulk                 the bulk-insert ceiling of a batch upsert: the body of
                                    `POST /entityOperations/upsert` (new entities), and the rows
                                    Toshi writes for them (entity, types, values for q, geo box,
                                    change record, temporal entity, series and history rows, one
                                    audit row) in Toshi's own tables, one executemany per table in
                                    one transaction; answers 201 with the ids, as Toshi does
    GET   /ref/health               readiness probe
"""

from __future__ import annotations

import argparse
import sqlite3
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import orjson
import uvicorn
from bench_data import shelter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SEED_ENTITIES = 1000
DEFAULT_CONTEXT = "https://uri.etsi.org/ngsi-ld/default-context/"
GEO_SLOTS = 64
# Toshi's own tables (the same columns and indexes) for /ref/bulk: only their DDL is borrowed.
BULK_SCHEMA_PARTS = ("toshi.store.sqlite", "toshi.store.sql_changes")
SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY, entity TEXT NOT NULL, attr TEXT NOT NULL,
                                    value TEXT NOT NULL, at TEXT NOT NULL);
"""
CONSTANT_BODY = orjson.dumps(shelter(0))
JSON = "application/json"


def open_db(path: Path, schema: str = SCHEMA) -> sqlite3.Connection:
    """Same settings as Toshi's store: WAL, synchronous=NORMAL, autocommit with explicit BEGIN."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(schema)
    return db


def seed(db: sqlite3.Connection, count: int) -> None:
    rows = [(e["id"], orjson.dumps(e).decode()) for e in map(shelter, range(count))]
    db.execute("BEGIN")
    db.executemany("INSERT OR REPLACE INTO entities VALUES (?, ?)", rows)
    db.execute("COMMIT")


def open_bulk_db(path: Path) -> sqlite3.Connection:
    """A database with Toshi's tables (its DDL), the same settings as Toshi's store."""
    import importlib

    from toshi.temporal.history import SCHEMA as HISTORY

    db = open_db(path, "")
    for module in BULK_SCHEMA_PARTS:
        db.executescript(importlib.import_module(module).SCHEMA)
    for statement in HISTORY:
        db.execute(statement.replace("{num_type}", ""))
    db.execute("CREATE TABLE IF NOT EXISTS audit_log (seq INTEGER NOT NULL, at TEXT NOT NULL, principal TEXT, "
               "tenant TEXT, operation TEXT NOT NULL, target TEXT, request_id TEXT, outcome TEXT NOT NULL, "
               "detail TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)")
    db.execute("CREATE INDEX IF NOT EXISTS audit_log_by_seq ON audit_log (seq)")
    return db


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def bulk_rows(items: list[dict], now: str, first: tuple[int, int, int]) -> dict[str, list[tuple]]:
    """The rows of new entities, as Toshi's tables hold them; `first`: the last rowid, change seq
    and series id in use."""
    rowid, seq, series = first
    now_ms = _ms(now)
    out = {name: [] for name in ("entities", "types", "values", "geo", "changes", "tentities", "series", "history")}
    for item in items:
        rowid, seq = rowid + 1, seq + 1
        types = [DEFAULT_CONTEXT + item["type"]]
        attrs = {}
        for name, attr in item.items():
            if name in ("id", "type", "@context"):
                continue
            key = "https://uri.etsi.org/ngsi-ld/location" if name == "location" else DEFAULT_CONTEXT + name
            inst = {**attr, "createdAt": now, "modifiedAt": now}
            attrs[key] = [inst]
            value = attr.get("value")
            if type(value) in (int, float, str):
                out["values"].append(("default", key, value, rowid))
            if attr.get("type") == "GeoProperty":
                x, y = value["coordinates"][:2]
                out["geo"].append((rowid * GEO_SLOTS, x, x, y, y, key))
            series += 1
            out["series"].append((series, "default", item["id"], key, "", attr.get("type", "Property")))
            observed = attr.get("observedAt")
            out["history"].append((series, _ms(observed) if observed else None, now_ms, now_ms, None,
                                   value if type(value) in (int, float) else None,
                                   value if type(value) is str else None, orjson.dumps(inst).decode()))
        entity = {"id": item["id"], "type": types, "createdAt": now, "modifiedAt": now, "attrs": attrs}
        doc = orjson.dumps(entity).decode()
        out["entities"].append((rowid, "default", item["id"], doc))
        out["types"].extend(("default", t, rowid) for t in types)
        out["changes"].append((seq, "default", item["id"], now, None, doc))
        out["tentities"].append(("default", item["id"], orjson.dumps(types).decode(), now, now))
    return out


def bulk_write(db: sqlite3.Connection, items: list[dict]) -> None:
    """One transaction, one executemany per table (and one audit row)."""
    now = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    db.execute("BEGIN IMMEDIATE")
    try:
        first = db.execute("SELECT (SELECT coalesce(max(rowid), 0) FROM entities), "
                           "(SELECT coalesce(max(seq), 0) FROM changes), "
                           "(SELECT coalesce(max(id), 0) FROM temporal_series)").fetchone()
        rows = bulk_rows(items, now, first)
        db.executemany("INSERT INTO entities (rowid, tenant, id, doc) VALUES (?, ?, ?, ?)", rows["entities"])
        db.executemany("INSERT OR IGNORE INTO entity_types (tenant, type, entity) VALUES (?, ?, ?)", rows["types"])
        db.executemany("INSERT INTO attr_values VALUES (?, ?, ?, ?)", rows["values"])
        db.executemany("INSERT INTO geo_index (id, minx, maxx, miny, maxy, attr) VALUES (?, ?, ?, ?, ?, ?)",
                       rows["geo"])
        db.executemany("INSERT INTO changes (seq, tenant, entity_id, at, before, after) VALUES (?, ?, ?, ?, ?, ?)",
                       rows["changes"])
        db.executemany("INSERT INTO temporal_entities (tenant, id, types, created_at, modified_at) "
                       "VALUES (?, ?, ?, ?, ?)", rows["tentities"])
        db.executemany("INSERT INTO temporal_series (id, tenant, entity_id, attr, dataset_id, kind) "
                       "VALUES (?, ?, ?, ?, ?, ?)", rows["series"])
        db.executemany("INSERT INTO attr_history (series, observed_at, created_at, modified_at, deleted_at, num, str, "
                       "instance) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows["history"])
        db.execute("INSERT INTO audit_log VALUES (?, ?, 'local', 'default', 'write', ?, NULL, 'ok', ?, ?, ?)",
                   (first[1], now, items[0]["id"], orjson.dumps({"created": len(items)}).decode(), "0" * 64,
                    "0" * 64))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def create_app(db_path: Path) -> Starlette:
    db = open_db(db_path)
    bulk_db = open_bulk_db(db_path.with_name("bulk.db"))

    async def constant(request: Request) -> Response:
        return Response(CONSTANT_BODY, media_type=JSON)

    async def sqlite_get(request: Request) -> Response:
        row = db.execute("SELECT doc FROM entities WHERE id=?", (request.path_params["id"],)).fetchone()
        if row is None:
            return Response(b'{"title":"not found"}', status_code=404, media_type=JSON)
        return Response(row[0], media_type=JSON)

    async def read_modify_write(request: Request) -> Response:
        entity_id, attr = request.path_params["id"], request.path_params["attr"]
        value = orjson.loads(await request.body())["value"]
        now = datetime.now(UTC).isoformat()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT doc FROM entities WHERE id=?", (entity_id,)).fetchone()
            if row is None:
                db.execute("ROLLBACK")
                return Response(b'{"title":"not found"}', status_code=404, media_type=JSON)
            doc = orjson.loads(row[0])
            doc[attr] = {**doc.get(attr, {"type": "Property"}), "value": value, "modifiedAt": now}
            db.execute("UPDATE entities SET doc=? WHERE id=?", (orjson.dumps(doc).decode(), entity_id))
            db.execute("INSERT INTO changes (entity, attr, value, at) VALUES (?, ?, ?, ?)",
                       (entity_id, attr, orjson.dumps(value).decode(), now))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return Response(status_code=204)

    async def bulk(request: Request) -> Response:
        items = orjson.loads(await request.body())
        bulk_write(bulk_db, items)
        return Response(orjson.dumps([item["id"] for item in items]), status_code=201, media_type=JSON)

    async def health(request: Request) -> Response:
        return Response(b"{}", media_type=JSON)

    @asynccontextmanager
    async def lifespan(app):
        seed(db, SEED_ENTITIES)
        yield
        db.close()
        bulk_db.close()

    routes = [
        Route("/ref/constant/{id}", constant, methods=["GET"]),
        Route("/ref/sqlite/{id}", sqlite_get, methods=["GET"]),
        Route("/ref/rmw/{id}/attrs/{attr}", read_modify_write, methods=["PATCH"]),
        Route("/ref/bulk", bulk, methods=["POST"]),
        Route("/ref/health", health, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args()
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    app = create_app(Path(args.data_dir) / "reference.db")
    # The same call as toshi/cli.py: loop and http "auto" pick uvloop and httptools when installed.
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
