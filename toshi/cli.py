"""The `toshi` command line."""

from __future__ import annotations

import argparse
import sys
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

    settings = load_settings(args.config, {"host": args.host, "port": args.port, "data_dir": args.data_dir,
                                           "log_level": args.log_level, "certfile": args.certfile,
                                           "keyfile": args.keyfile, "auth": True if args.auth else None})
    app = create_app(settings)
    scheme = "https" if settings.certfile else "http"
    print(f"Toshi {__version__}: NGSI-LD at {scheme}://{settings.host}:{settings.port}/ngsi-ld/v1 "
          f"(data in {settings.data_dir}; authentication {'on' if settings.auth else 'off'})", file=sys.stderr)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level, access_log=False,
                ssl_certfile=settings.certfile or None, ssl_keyfile=settings.keyfile or None)
    return 0


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
