"""The `toshi` command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from toshi import __version__
from toshi.audit import commands as audit_commands
from toshi.auth import commands as auth_commands
from toshi.auth import policy_commands
from toshi.core.signing import key_file
from toshi.config import load_settings
from toshi.core.errors import StoreUnavailable

DATA_FILES = (key_file("").as_posix(),)  # files of the data directory a backup holds beside the database


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from toshi.app import SETTINGS_VARIABLE, create_app
    from toshi.store.backends import describe

    settings = load_settings(args.config, {"host": args.host, "port": args.port, "data_dir": args.data_dir,
                                           "log_level": args.log_level, "certfile": args.certfile,
                                           "keyfile": args.keyfile, "auth": True if args.auth else None,
                                           "database_url": args.database_url, "workers": args.workers})
    _check_database(settings)  # unreachable, or a schema behind or ahead: say so before anything starts
    scheme = "https" if settings.certfile else "http"
    print(f"Toshi {__version__}: NGSI-LD at {scheme}://{settings.host}:{settings.port}/ngsi-ld/v1 "
          f"(data in {describe(settings)}; {settings.workers} worker(s); authentication "
          f"{'on' if settings.auth else 'off'})", file=sys.stderr)
    options = dict(host=settings.host, port=settings.port, log_level=settings.log_level, access_log=False,
                   ssl_certfile=settings.certfile or None, ssl_keyfile=settings.keyfile or None)
    if settings.workers > 1:  # each worker process builds its app from the settings passed down
        os.environ[SETTINGS_VARIABLE] = json.dumps(dataclasses.asdict(settings))
        uvicorn.run("toshi.app:worker_app", factory=True, workers=settings.workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)
    return 0


def _check_database(settings) -> None:
    """Refuse to start on an unreachable database, one whose schema is behind or ahead, or several
    workers on SQLite (one process owns an SQLite file)."""
    from toshi.store.migrations import check_file

    if not settings.database_url:
        if settings.workers > 1:
            raise ValueError("--workers needs PostgreSQL (set TOSHI_DATABASE_URL=postgresql://...): "
                             "one process owns an SQLite database")
        check_file(settings.database_path)
        return
    from toshi.store import migrations
    from toshi.store.backends import describe, is_postgres
    from toshi.store.pgsql import PgConnection

    if not is_postgres(settings.database_url):
        raise ValueError("database_url must start with postgresql://")
    db = PgConnection(settings.database_url, settings.database_timeout)
    try:
        migrations.check(db, describe(settings))
    finally:
        db.close()


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


def _load_store(args: argparse.Namespace):
    """The store of a stopped server's data directory, for the management commands."""
    import asyncio

    from toshi.store.backends import store_for

    store = store_for(load_settings(args.config, {"data_dir": args.data_dir,
                                                  "database_url": getattr(args, "database_url", None)}))
    asyncio.run(store.open())
    return store


def _backup(args: argparse.Namespace) -> int:
    from toshi.store.backup import backup, backup_postgres

    settings, url = _backup_settings(args)
    if url:
        counts = backup_postgres(url, Path(args.file), Path(settings.data_dir), DATA_FILES)
    else:
        counts = backup(settings.database_path, Path(args.file), DATA_FILES)
    for table, rows in counts.items():
        print(f"  {table:<28} {rows:>10} rows", file=sys.stderr)
    print(f"backup of {_backup_source(settings, url)} written to {args.file}: {sum(counts.values())} rows in "
          f"{len(counts)} tables (it holds secrets: keep it as safe as the data directory)", file=sys.stderr)
    return 0


def _restore(args: argparse.Namespace) -> int:
    from toshi.store.backup import restore, restore_postgres
    from toshi.store.migrate import ProgressBar

    settings, url = _backup_settings(args)
    if url:
        bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
        try:
            done = restore_postgres(Path(args.file), url, Path(settings.data_dir), DATA_FILES, force=args.force,
                                    progress=bar)
        finally:
            if bar is not None:
                bar.close()
    else:
        done = restore(Path(args.file), settings.database_path, DATA_FILES, force=args.force)
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


def _migrate(args: argparse.Namespace) -> int:
    from toshi.store.migrate import migrate

    settings = load_settings(args.config, {"data_dir": args.data_dir})
    return migrate(settings.database_path, args.to, force=args.force)


def _add_backup_commands(commands, common: argparse.ArgumentParser) -> None:
    backup = commands.add_parser("backup", parents=[common],
                                 help="write a consistent snapshot of the town to FILE (works while serving)")
    backup.add_argument("file", metavar="FILE", help="the backup to write (gzip-compressed JSON lines)")
    backup.set_defaults(run=_backup)
    restore = commands.add_parser("restore", parents=[common],
                                  help="replace the town by the backup in FILE (servers stopped)")
    restore.add_argument("file", metavar="FILE", help="a file `toshi backup` wrote")
    restore.add_argument("--force", action="store_true", help="replace a database that already holds data")
    restore.set_defaults(run=_restore)
    migrate = commands.add_parser("migrate", parents=[common],
                                  help="copy the data directory's SQLite town to PostgreSQL (works while serving)")
    migrate.add_argument("--to", required=True, metavar="URL", help="postgresql://user@host/db to copy the town to")
    migrate.add_argument("--force", action="store_true", help="replace a PostgreSQL town that already holds data")
    migrate.set_defaults(run=_migrate)


def _add_db_commands(commands, common: argparse.ArgumentParser) -> None:
    db = commands.add_parser("db", help="the database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("status", parents=[common], help="schema version and pending migrations").set_defaults(
        run=_db_status)
    db.add_parser("upgrade", parents=[common], help="apply pending schema migrations (server stopped)").set_defaults(
        run=_db_upgrade)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toshi", description="Toshi City OS")
    parser.add_argument("--version", action="version", version=f"toshi {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the City OS (NGSI-LD broker) on one port")
    serve.add_argument("--config", help="TOML settings file (default: ./toshi.toml if present)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 1026)")
    serve.add_argument("--data-dir", help="where the embedded database lives (default ./toshi-data)")
    serve.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument("--auth", action="store_true", help="require authentication (needed off loopback)")
    serve.add_argument("--certfile", help="TLS certificate (PEM): serve HTTPS")
    serve.add_argument("--keyfile", help="the certificate's private key (PEM)")
    serve.add_argument("--database-url", help="postgresql://user@host/db to keep the data in PostgreSQL "
                                              "(default: SQLite in the data directory)")
    serve.add_argument("--workers", type=int, help="server processes (more than 1 needs PostgreSQL)")
    serve.set_defaults(run=_serve)
    auth_commands.add_commands(commands, _load_store)
    policy_commands.add_commands(commands, _load_store)
    audit_commands.add_commands(commands, _load_store)
    _add_backup_commands(commands, auth_commands.common_options())
    _add_db_commands(commands, auth_commands.common_options())
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, StoreUnavailable) as exc:
        print(f"toshi: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
