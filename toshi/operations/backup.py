"""`toshi backup` and `toshi restore`, for both stores (SQLite in the data directory, PostgreSQL).

A backup is logical: the rows of every primary table (entities, history, subscriptions, the change log
with its cursors, the outbox, and whatever tables the features made), never the derived indexes, which
a restore rebuilds from the entities. It reads the database inside one read transaction, so it sees
one committed snapshot even while servers write: on SQLite through a plain read-only connection (WAL
readers never block writers, nor the other way round), on PostgreSQL through a connection of its own
in a REPEATABLE READ READ ONLY transaction.

Which tables Toshi makes, and which of them are derived, is given (`tables`): the declarations of the
store (toshi.store.layout STORE_TABLES) and of every feature (toshi/core/feature.py Table).

The file is gzip-compressed JSON lines, the same whichever store wrote it:

    {"format": "toshi-backup", "version": 1, "created": ..., "toshi": ..., "schemaVersion": "1",
     "tables": [names], "sequences": {table: last number handed out}, "files": [paths in the data dir]}
    {"table": name, "columns": [names], "rows": N, "sqlite": [CREATE statements]}   then N lines:
    [value, value, ...]                  one JSON array per row; bytes are {"$b64": "<base64>"}
    ... one section per table ...
    {"file": "keys/toshi-signing.pem", "content": {"$b64": "..."}}
    {"end": true, "rows": total}

Tables and columns are those of the SQLite layout: a backup of PostgreSQL leaves out what only
PostgreSQL has (the `rowid` identity column it adds to feature tables that lack an integer key, which
a restore regenerates in the same order, and `entities.version`, which a restore recomputes from the
change log), and its `sqlite` statements are the features' own SQLite DDL. A restore maps the columns
of each section onto the target's table by name, so a backup of either store restores onto either.

A restore onto SQLite writes a scratch database beside the target and swaps it in only once every
section, count and the end marker checked out; onto PostgreSQL it does everything in one transaction.
Either way a truncated or corrupted file changes nothing.
"""

from __future__ import annotations

import base64
import gzip
import os
import re
import sqlite3
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import orjson

from toshi import __version__
from toshi.core.feature import Table, tables_of
from toshi.core.times import now_iso
from toshi.store import sql_changes
from toshi.store.sqlite import DERIVED_TABLES, SCHEMA, SCHEMA_VERSION, _lock_file, index_entity
from toshi.store.tables import dialect_ddl

FORMAT = "toshi-backup"
VERSION = 1
BYTES = "$b64"
DDL_ALLOWED = ("CREATE TABLE", "CREATE INDEX", "CREATE UNIQUE INDEX", "CREATE VIRTUAL TABLE")
INDEX_CHUNK = 1_000
PG_INDEX_CHUNK = 2_000     # entities per batch of index rows sent to PostgreSQL
PROGRESS_EVERY = 5_000     # rows between two progress reports
PG_CONNECT_TIMEOUT = 10    # seconds
PG_ONLY_COLUMNS = {"entities": ("version",)}  # columns PostgreSQL has beyond the SQLite layout (besides `rowid`)

Progress = Callable[[str, int, int], None]  # (table, rows done, rows in all)


@dataclass
class Restored:
    header: dict
    sections: dict[str, int] = field(default_factory=dict)   # rows per table, as the backup says
    restored: dict[str, int] = field(default_factory=dict)   # rows per table, as the new database holds
    indexes: dict[str, int] = field(default_factory=dict)    # rows of the rebuilt derived tables
    files: dict[str, bytes] = field(default_factory=dict)


# -- backup ---------------------------------------------------------------------------------------

def backup(database: Path, target: Path, files: Sequence[str] = (), *,
           tables: Sequence[Table], progress: Progress | None = None) -> dict[str, int]:
    """Write a backup of the SQLite `database` and of `files` (paths under its directory, when
    present) to `target`; returns the rows per table. `tables`: the tables Toshi makes."""
    if not database.is_file():
        raise ValueError(f"no Toshi database at {database}")
    db = open_snapshot_source(database)
    try:
        return write_backup(sqlite_snapshot(db, database.parent, files, tables=tables), target, progress)
    finally:
        db.close()


def backup_postgres(url: str, target: Path, data_dir: Path, files: Sequence[str] = (), *,
                    tables: Sequence[Table], progress: Progress | None = None) -> dict[str, int]:
    """Write a backup of the PostgreSQL database (or schema) at `url` and of `files` under `data_dir`
    (when present) to `target`; returns the rows per table."""
    import psycopg
    from psycopg import IsolationLevel

    from toshi.store.pgsql import first_line, safe_url

    _check_target_dir(target)
    try:
        conn = psycopg.connect(url, connect_timeout=PG_CONNECT_TIMEOUT)
    except psycopg.OperationalError as exc:
        raise ValueError(f"cannot reach PostgreSQL at {safe_url(url)}: {first_line(exc)}") from None
    try:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ  # one snapshot for every read below
        conn.read_only = True
        return write_backup(postgres_snapshot(conn, data_dir, files, tables=tables), target, progress)
    except psycopg.Error as exc:
        raise ValueError(f"cannot back up {safe_url(url)}: {first_line(exc)}") from None
    finally:
        conn.close()


def open_snapshot_source(database: Path) -> sqlite3.Connection:
    """A read-only connection to a (possibly served) SQLite database, for `sqlite_snapshot`."""
    return sqlite3.connect(database.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None, timeout=30)


def write_backup(records: Iterator, target: Path, progress: Progress | None = None) -> dict[str, int]:
    """Write `records` (a snapshot) as a backup file: beside its final name first, owner-only (it
    holds secrets), renamed once complete. Returns the rows per table."""
    _check_target_dir(target)
    rows = reporting(records, progress) if progress is not None else records
    partial = target.with_name(target.name + ".partial")
    counts: dict[str, int] = {}
    try:
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as out:
                for record in rows:
                    out.write(orjson.dumps(record, default=_encode) + b"\n")
                    if isinstance(record, dict) and "table" in record:
                        counts[record["table"]] = record["rows"]
            raw.flush()
            os.fsync(raw.fileno())
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        records.close()
    os.replace(partial, target)
    return counts


def reporting(records: Iterator, progress: Progress) -> Iterator:
    """The records of a backup as they are, telling `progress` how far each table's rows are."""
    table, total, done = None, 0, 0
    for record in records:
        if isinstance(record, dict) and "table" in record:
            if table is not None:
                progress(table, total, total)
            table, total, done = record["table"], record["rows"], 0
            progress(table, 0, total)
        elif table is not None and not isinstance(record, dict):
            done += 1
            if done % PROGRESS_EVERY == 0:
                progress(table, done, total)
        yield record
    if table is not None:
        progress(table, total, total)


def _check_target_dir(target: Path) -> None:
    if not target.parent.is_dir():
        raise ValueError(f"no directory {target.parent} to write {target.name} in")


def sqlite_snapshot(db: sqlite3.Connection, data_dir: Path, files: Sequence[str], *,
                    tables: Sequence[Table]) -> Iterator:
    """The records of a backup of an SQLite database (rows as tuples, bytes as bytes), read inside
    one read transaction: the header, each table's section and rows, the files, the end marker."""
    present = [name for name in files if (data_dir / name).is_file()]
    db.execute("BEGIN")
    total = 0
    try:  # every read below sees the same snapshot
        primary = primary_tables(db, tables)
        yield _header(db, list(primary), present)
        for name, sql in primary.items():
            total += yield from _sqlite_table(db, name, sql)
    finally:
        db.execute("COMMIT")
    for name in present:
        yield {"file": name, "content": (data_dir / name).read_bytes()}
    yield {"end": True, "rows": total}


def primary_tables(db: sqlite3.Connection, tables: Sequence[Table]) -> dict[str, str]:
    """{name: CREATE statement} of the tables a backup holds: all but SQLite's own, the derived
    indexes among `tables`, and the shadow tables in which virtual tables keep their data."""
    rows = db.execute("SELECT name, sql FROM sqlite_master WHERE type='table' ORDER BY name").fetchall()
    virtual = [name for name, sql in rows if sql.upper().startswith("CREATE VIRTUAL TABLE")]
    indexes = derived_tables(tables)

    def derived(name: str) -> bool:
        return (name.startswith("sqlite_") or name in indexes
                or any(name.startswith(v + "_") for v in virtual))
    return {name: sql for name, sql in rows if not derived(name)}


def _header(db: sqlite3.Connection, tables: list[str], files: list[str]) -> dict:
    schema = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    sequences = dict(db.execute("SELECT name, seq FROM sqlite_sequence")) if _exists(db, "sqlite_sequence") else {}
    return _header_record(schema[0] if schema else SCHEMA_VERSION, tables,
                          {name: seq for name, seq in sequences.items() if name in tables}, files)


def _header_record(schema_version: str, tables: list[str], sequences: dict[str, int], files: list[str]) -> dict:
    return {"format": FORMAT, "version": VERSION, "created": now_iso(), "toshi": __version__,
            "schemaVersion": schema_version, "tables": tables, "sequences": sequences, "files": files}


def _sqlite_table(db: sqlite3.Connection, name: str, sql: str) -> Iterator:
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({_quoted(name)})")]
    count = db.execute(f"SELECT count(*) FROM {_quoted(name)}").fetchone()[0]
    indexes = [r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name=? "
                                        "AND sql IS NOT NULL ORDER BY name", (name,))]
    yield {"table": name, "columns": columns, "rows": count, "sqlite": [sql, *indexes]}
    order = "" if "WITHOUT ROWID" in sql.upper() else " ORDER BY rowid"  # keeps creation order
    yield from db.execute(f"SELECT {_column_list(columns)} FROM {_quoted(name)}{order}")
    return count


def _encode(value):
    if isinstance(value, bytes):
        return {BYTES: base64.b64encode(value).decode()}
    if isinstance(value, Decimal):  # PostgreSQL's NUMERIC (history values): as SQLite holds them
        return int(value) if value.as_tuple().exponent >= 0 else float(value)
    raise TypeError(f"cannot back up a {type(value).__name__}")


# -- backup of PostgreSQL -------------------------------------------------------------------------

@dataclass(frozen=True)
class PgColumn:
    name: str
    type: str          # format_type(): bigint, text, numeric, double precision, bytea, ...
    identity: bool
    not_null: bool
    in_key: bool       # part of the primary key
    pg_only: bool      # not in the SQLite layout: left out of backups, regenerated by restores


def postgres_snapshot(conn, data_dir: Path, files: Sequence[str], *, tables: Sequence[Table]) -> Iterator:
    """The records of a backup of the PostgreSQL schema `conn` works in; `conn` must be in a
    REPEATABLE READ (or SERIALIZABLE) transaction that this ends."""
    present = [name for name in files if (data_dir / name).is_file()]
    total = 0
    try:
        primary = {name: pg_columns(conn, name) for name in pg_primary_tables(conn, tables)}
        schema = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() \
            if "meta" in primary else None
        yield _header_record(schema[0] if schema else SCHEMA_VERSION, list(primary),
                             _pg_sequences(conn, primary), present)
        known = schemas("sqlite", tables)
        for name, columns in primary.items():
            total += yield from _pg_table(conn, name, columns, known)
    finally:
        conn.rollback()  # read only: ends the snapshot
    for name in present:
        yield {"file": name, "content": (data_dir / name).read_bytes()}
    yield {"end": True, "rows": total}


def pg_primary_tables(conn, tables: Sequence[Table]) -> list[str]:
    """The tables of the current schema a backup holds: all but the derived indexes among `tables`
    and those of extensions (a schema of its own for Toshi keeps other applications' tables out of its
    backups)."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid "
        "AND d.deptype = 'e') ORDER BY c.relname").fetchall()
    indexes = derived_tables(tables)
    return [name for (name,) in rows if name not in indexes]


def pg_columns(conn, table: str) -> list[PgColumn]:
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attidentity <> '', a.attnotnull, "
        "coalesce(a.attnum = ANY(i.indkey), false) FROM pg_attribute a "
        "LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (_quoted(table),)).fetchall()
    return [PgColumn(name, type_, identity, not_null, in_key,
                     (name == "rowid" and identity and not in_key) or name in PG_ONLY_COLUMNS.get(table, ()))
            for name, type_, identity, not_null, in_key in rows]


def _pg_sequences(conn, tables: dict[str, list[PgColumn]]) -> dict[str, int]:
    """The last number each table's identity key handed out (read outside the snapshot: it is never
    less than the snapshot's, which is what a restore needs to never reuse one)."""
    sequences = {}
    for name, columns in tables.items():
        for column in columns:
            if column.identity and not column.pg_only:
                sequence = conn.execute("SELECT pg_get_serial_sequence(%s, %s)", (_quoted(name), column.name)).fetchone()[0]
                if sequence:
                    last, called = conn.execute(f"SELECT last_value, is_called FROM {sequence}").fetchone()
                    if called:
                        sequences[name] = last
    return sequences


def _pg_table(conn, name: str, columns: list[PgColumn], known: dict[str, list[str]]) -> Iterator:
    kept = [c.name for c in columns if not c.pg_only]
    count = conn.execute(f"SELECT count(*) FROM {_quoted(name)}").fetchone()[0]
    statements = known.get(name) or sqlite_ddl(name, columns)
    yield {"table": name, "columns": kept, "rows": count, "sqlite": statements}
    with conn.cursor(name="toshi_backup") as cursor:  # server side: streamed
        cursor.itersize = 2_000
        cursor.execute(f"SELECT {_column_list(kept)} FROM {_quoted(name)}{_pg_order(columns)}")
        yield from cursor
    return count


def _pg_order(columns: list[PgColumn]) -> str:
    """Creation order, as SQLite's rowid gives it: the added `rowid`, else the integer key."""
    for column in columns:
        if column.name == "rowid" or (column.identity and column.in_key):
            return f" ORDER BY {_quoted(column.name)}"
    return ""


def sqlite_ddl(table: str, columns: list[PgColumn]) -> list[str]:
    """The statements that make in SQLite a table Toshi does not make, derived from PostgreSQL's catalog."""
    names = {c.name for c in columns}
    key = [c.name for c in columns if c.in_key and not c.pg_only]
    parts = []
    for c in columns:
        if c.pg_only:
            continue
        if c.identity and key == [c.name]:
            parts.append(f"{_ident(c.name)} INTEGER PRIMARY KEY")
            key = []
            continue
        parts.append(" ".join(filter(None, (_ident(c.name), _sqlite_type(c.type), "NOT NULL" * c.not_null))))
    if key:
        parts.append(f"PRIMARY KEY ({', '.join(map(_ident, key))})")
    without_rowid = " WITHOUT ROWID" if key and "rowid" not in names else ""
    return [f"CREATE TABLE IF NOT EXISTS {_ident(table)} ({', '.join(parts)}){without_rowid}"]


def _sqlite_type(pg_type: str) -> str:
    if pg_type in ("bigint", "integer", "smallint", "boolean"):
        return "INTEGER"
    if pg_type in ("double precision", "real"):
        return "REAL"
    if pg_type == "bytea":
        return "BLOB"
    if pg_type.startswith("numeric"):
        return ""  # no affinity: integers stay integers
    return "TEXT"


# -- the tables Toshi makes -------------------------------------------------------------------------

def schemas(dialect: str, tables: Sequence[Table]) -> dict[str, list[str]]:
    """{table: [CREATE statements (SQLite-flavoured; PgConnection translates them)]} of the primary
    tables among `tables`, as `dialect` gets them."""
    found: dict[str, list[str]] = {}
    for table in tables:
        if not table.derived:
            statements = [dialect_ddl(statement.strip(), dialect) for statement in table.ddl.split(";")]
            found.setdefault(table.name, []).extend(filter(None, statements))
    return found


def derived_tables(tables: Sequence[Table]) -> set[str]:
    """The names of the derived tables among `tables` (indexes rebuilt from primary rows: not in backups)."""
    return {table.name for table in tables if table.derived}


# -- restore --------------------------------------------------------------------------------------

def restore(source: Path, database: Path, files: Sequence[str] = (), *, tables: Sequence[Table],
            force: bool = False, progress: Progress | None = None) -> Restored:
    """Replace the SQLite `database` (and `files` under its directory) by the backup in `source`.
    Refuses while a server uses the data directory, and a database holding data unless `force`.
    `tables`: the tables Toshi makes."""
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        lock = _lock_file(str(database) + ".lock")  # the store's own lock: a running server holds it
    except RuntimeError as exc:
        raise ValueError(f"{exc}: stop the server first (e.g. systemctl stop toshi), or restore into another "
                         "--data-dir and start the server there") from None
    try:
        if not force:
            _refuse_if_holding_data(database, tables)
        scratch = database.with_name(database.name + ".restoring")
        scratch.unlink(missing_ok=True)
        try:
            restored = _load(source, scratch, files, tables, progress)
        except BaseException:
            scratch.unlink(missing_ok=True)
            raise
        _swap_in(scratch, database)
        _put_files(database.parent, restored.files, files)
        return restored
    finally:
        lock.close()


def _refuse_if_holding_data(database: Path, tables: Sequence[Table]) -> None:
    if not database.exists():
        return
    db = sqlite3.connect(database, isolation_level=None)
    try:
        holding = [name for name in primary_tables(db, tables)
                   if name != "meta" and db.execute(f"SELECT 1 FROM {_quoted(name)} LIMIT 1").fetchone()]
    finally:
        db.close()
    if holding:
        raise ValueError(f"{database} already holds data ({', '.join(holding)}); "
                         "use --force to replace everything in it")


def _load(source: Path, scratch: Path, allowed_files: Sequence[str], tables: Sequence[Table],
          progress: Progress | None = None) -> Restored:
    db = sqlite3.connect(scratch, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")  # a scratch file: on any failure it is deleted
        db.execute("PRAGMA synchronous=OFF")
        db.executescript(SCHEMA)
        db.executescript(sql_changes.SCHEMA)
        db.execute("BEGIN")
        records = _records(source) if progress is None else reporting(_records(source), progress)
        restored = read_backup(str(source), records, _SqliteTarget(db, tables), allowed_files, tables=tables)
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


def read_backup(name: str, records: Iterator, target, allowed_files: Sequence[str], *,
                tables: Sequence[Table]) -> Restored:
    """Check the records of a backup (from a file, or a snapshot being taken) and hand each table's
    rows to `target` (`start(header)`, `load_table(name, columns, count, statements, rows) -> count`)."""
    restored = Restored(_checked_header(next(records, None)))
    derived = derived_tables(tables)
    target.start(restored.header)
    for record in records:
        if not isinstance(record, dict):
            raise ValueError(f"{name}: a row outside any table section (corrupted file)")
        if "table" in record:
            restored.sections[record["table"]] = _load_section(target, record, records, restored.header,
                                                               derived)
        elif "file" in record:
            if record["file"] not in allowed_files:
                raise ValueError(f"{name}: unexpected file {record['file']!r}")
            content = record.get("content")
            restored.files[record["file"]] = content if isinstance(content, bytes) else _decoded(content)
        elif record.get("end") is True:
            _check_complete(record, restored)
            if next(records, None) is not None:
                raise ValueError(f"{name}: data after the end marker")
            return restored
        else:
            raise ValueError(f"{name}: unexpected line {str(record)[:80]}")
    raise ValueError(f"{name} is truncated: it has no end marker")


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
    if not all(isinstance(seq, int) for seq in header["sequences"].values()):
        raise ValueError("malformed backup header")
    return header


def _load_section(target, section: dict, records: Iterator, header: dict, derived: set[str]) -> int:
    name, columns, count = section["table"], section.get("columns"), section.get("rows")
    if not isinstance(columns, list) or not columns or not isinstance(count, int) or not isinstance(name, str):
        raise ValueError(f"malformed section header for table {name!r}")
    if name not in header["tables"] or name in derived:
        raise ValueError(f"unexpected table {name!r} in the backup")
    rows = (_row(next(records, None), len(columns), name) for _ in range(count))
    loaded = target.load_table(name, columns, count, section.get("sqlite") or [], rows)
    if next(rows, None) is not None or loaded != count:
        raise ValueError(f"table {name}: {loaded} rows loaded, the backup announces {count}")
    return count


def _row(record, width: int, table: str) -> list:
    if not isinstance(record, list | tuple) or len(record) != width:
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


def _kept_columns(table: str, columns: list[str], target: set[str]) -> list[int]:
    """Which of a section's columns go into the target's table: all it has; one it lacks may only
    be one the other store alone has (`rowid` of a feature table, `entities.version`)."""
    for column in columns:
        if column not in target and column != "rowid" and column not in PG_ONLY_COLUMNS.get(table, ()):
            raise ValueError(f"the backup's table {table} has a column {column!r} this Toshi's table lacks")
    return [n for n, column in enumerate(columns) if column in target]


class _SqliteTarget:
    def __init__(self, db: sqlite3.Connection, tables: Sequence[Table]):
        self.db = db
        self.known = schemas("sqlite", tables)

    def start(self, header: dict) -> None:
        pass  # the scratch database has the core tables already

    def load_table(self, name: str, columns: list[str], count: int, statements: list[str], rows) -> int:
        _create_table(self.db, name, statements or self.known.get(name, []))
        kept = _kept_columns(name, columns, {row[1] for row in self.db.execute(f"PRAGMA table_info({_quoted(name)})")})
        if len(kept) < len(columns):
            rows = ([row[n] for n in kept] for row in rows)
        names = [columns[n] for n in kept]
        marks = ", ".join("?" * len(names))
        counted = [0]

        def counting(rows=rows):
            for row in rows:
                counted[0] += 1
                yield row
        self.db.executemany(f"INSERT INTO {_quoted(name)} ({_column_list(names)}) VALUES ({marks})", counting())
        return counted[0]


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


def _set_sequences(db: sqlite3.Connection, sequences: dict[str, int]) -> None:
    """Numbers handed out before the backup (change-log seq, history instance ids) are never reused.
    SQLite keeps them for AUTOINCREMENT tables only (a PostgreSQL backup names other keys too)."""
    counted = {name for name, sql in db.execute("SELECT name, sql FROM sqlite_master WHERE type='table'")
               if sql and "AUTOINCREMENT" in sql.upper()}
    for name, seq in sequences.items():
        if name not in counted:
            continue
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


# -- restore onto PostgreSQL ------------------------------------------------------------------------

def restore_postgres(source: Path, url: str, data_dir: Path, files: Sequence[str] = (), *,
                     tables: Sequence[Table], force: bool = False,
                     progress: Progress | None = None) -> Restored:
    """Replace the town in the PostgreSQL database (or schema) at `url`, and `files` under `data_dir`,
    by the backup in `source`. Refuses a database holding data unless `force`. Stop the servers using
    that database first: they keep caches that would not match the restored town."""
    restored = load_postgres(_records(source), url, files, tables=tables, force=force, progress=progress,
                             name=str(source))
    data_dir.mkdir(parents=True, exist_ok=True)
    _put_files(data_dir, restored.files, files)
    return restored


def load_postgres(records: Iterator, url: str, allowed_files: Sequence[str] = (), *,
                  tables: Sequence[Table], force: bool = False, progress: Progress | None = None,
                  name: str = "the backup") -> Restored:
    """Load the records of a backup (a file's, or a snapshot's as it is taken) into PostgreSQL, in
    one transaction: nothing changes unless all of it checks out."""
    import psycopg

    from toshi.store import migrations
    from toshi.store.pgsql import PgConnection, first_line, safe_url

    where = safe_url(url)
    db = PgConnection(url)
    try:
        migrations.check(db, where)  # a schema behind or ahead: not ours to fill
        db.run("BEGIN")
        target = _PgTarget(db, where, tables, force=force, progress=progress)
        restored = read_backup(name, records, target, allowed_files, tables=tables)
        target.finish(restored)
        if restored.restored != restored.sections:
            raise ValueError(f"restored row counts differ from the backup's: {restored.restored}")
        db.run("COMMIT")
        return restored
    except psycopg.Error as exc:
        raise ValueError(f"cannot restore into {where}: {first_line(exc)}") from None
    finally:
        try:
            db.rollback_if_open()
        finally:
            db.close()


class _PgTarget:
    def __init__(self, db, where: str, tables: Sequence[Table], *, force: bool, progress: Progress | None):
        self.db, self.where, self.force = db, where, force
        self.known, self.derived = schemas("postgresql", tables), derived_tables(tables)
        self.progress = progress or (lambda table, done, total: None)

    def start(self, header: dict) -> None:
        """Refuse a town holding data (unless forced), empty Toshi's tables, make the missing ones."""
        from toshi.store import postgres
        from toshi.store.pgsql import lock_key
        from toshi.store.tables import create_tables

        schema = self.db.run("SELECT current_schema()").fetchone()[0]
        # A running server holds the notifier lock (a session lock, see postgres.Leadership): refuse, as
        # the SQLite restore refuses a locked data directory. Holding it and the write lock until the
        # end keeps servers started meanwhile from delivering or writing into a half-restored town.
        if not self.db.run("SELECT pg_try_advisory_xact_lock(%s)", (lock_key(schema, "notifier"),)).fetchone()[0]:
            raise ValueError(f"a Toshi server is using {self.where}: stop every server using it first")
        self.db.run("SELECT pg_advisory_xact_lock(%s)", (lock_key(schema, "write"),))
        core = [table.name for table in tables_of(postgres.SCHEMA)]
        ours = {*core, *self.known, *header["tables"]}
        existing = [name for (name,) in self.db.run(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s) "
            "ORDER BY c.relname", (sorted(ours),)).fetchall()]
        if not self.force:
            holding = [name for name in existing if name != "meta" and name not in self.derived
                       and self.db.run(f"SELECT 1 FROM {_quoted(name)} LIMIT 1").fetchone()]
            if holding:
                raise ValueError(f"{self.where} already holds data ({', '.join(holding)}); "
                                 "use --force to replace everything in it")
        if existing:
            self.db.run(f"TRUNCATE {_column_list(existing)} RESTART IDENTITY")
        for statement in postgres.SCHEMA.split(";"):  # what PostgresStore.open makes
            if statement.strip():
                self.db.run(statement)
        create_tables(self.db, sql_changes.SCHEMA)
        for statements in self.known.values():
            for statement in statements:
                self.db.execute(statement)

    def load_table(self, name: str, columns: list[str], count: int, statements: list[str], rows) -> int:
        if not self._exists(name):
            self._create(name, statements)
        target = {c.name: c for c in pg_columns(self.db.raw, name)}
        kept = _kept_columns(name, columns, set(target))
        numeric = [n for n, i in enumerate(kept) if target[columns[i]].type.startswith("numeric")]
        names = [columns[i] for i in kept]
        done = 0
        self.progress(name, 0, count)
        with self.db.raw.cursor().copy(f"COPY {_quoted(name)} ({_column_list(names)}) FROM STDIN") as copy:
            for row in rows:
                values = row if len(kept) == len(columns) else [row[i] for i in kept]
                for n in numeric:
                    if isinstance(values[n], float):
                        values[n] = _exact(values[n])
                copy.write_row(values)
                done += 1
                if done % PROGRESS_EVERY == 0:
                    self.progress(name, done, count)
        self.progress(name, done, count)
        return done

    def _exists(self, name: str) -> bool:
        return self.db.run("SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = current_schema() AND c.relname = %s", (name,)).fetchone() is not None

    def _create(self, name: str, statements: list[str]) -> None:
        """A table no feature of this Toshi makes: by the backup's SQLite statements, translated."""
        if not statements:
            raise ValueError(f"the backup does not say how to create table {name!r}")
        for statement in statements:
            upper = statement.upper()
            if not upper.startswith(DDL_ALLOWED) or upper.startswith("CREATE VIRTUAL TABLE"):
                raise ValueError(f"cannot create table {name!r} in PostgreSQL with {statement[:60]!r}")
            # sqlite_master keeps statements without IF NOT EXISTS; pg_ddl translates those that have it
            statement = re.sub(r"^CREATE\s+(UNIQUE\s+)?(TABLE|INDEX)\s+(?!IF\s+NOT\s+EXISTS)",
                               r"CREATE \1\2 IF NOT EXISTS ", statement.strip(), flags=re.I)
            self.db.execute(statement)

    def finish(self, restored: Restored) -> None:
        """Sequences past the restored numbers, entity versions, derived indexes, and the counts."""
        for name in restored.sections:
            self._move_sequences(name, restored.header["sequences"].get(name, 0))
        if "entities" in restored.sections and "changes" in restored.sections:
            self.db.run("UPDATE entities e SET version = c.seq FROM (SELECT tenant, entity_id, max(seq) AS seq "
                        "FROM changes GROUP BY tenant, entity_id) c WHERE e.tenant = c.tenant AND e.id = c.entity_id")
        restored.indexes = self._rebuild_indexes()
        restored.restored = {name: self.db.run(f"SELECT count(*) FROM {_quoted(name)}").fetchone()[0]
                             for name in restored.sections}

    def _move_sequences(self, name: str, recorded: int) -> None:
        for column in pg_columns(self.db.raw, name):
            if not column.identity:
                continue
            top = self.db.run(f"SELECT coalesce(max({_quoted(column.name)}), 0) FROM {_quoted(name)}").fetchone()[0]
            if not column.pg_only:
                top = max(top, recorded)
            self.db.run("SELECT setval(pg_get_serial_sequence(%s, %s), %s, %s)",
                        (_quoted(name), column.name, max(top, 1), top > 0))

    def _rebuild_indexes(self) -> dict[str, int]:
        from toshi.store.postgres import DERIVED_TABLES as PG_DERIVED
        from toshi.store.postgres import index_entity as index_pg_entity

        batched = _Batched(self.db)
        total = self.db.run("SELECT count(*) FROM entities").fetchone()[0]
        last = done = 0
        self.progress("(indexes)", 0, total)
        while True:
            rows = self.db.run("SELECT rowid, tenant, doc FROM entities WHERE rowid > %s ORDER BY rowid LIMIT %s",
                               (last, PG_INDEX_CHUNK)).fetchall()
            for rowid, tenant, doc in rows:
                index_pg_entity(batched, tenant, rowid, orjson.loads(doc))
                last = rowid
            batched.flush()
            done += len(rows)
            self.progress("(indexes)", done, total)
            if len(rows) < PG_INDEX_CHUNK:
                return {name: self.db.run(f"SELECT count(*) FROM {name}").fetchone()[0] for name in PG_DERIVED}


class _Batched:
    """Stands for the connection while `index_entity` writes the index rows of restored entities:
    its inserts are gathered, and sent as one batch per statement (`flush`)."""

    def __init__(self, db):
        self._db = db
        self._pending: dict[str, list] = {}

    def run_many(self, sql: str, rows) -> None:
        self._pending.setdefault(sql, []).extend(rows)

    def run(self, sql: str, params=()):
        self.flush()
        return self._db.run(sql, params)

    def execute(self, sql: str, params=()):
        self.flush()
        return self._db.execute(sql, params)

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for sql, rows in pending.items():
            self._db.run_many(sql, rows)


def _exact(number: float) -> Decimal:
    """A float for a NUMERIC column as toshi.temporal.history binds it: the Decimal that reads back
    as that float, with a fractional digit (so it reads back as a float, not an integer)."""
    exact = Decimal(repr(number))
    return exact if exact.as_tuple().exponent < 0 else Decimal(f"{int(number)}.0")


# -- helpers --------------------------------------------------------------------------------------

def _exists(db: sqlite3.Connection, table: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone() is not None


def _count(db: sqlite3.Connection, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()[0]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ident(name: str) -> str:
    """A name as DDL both databases read (and pgsql.pg_ddl translates): quoted only when it must be."""
    return name if re.fullmatch(r"[A-Za-z_]\w*", name) else _quoted(name)


def _column_list(columns: list[str]) -> str:
    return ", ".join(_quoted(c) for c in columns)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
