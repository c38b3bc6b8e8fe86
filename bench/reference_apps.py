"""Reference ceilings: the smallest apps on Toshi's server stack (Starlette + uvicorn + orjson + SQLite).

They answer "how fast could any Python broker be on this machine?", so Toshi's figures can be read as a
share of the ceiling. Bench-only; never imported by the toshi package.

    python bench/reference_apps.py --port 8001 --data-dir /tmp/ref

Endpoints (ids are the benchmark Shelter ids, seeded at start-up):
    GET   /ref/constant/{id}        a constant JSON body the size of a Shelter entity, no I/O
    GET   /ref/sqlite/{id}          one SELECT by primary key, the stored JSON returned as is
    PATCH /ref/rmw/{id}/attrs/{attr}  read-modify-write in one transaction: read the row, set the
                                    attribute's value, write it back, append a change-log row
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
SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY, entity TEXT NOT NULL, attr TEXT NOT NULL,
                                    value TEXT NOT NULL, at TEXT NOT NULL);
"""
CONSTANT_BODY = orjson.dumps(shelter(0))
JSON = "application/json"


def open_db(path: Path) -> sqlite3.Connection:
    """Same settings as Toshi's store: WAL, synchronous=NORMAL, autocommit with explicit BEGIN."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    return db


def seed(db: sqlite3.Connection, count: int) -> None:
    rows = [(e["id"], orjson.dumps(e).decode()) for e in map(shelter, range(count))]
    db.execute("BEGIN")
    db.executemany("INSERT OR REPLACE INTO entities VALUES (?, ?)", rows)
    db.execute("COMMIT")


def create_app(db_path: Path) -> Starlette:
    db = open_db(db_path)

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

    async def health(request: Request) -> Response:
        return Response(b"{}", media_type=JSON)

    @asynccontextmanager
    async def lifespan(app):
        seed(db, SEED_ENTITIES)
        yield
        db.close()

    routes = [
        Route("/ref/constant/{id}", constant, methods=["GET"]),
        Route("/ref/sqlite/{id}", sqlite_get, methods=["GET"]),
        Route("/ref/rmw/{id}/attrs/{attr}", read_modify_write, methods=["PATCH"]),
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
