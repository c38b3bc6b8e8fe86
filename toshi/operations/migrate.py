"""`toshi migrate --to postgresql://...`: the SQLite town of a data directory, copied to PostgreSQL.

It is a backup streamed straight into a restore: the snapshot `toshi backup` takes (one read
transaction on a read-only connection, so the server may keep running) feeds the PostgreSQL restore
(one transaction: a failure leaves the target as it was), with no file in between. A progress bar
shows on stderr; at the end the rows of every table in PostgreSQL are counted again, on a connection
of their own, and compared with the snapshot's.

Writes the SQLite server accepts after the snapshot are not in PostgreSQL: for the final move, stop
the server, migrate, and start it again with TOSHI_DATABASE_URL set.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from toshi.core.feature import Table
from toshi.core.progress import Progress
from toshi.operations.backup import load_postgres, open_snapshot_source, sqlite_snapshot

ProgressBar = Progress  # the progress of a copy (toshi/core/progress.py), by its older name


def migrate(database: Path, url: str, *, tables: Sequence[Table], force: bool = False,
            out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Copy the SQLite `database` to the PostgreSQL database (or schema) at `url`; `tables`: the tables
    Toshi makes. Returns the exit code: 0 when every table in PostgreSQL holds the snapshot's rows, 1
    otherwise."""
    from toshi.store.backends import is_postgres
    from toshi.store.pgsql import safe_url

    out, err = out or sys.stdout, err or sys.stderr
    if not is_postgres(url):
        raise ValueError("--to must be a postgresql:// URL")
    if not database.is_file():
        raise ValueError(f"no Toshi database at {database}")
    where = safe_url(url)
    print(f"copying {database} to {where}", file=err)
    started = time.monotonic()
    bar = ProgressBar(err)
    db = open_snapshot_source(database)
    # the signing key stays in the data directory
    records = sqlite_snapshot(db, database.parent, (), tables=tables)
    try:
        restored = load_postgres(records, url, tables=tables, force=force, progress=bar, name=str(database))
    finally:
        bar.close()
        records.close()
        db.close()
    seconds = time.monotonic() - started
    counted = count_rows(url, list(restored.sections))
    differing = [table for table, rows in restored.sections.items() if counted.get(table) != rows]

    print(f"  {'table':<28} {'SQLite':>10} {'PostgreSQL':>11}", file=out)
    for table, rows in restored.sections.items():
        print(f"  {table:<28} {rows:>10} {counted.get(table, 0):>11}  "
              f"{'DIFFERS' if table in differing else 'OK'}", file=out)
    indexes = ", ".join(f"{rows} {table}" for table, rows in restored.indexes.items())
    print(f"entities: {restored.sections.get('entities', 0)} (indexes built: {indexes}); "
          f"change log up to seq {restored.header['sequences'].get('changes', 0)}; {seconds:.1f} s", file=out)
    if differing:
        print(f"FAILED: {', '.join(differing)} differ between the snapshot and PostgreSQL", file=out)
        return 1
    print(f"OK: every table in PostgreSQL holds the rows of the snapshot of {database}", file=out)
    print("next: stop the SQLite server if it still runs (writes after the snapshot are not copied; migrate "
          f"again with --force to take them), set TOSHI_DATABASE_URL={where} (or database_url in "
          "toshi.toml), keep this data directory (its keys/ hold the signing key), and start Toshi", file=out)
    return 0


def count_rows(url: str, tables: list[str]) -> dict[str, int]:
    """Rows per table as committed in PostgreSQL, counted on a connection of their own."""
    from toshi.operations.backup import _quoted
    from toshi.store.pgsql import PgConnection

    db = PgConnection(url)
    try:
        return {table: db.run(f"SELECT count(*) FROM {_quoted(table)}").fetchone()[0] for table in tables}
    finally:
        db.close()
