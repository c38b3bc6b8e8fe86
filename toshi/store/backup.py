"""`toshi backup` and `toshi restore` for the embedded SQLite store.

A backup is logical: the rows of every primary table (entities, history, subscriptions, the change log
with its cursors, the outbox, and whatever tables the features made), never the derived indexes
(DERIVED_TABLES in sqlite.py), which a restore rebuilds from the entities. It reads the database
through a plain read-only connection inside one read transaction, so it sees one committed snapshot
even while a server writes (WAL readers never block writers, nor the other way round).

The file is gzip-compressed JSON lines:

    {"format": "toshi-backup", "version": 1, "created": ..., "toshi": ..., "schemaVersion": "1",
     "tables": [names], "sequences": {table: last number handed out}, "files": [paths in the data dir]}
    {"table": name, "columns": [names], "rows": N, "sqlite": [CREATE statements]}   then N lines:
    [value, value, ...]                  one JSON array per row; bytes are {"$b64": "<base64>"}
    ... one section per table ...
    {"file": "keys/toshi-signing.pem", "content": {"$b64": "..."}}
    {"end": true, "rows": total}

A restore writes a scratch database beside the target and swaps it in only once every section, count
and the end marker checked out, so a truncated or corrupted file changes nothing.
"""

from __future__ import annotations

import base64
import gzip
import os
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from toshi import __version__
from toshi.core.entity import now_iso
from toshi.store import sqlite_changes
from toshi.store.sqlite import DERIVED_TABLES, SCHEMA, SCHEMA_VERSION, _lock_file, index_entity

FORMAT = "toshi-backup"
VERSION = 1
BYTES = "$b64"
DDL_ALLOWED = ("CREATE TABLE", "CREATE INDEX", "CREATE UNIQUE INDEX", "CREATE VIRTUAL TABLE")
INDEX_CHUNK = 1_000


@dataclass
class Restored:
    header: dict
    sections: dict[str, int] = field(default_factory=dict)   # rows per table, as the backup says
    restored: dict[str, int] = field(default_factory=dict)   # rows per table, as the new database holds
    indexes: dict[str, int] = field(default_factory=dict)    # rows of the rebuilt derived tables
    files: dict[str, bytes] = field(default_factory=dict)


# -- backup ---------------------------------------------------------------------------------------

def backup(database: Path, target: Path, files: Sequence[str] = ()) -> dict[str, int]:
    """Write a backup of `database` and of `files` (paths under its directory, when present) to
    `target`; returns the rows per table."""
    if not database.is_file():
        raise ValueError(f"no Toshi database at {database}")
    if not target.parent.is_dir():
        raise ValueError(f"no directory {target.parent} to write {target.name} in")
    partial = target.with_name(target.name + ".partial")
    db = sqlite3.connect(database.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None, timeout=30)
    try:
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as raw:  # secrets
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as out:
                counts = _write_snapshot(db, out, database.parent, files)
            raw.flush()
            os.fsync(raw.fileno())
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        db.close()
    os.replace(partial, target)
    return counts


def _write_snapshot(db: sqlite3.Connection, out, data_dir: Path, files: Sequence[str]) -> dict[str, int]:
    present = [name for name in files if (data_dir / name).is_file()]
    db.execute("BEGIN")
    try:  # every read below sees the same snapshot
        tables = primary_tables(db)
        _write(out, _header(db, list(tables), present))
        counts = {name: _write_table(db, out, name, sql) for name, sql in tables.items()}
    finally:
        db.execute("COMMIT")
    for name in present:
        _write(out, {"file": name, "content": _encode((data_dir / name).read_bytes())})
    _write(out, {"end": True, "rows": sum(counts.values())})
    return counts


def primary_tables(db: sqlite3.Connection) -> dict[str, str]:
    """{name: CREATE statement} of the tables a backup holds: all but SQLite's own, the derived
    indexes, and the shadow tables in which virtual tables keep their data."""
    rows = db.execute("SELECT name, sql FROM sqlite_master WHERE type='table' ORDER BY name").fetchall()
    virtual = [name for name, sql in rows if sql.upper().startswith("CREATE VIRTUAL TABLE")]

    def derived(name: str) -> bool:
        return (name.startswith("sqlite_") or name in DERIVED_TABLES
                or any(name.startswith(v + "_") for v in virtual))
    return {name: sql for name, sql in rows if not derived(name)}


def _header(db: sqlite3.Connection, tables: list[str], files: list[str]) -> dict:
    schema = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    sequences = dict(db.execute("SELECT name, seq FROM sqlite_sequence")) if _exists(db, "sqlite_sequence") else {}
    return {"format": FORMAT, "version": VERSION, "created": now_iso(), "toshi": __version__,
            "schemaVersion": schema[0] if schema else SCHEMA_VERSION, "tables": tables,
            "sequences": {name: seq for name, seq in sequences.items() if name in tables}, "files": files}


def _write_table(db: sqlite3.Connection, out, name: str, sql: str) -> int:
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({_quoted(name)})")]
    count = db.execute(f"SELECT count(*) FROM {_quoted(name)}").fetchone()[0]
    indexes = [r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name=? "
                                        "AND sql IS NOT NULL ORDER BY name", (name,))]
    _write(out, {"table": name, "columns": columns, "rows": count, "sqlite": [sql, *indexes]})
    order = "" if "WITHOUT ROWID" in sql.upper() else " ORDER BY rowid"  # keeps creation order
    for row in db.execute(f"SELECT {_column_list(columns)} FROM {_quoted(name)}{order}"):
        out.write(orjson.dumps(row, default=_encode) + b"\n")
    return count


def _write(out, record: dict) -> None:
    out.write(orjson.dumps(record) + b"\n")


def _encode(value):
    if isinstance(value, bytes):
        return {BYTES: base64.b64encode(value).decode()}
    raise TypeError(f"cannot back up a {type(value).__name__}")


# -- restore --------------------------------------------------------------------------------------

def restore(source: Path, database: Path, files: Sequence[str] = (), *, force: bool = False) -> Restored:
    """Replace `database` (and `files` under its directory) by the backup in `source`. Refuses while a
    server uses the data directory, and a database holding data unless `force`."""
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        lock = _lock_file(str(database) + ".lock")  # the store's own lock: a running server holds it
    except RuntimeError as exc:
        raise ValueError(str(exc)) from None
    try:
        if not force:
            _refuse_if_holding_data(database)
        scratch = database.with_name(database.name + ".restoring")
        scratch.unlink(missing_ok=True)
        try:
            restored = _load(source, scratch, files)
        except BaseException:
            scratch.unlink(missing_ok=True)
            raise
        _swap_in(scratch, database)
        _put_files(database.parent, restored.files, files)
        return restored
    finally:
        lock.close()


def _refuse_if_holding_data(database: Path) -> None:
    if not database.exists():
        return
    db = sqlite3.connect(database, isolation_level=None)
    try:
        holding = [name for name in primary_tables(db)
                   if name != "meta" and db.execute(f"SELECT 1 FROM {_quoted(name)} LIMIT 1").fetchone()]
    finally:
        db.close()
    if holding:
        raise ValueError(f"{database} already holds data ({', '.join(holding)}); "
                         "use --force to replace everything in it")


def _load(source: Path, scratch: Path, allowed_files: Sequence[str]) -> Restored:
    db = sqlite3.connect(scratch, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")  # a scratch file: on any failure it is deleted
        db.execute("PRAGMA synchronous=OFF")
        db.executescript(SCHEMA)
        db.executescript(sqlite_changes.SCHEMA)
        db.execute("BEGIN")
        restored = _read_backup(source, db, allowed_files)
        _set_sequences(db, restored.header["sequences"])
        restored.indexes = _rebuild_indexes(db)
        db.execute("COMMIT")
        restored.restored = {name: _count(db, name) for name in restored.sections}
    except sqlite3.Error as exc:
        raise ValueError(f"cannot restore {source}: {exc}") from None
    finally:
        db.close()
    if restored.restored != restored.sections:
        raise ValueError(f"restored row counts differ from the backup's: {restored.restored}")
    _fsync(scratch)
    return restored


def _read_backup(source: Path, db: sqlite3.Connection, allowed_files: Sequence[str]) -> Restored:
    records = _records(source)
    restored = Restored(_checked_header(next(records, None)))
    for record in records:
        if not isinstance(record, dict):
            raise ValueError(f"{source}: a row outside any table section (corrupted file)")
        if "table" in record:
            restored.sections[record["table"]] = _load_table(db, record, records, restored.header)
        elif "file" in record:
            if record["file"] not in allowed_files:
                raise ValueError(f"{source}: unexpected file {record['file']!r}")
            restored.files[record["file"]] = _decoded(record.get("content"))
        elif record.get("end") is True:
            _check_complete(record, restored)
            if next(records, None) is not None:
                raise ValueError(f"{source}: data after the end marker")
            return restored
        else:
            raise ValueError(f"{source}: unexpected line {str(record)[:80]}")
    raise ValueError(f"{source} is truncated: it has no end marker")


def _records(source: Path) -> Iterator:
    """The decoded lines of a backup file; any read or decoding problem is a ValueError."""
    try:
        with gzip.open(source, "rb") as lines:
            for line in lines:
                yield orjson.loads(line)
    except (OSError, EOFError, zlib.error, orjson.JSONDecodeError) as exc:
        raise ValueError(f"{source} is not a readable Toshi backup: {exc}") from None


def _checked_header(header) -> dict:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError("not a Toshi backup (no toshi-backup header)")
    if header.get("version") != VERSION:
        raise ValueError(f"backup format version {header.get('version')} is not supported (this Toshi reads {VERSION})")
    if str(header.get("schemaVersion")) != SCHEMA_VERSION:
        raise ValueError(f"the backup has database schema {header.get('schemaVersion')}; this Toshi has "
                         f"{SCHEMA_VERSION}")
    if not isinstance(header.get("tables"), list) or not isinstance(header.get("sequences", {}), dict):
        raise ValueError("malformed backup header")
    header.setdefault("sequences", {})
    return header


def _load_table(db: sqlite3.Connection, section: dict, records: Iterator, header: dict) -> int:
    name, columns, count = section["table"], section.get("columns"), section.get("rows")
    if not isinstance(columns, list) or not columns or not isinstance(count, int):
        raise ValueError(f"malformed section header for table {name!r}")
    if name not in header["tables"] or name in DERIVED_TABLES:
        raise ValueError(f"unexpected table {name!r} in the backup")
    _create_table(db, name, section.get("sqlite") or [])
    marks = ", ".join("?" * len(columns))
    rows = (_row(next(records, None), len(columns), name) for _ in range(count))
    db.executemany(f"INSERT INTO {_quoted(name)} ({_column_list(columns)}) VALUES ({marks})", rows)
    return count


def _create_table(db: sqlite3.Connection, name: str, statements: list[str]) -> None:
    """Tables of the core store exist already; a feature's table is made by its saved statements."""
    if _exists(db, name):
        return
    if not statements:
        raise ValueError(f"the backup does not say how to create table {name!r}")
    for statement in statements:
        if not statement.upper().startswith(DDL_ALLOWED):
            raise ValueError(f"refusing to run {statement[:60]!r} from the backup")
        db.execute(statement)


def _row(record, width: int, table: str) -> list:
    if not isinstance(record, list) or len(record) != width:
        raise ValueError(f"table {table}: the backup has fewer or malformed rows (truncated or corrupted)")
    return [_decoded(v) if isinstance(v, dict) else v for v in record]


def _decoded(value) -> bytes:
    if not isinstance(value, dict) or not isinstance(value.get(BYTES), str):
        raise ValueError("malformed binary value in the backup")
    return base64.b64decode(value[BYTES])


def _check_complete(end: dict, restored: Restored) -> None:
    missing = set(restored.header["tables"]) - set(restored.sections)
    if missing:
        raise ValueError(f"the backup lacks table(s) {', '.join(sorted(missing))}")
    if end.get("rows") != sum(restored.sections.values()):
        raise ValueError(f"the end marker counts {end.get('rows')} rows; the sections hold "
                         f"{sum(restored.sections.values())}")
    if set(restored.files) != set(restored.header.get("files", [])):
        raise ValueError("the backup lacks file(s) its header lists")


def _set_sequences(db: sqlite3.Connection, sequences: dict[str, int]) -> None:
    """Numbers handed out before the backup (change-log seq, history instance ids) are never reused."""
    for name, seq in sequences.items():
        if db.execute("UPDATE sqlite_sequence SET seq=max(seq, ?) WHERE name=?", (seq, name)).rowcount == 0:
            db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, seq))


def _rebuild_indexes(db: sqlite3.Connection) -> dict[str, int]:
    last = 0
    while True:
        rows = db.execute("SELECT rowid, tenant, doc FROM entities WHERE rowid > ? ORDER BY rowid LIMIT ?",
                          (last, INDEX_CHUNK)).fetchall()
        for rowid, tenant, doc in rows:
            index_entity(db, tenant, rowid, orjson.loads(doc))
            last = rowid
        if len(rows) < INDEX_CHUNK:
            return {name: _count(db, name) for name in DERIVED_TABLES}


def _swap_in(scratch: Path, database: Path) -> None:
    """Put the complete scratch database in place. No process has the old one open (we hold the lock);
    its WAL must go first, or SQLite would replay it onto the new file."""
    for suffix in ("-wal", "-shm"):
        Path(str(database) + suffix).unlink(missing_ok=True)
    os.replace(scratch, database)
    _fsync(database.parent)


def _put_files(data_dir: Path, files: dict[str, bytes], allowed: Sequence[str]) -> None:
    """Restore the backed-up files (owner-only: they are secrets); one the backup lacks is removed, so
    the data directory holds the backed-up town and nothing of the replaced one."""
    for name in allowed:
        path = data_dir / name
        if name not in files:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        scratch = path.with_name(path.name + ".restoring")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(files[name])
            out.flush()
            os.fsync(out.fileno())
        os.chmod(scratch, 0o600)
        os.replace(scratch, path)


# -- helpers --------------------------------------------------------------------------------------

def _exists(db: sqlite3.Connection, table: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone() is not None


def _count(db: sqlite3.Connection, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()[0]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column_list(columns: list[str]) -> str:
    return ", ".join(_quoted(c) for c in columns)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
