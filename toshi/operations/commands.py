"""`toshi backup | restore | migrate | db status | db upgrade`: operations on a whole town's data,
whichever features made it (they declare their tables and files; the command line hands them over)."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from toshi.config import load_settings
from toshi.ops import record_backup


def _db_status(args: argparse.Namespace) -> int:
    from toshi.store import migrations

    with _database(args) as db:
        version, todo = migrations.version_of(db), migrations.pending(db)
    print(f"schema version {version if version is not None else '(none yet)'}; this Toshi needs "
          f"{migrations.latest()}; {len(todo)} migration(s) to apply" +
          "".join(f"\n  {m.version}: {m.description}" for m in todo))
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from toshi.store import migrations

    with _database(args) as db:
        applied = migrations.upgrade(db)
        version = migrations.version_of(db)
    for migration in applied:
        print(f"applied {migration.version}: {migration.description}")
    print(f"schema version {version}" + ("" if applied else " (already up to date)"))
    return 0


@contextmanager
def _database(args: argparse.Namespace):
    """The database of a stopped server, without the start-up checks: the SQLite file (its lock file
    taken), or the PostgreSQL database (whose schema changes run under the write lock)."""
    import sqlite3

    from toshi.store.sqlite import _lock_file

    settings = load_settings(args.config, {"data_dir": args.data_dir, "database_url": args.database_url})
    if settings.database_url:
        from toshi.store.pgsql import PgConnection

        db = PgConnection(settings.database_url, settings.database_timeout)
        try:
            yield db
        finally:
            db.close()
        return
    path = settings.database_path
    if not path.exists():
        raise ValueError(f"no database at {path}")
    lock = _lock_file(str(path) + ".lock")
    db = sqlite3.connect(path, isolation_level=None)
    try:
        yield db
    finally:
        db.close()
        lock.close()


def _backup(cli, args: argparse.Namespace) -> int:
    from toshi.operations.backup import backup, backup_postgres

    settings, url = _backup_settings(args)
    with _progress() as bar:
        if url:
            counts = backup_postgres(url, Path(args.file), Path(settings.data_dir), cli.data_files(),
                                     tables=_tables(cli), progress=bar)
        else:
            counts = backup(settings.database_path, Path(args.file), cli.data_files(), tables=_tables(cli),
                            progress=bar)
    for table, rows in counts.items():
        print(f"  {table:<28} {rows:>10} rows", file=sys.stderr)
    record_backup(settings.data_dir, args.file, sum(counts.values()))  # for `toshi status`
    print(f"backup of {_backup_source(settings, url)} written to {args.file}: {sum(counts.values())} rows in "
          f"{len(counts)} tables (it holds secrets: keep it as safe as the data directory)", file=sys.stderr)
    return 0


def _restore(cli, args: argparse.Namespace) -> int:
    from toshi.operations.backup import restore, restore_postgres

    settings, url = _backup_settings(args)
    with _progress() as bar:
        if url:
            done = restore_postgres(Path(args.file), url, Path(settings.data_dir), cli.data_files(),
                                    tables=_tables(cli), force=args.force, progress=bar)
        else:
            done = restore(Path(args.file), settings.database_path, cli.data_files(), tables=_tables(cli),
                           force=args.force, progress=bar)
    print(f"restored {args.file} (made {done.header['created']} by Toshi {done.header['toshi']}) into "
          f"{_backup_source(settings, url)}")
    print(f"  {'table':<28} {'backup':>10} {'restored':>10}")
    for table, rows in done.sections.items():
        print(f"  {table:<28} {rows:>10} {done.restored[table]:>10}")
    print("every table holds the rows the backup announced")  # restore refuses to keep anything else
    indexes = ", ".join(f"{rows} {table}" for table, rows in done.indexes.items())
    print(f"entities: {done.restored.get('entities', 0)} (indexes rebuilt: {indexes})")
    for name in done.files:
        print(f"file: {name} (mode 0600)")
    return 0


@contextmanager
def _progress():
    """A progress bar on stderr: live on a terminal (rich), plain periodic lines otherwise."""
    from toshi.core.progress import Progress

    bar = Progress(sys.stderr, finished_lines=False)  # the command lists the tables when done
    try:
        yield bar
    finally:
        bar.close()


def _tables(cli) -> list:
    """The tables Toshi makes: the store's own and every feature's (toshi/core/feature.py Table)."""
    from toshi.store.layout import STORE_TABLES

    return [*STORE_TABLES, *cli.tables()]


def _backup_settings(args: argparse.Namespace):
    """The settings, and the PostgreSQL URL when they select PostgreSQL ("" for SQLite)."""
    from toshi.store.backends import is_postgres

    settings = load_settings(args.config, {"data_dir": args.data_dir, "database_url": args.database_url})
    if settings.database_url and not is_postgres(settings.database_url):
        raise ValueError("database_url must start with postgresql://")
    return settings, settings.database_url


def _backup_source(settings, url: str) -> str:
    from toshi.store.pgsql import safe_url

    return safe_url(url) if url else str(settings.database_path)


def _migrate(cli, args: argparse.Namespace) -> int:
    from toshi.operations.migrate import migrate

    settings = load_settings(args.config, {"data_dir": args.data_dir})
    return migrate(settings.database_path, args.to, tables=_tables(cli), force=args.force)


def add_commands(commands, cli) -> None:
    common = cli.common
    _add_db_commands(commands, common)
    backup = commands.add_parser("backup", parents=[common],
                                 help="write a consistent snapshot of the town to FILE (works while serving)")
    backup.add_argument("file", metavar="FILE", help="the backup to write (gzip-compressed JSON lines)")
    backup.set_defaults(run=partial(_backup, cli))
    restore = commands.add_parser("restore", parents=[common],
                                  help="replace the town by the backup in FILE (servers stopped)")
    restore.add_argument("file", metavar="FILE", help="a file `toshi backup` wrote")
    restore.add_argument("--force", action="store_true", help="replace a database that already holds data")
    restore.set_defaults(run=partial(_restore, cli))
    migrate = commands.add_parser("migrate", parents=[common],
                                  help="copy the data directory's SQLite town to PostgreSQL (works while serving)")
    migrate.add_argument("--to", required=True, metavar="URL", help="postgresql://user@host/db to copy the town to")
    migrate.add_argument("--force", action="store_true", help="replace a PostgreSQL town that already holds data")
    migrate.set_defaults(run=partial(_migrate, cli))


def _add_db_commands(commands, common: argparse.ArgumentParser) -> None:
    db = commands.add_parser("db", help="the database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("status", parents=[common], help="schema version and pending migrations").set_defaults(
        run=_db_status)
    db.add_parser("upgrade", parents=[common], help="apply pending schema migrations (server stopped)").set_defaults(
        run=_db_upgrade)


