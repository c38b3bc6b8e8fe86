"""The `toshi` command line."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path

from toshi import __version__
from toshi.audit import commands as audit_commands
from toshi.auth import commands as auth_commands
from toshi.auth import policy_commands
from toshi.auth.signing import key_file
from toshi.config import load_settings

DATA_FILES = (key_file("").as_posix(),)  # files of the data directory a backup holds beside the database


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from toshi.app import create_app
    from toshi.store.migrations import check_file

    settings = load_settings(args.config, {"host": args.host, "port": args.port, "data_dir": args.data_dir,
                                           "log_level": args.log_level, "certfile": args.certfile,
                                           "keyfile": args.keyfile, "auth": True if args.auth else None})
    check_file(settings.database_path)  # a schema behind or ahead: say so before anything starts
    app = create_app(settings)
    scheme = "https" if settings.certfile else "http"
    print(f"Toshi {__version__}: NGSI-LD at {scheme}://{settings.host}:{settings.port}/ngsi-ld/v1 "
          f"(data in {settings.data_dir}; authentication {'on' if settings.auth else 'off'})", file=sys.stderr)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level, access_log=False,
                ssl_certfile=settings.certfile or None, ssl_keyfile=settings.keyfile or None)
    return 0


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
    """The database file of a stopped server (its lock file is taken), without the start-up checks."""
    import sqlite3

    from toshi.store.sqlite import _lock_file

    path = load_settings(args.config, {"data_dir": args.data_dir}).database_path
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

    from toshi.store.sqlite import SqliteStore

    settings = load_settings(args.config, {"data_dir": args.data_dir})
    store = SqliteStore(settings.database_path)
    asyncio.run(store.open())
    return store


def _backup(args: argparse.Namespace) -> int:
    from toshi.store.backup import backup

    database = load_settings(args.config, {"data_dir": args.data_dir}).database_path
    counts = backup(database, Path(args.file), DATA_FILES)
    for table, rows in counts.items():
        print(f"  {table:<28} {rows:>10} rows", file=sys.stderr)
    print(f"backup of {database} written to {args.file}: {sum(counts.values())} rows in {len(counts)} tables "
          "(it holds secrets: keep it as safe as the data directory)", file=sys.stderr)
    return 0


def _restore(args: argparse.Namespace) -> int:
    from toshi.store.backup import restore

    database = load_settings(args.config, {"data_dir": args.data_dir}).database_path
    done = restore(Path(args.file), database, DATA_FILES, force=args.force)
    print(f"restored {args.file} (made {done.header['created']} by Toshi {done.header['toshi']}) into {database}")
    print(f"  {'table':<28} {'backup':>10} {'restored':>10}")
    for table, rows in done.sections.items():
        print(f"  {table:<28} {rows:>10} {done.restored[table]:>10}")
    print("every table holds the rows the backup announced")  # restore() refuses to swap in anything else
    indexes = ", ".join(f"{rows} {table}" for table, rows in done.indexes.items())
    print(f"entities: {done.restored.get('entities', 0)} (indexes rebuilt: {indexes})")
    for name in done.files:
        print(f"file: {name} (mode 0600)")
    return 0


def _add_backup_commands(commands, common: argparse.ArgumentParser) -> None:
    backup = commands.add_parser("backup", parents=[common],
                                 help="write a consistent snapshot of the town to FILE (works while serving)")
    backup.add_argument("file", metavar="FILE", help="the backup to write (gzip-compressed JSON lines)")
    backup.set_defaults(run=_backup)
    restore = commands.add_parser("restore", parents=[common],
                                  help="replace the data directory's town by the backup in FILE (server stopped)")
    restore.add_argument("file", metavar="FILE", help="a file `toshi backup` wrote")
    restore.add_argument("--force", action="store_true", help="replace a database that already holds data")
    restore.set_defaults(run=_restore)


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
    except ValueError as exc:
        print(f"toshi: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
