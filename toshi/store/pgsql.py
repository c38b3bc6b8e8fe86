"""A PostgreSQL connection that runs the SQL Toshi's features write for SQLite.

Features keep their own tables through the store's connection (`store.db`) and write their SQL once,
in the subset both databases accept: `?` placeholders, `INSERT ... ON CONFLICT`, `RETURNING`, explicit
`BEGIN`/`COMMIT`, and `ORDER BY rowid` for insertion order. `PgConnection` gives that SQL the
sqlite3 calls the features use (`execute`, `executemany`, `in_transaction`) over psycopg 3, turning
placeholders into psycopg's and SQLite DDL into PostgreSQL DDL (`pg_ddl`). `BEGIN IMMEDIATE` means
what it means in SQLite: the transaction holds the database's one write lock (here a transaction-level
advisory lock) until it ends, so writers in several processes take turns, and the change log's
sequence numbers are in commit order.

Statements run synchronously on the calling thread, as with SQLite: they are short, and a
round trip to a nearby PostgreSQL costs less than handing it to a thread. A connection lost between
transactions is re-opened on the next statement; one lost inside a transaction (or that cannot be
re-opened) raises `StoreUnavailable`, which the HTTP layer answers with 503. PostgreSQL rolls back
whatever the lost transaction had written.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache

import psycopg
from psycopg.pq import TransactionStatus

from toshi.core.errors import StoreUnavailable, TooComplexQuery


class PgConnection:
    dialect = "postgresql"

    def __init__(self, url: str, timeout: float = 10.0, statement_timeout: float = 0.0):
        """`timeout`: seconds to connect, and to wait for a lock; `statement_timeout`: seconds one
        statement may run (0: no limit)."""
        self.url, self.timeout, self.statement_timeout = url, timeout, statement_timeout
        self.raw: psycopg.Connection | None = None
        self.pipeline: psycopg.Pipeline | None = None  # set while a write transaction pipelines its statements
        self.connect()

    def connect(self) -> None:
        try:
            self.raw = psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, round(self.timeout)))
            self.raw.execute(f"SET lock_timeout = {int(self.timeout * 1000)}")
            self.raw.execute(f"SET statement_timeout = {int(self.statement_timeout * 1000)}")
            # Statements are prepared (parsed once), but planned for their values each time: a generic
            # plan of a query page (e.g. q=temperature>20) can be a hundred times slower than its own.
            self.raw.execute("SET plan_cache_mode = force_custom_plan")
            self.schema = self.raw.execute("SELECT current_schema()").fetchone()[0]
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"cannot reach PostgreSQL at {safe_url(self.url)}: {first_line(exc)}") from None
        self.write_lock = lock_key(self.schema, "write")

    def execute(self, sql: str, params=()) -> psycopg.Cursor:
        """SQLite-flavoured SQL (`?` placeholders)."""
        translated = translate(sql)
        if translated == _BEGIN_IMMEDIATE:
            self.run("BEGIN")
            try:
                return self.run("SELECT pg_advisory_xact_lock(%s)", (self.write_lock,))
            except BaseException:  # the lock wait timed out: no transaction may stay open behind it
                self.rollback_if_open()
                raise
        return self.run(translated, params)

    def executemany(self, sql: str, rows) -> psycopg.Cursor:
        return self.run_many(translate(sql), rows)

    def run(self, sql: str, params=()) -> psycopg.Cursor:
        """PostgreSQL SQL (`%s` placeholders)."""
        return self._run("execute", sql, params)

    def run_many(self, sql: str, rows) -> psycopg.Cursor:
        rows = list(rows)
        if not rows:
            return self.raw.cursor()
        return self._run("executemany", sql, rows)

    def _run(self, method: str, sql: str, params) -> psycopg.Cursor:
        if self.raw.closed and not self.in_transaction:
            self.connect()
        cursor = self.raw.cursor() if self.pipeline is None else PipelinedCursor(self.raw.cursor(), self.pipeline)
        try:
            getattr(cursor, method)(sql, params)
        except psycopg.Error as exc:
            raise self.meaning(exc) from None
        return cursor

    def meaning(self, exc: psycopg.Error) -> Exception:
        """What a driver error means to a request: the database gone or busy (503), the request's time
        up (403 TooComplexQuery), else the error itself. (In a pipelined transaction errors surface
        where a result is read, so the store asks this too.)"""
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return StoreUnavailable(f"the database stayed busy for {self.timeout:g} s (lock_timeout)")
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return TooComplexQuery("the query ran past the request time limit (request_timeout)")
        lost = self.raw.closed or self.raw.broken or self.raw.info.transaction_status == TransactionStatus.UNKNOWN
        if isinstance(exc, psycopg.OperationalError) and lost:
            return StoreUnavailable(f"lost the connection to PostgreSQL: {first_line(exc)}")
        return exc

    @property
    def in_transaction(self) -> bool:
        if self.pipeline is not None:  # a write transaction (its BEGIN may not have reached the server yet)
            return True
        return self.raw.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR)

    def rollback_if_open(self) -> None:
        """After a failed statement: end the transaction, whatever state the connection is in."""
        if self.raw.closed:
            return
        if self.in_transaction:
            self.raw.execute("ROLLBACK")

    def close(self) -> None:
        if self.raw is not None:
            self.raw.close()


_BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"


class PipelinedCursor:
    """A cursor of a pipelined transaction: `rowcount` waits for the statement's answer (psycopg
    gives -1 until then); fetching does so by itself."""

    __slots__ = ("_cursor", "_pipeline")

    def __init__(self, cursor: psycopg.Cursor, pipeline: psycopg.Pipeline):
        self._cursor, self._pipeline = cursor, pipeline

    @property
    def rowcount(self) -> int:
        self._pipeline.sync()
        return self._cursor.rowcount

    def __getattr__(self, name: str):
        return getattr(self._cursor, name)

    def __iter__(self):
        return iter(self._cursor)


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """SQLite-flavoured SQL as PostgreSQL runs it."""
    head = sql.lstrip()[:16].upper()
    if head.startswith("CREATE"):
        return pg_ddl(sql)
    if head.startswith("BEGIN IMMEDIATE"):
        return _BEGIN_IMMEDIATE
    return _placeholders(sql)


def _placeholders(sql: str) -> str:
    """`?` outside string literals becomes `%s`; a literal `%` becomes `%%`."""
    out, quoted = [], False
    for char in sql:
        if char == "'":
            quoted = not quoted
        if char == "%":
            out.append("%%")
        elif char == "?" and not quoted:
            out.append("%s")
        else:
            out.append(char)
    return "".join(out)


_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)\s*\((.*)\)\s*(WITHOUT ROWID)?\s*$", re.S | re.I)
_TYPES = [
    (re.compile(r"\bINTEGER PRIMARY KEY( AUTOINCREMENT)?", re.I), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.I), "BYTEA"),
]


def pg_ddl(sql: str) -> str:
    """SQLite DDL as PostgreSQL DDL: 64-bit integers, doubles, identity keys; a table without an
    INTEGER PRIMARY KEY gets a `rowid` identity column, so `ORDER BY rowid` keeps meaning insertion
    order."""
    sql = re.sub(r"--[^\n]*", "", sql)
    table = _TABLE.match(sql.strip())
    if table is None:
        return _translate_types(sql)
    name, body, without_rowid = table.groups()
    has_key = re.search(r"\bINTEGER PRIMARY KEY\b", body, re.I) is not None
    body = _translate_types(body)
    if not has_key and not without_rowid:
        body = body.rstrip() + ",\n    rowid BIGINT GENERATED BY DEFAULT AS IDENTITY"
    return f"CREATE TABLE IF NOT EXISTS {name} ({body})"


def _translate_types(sql: str) -> str:
    for pattern, replacement in _TYPES:
        sql = pattern.sub(replacement, sql)
    return sql


def lock_key(schema: str, name: str) -> int:
    """An advisory lock key of this Toshi (advisory locks are per database: the schema tells apart
    several Toshis sharing one)."""
    return zlib.crc32(f"toshi:{schema}:{name}".encode())


def safe_url(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
