"""The `toshi` command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

from toshi import __version__
from toshi.audit import record_cli
from toshi.config import load_settings
from toshi.core.commandline import CommandLine
from toshi.core.errors import StoreUnavailable
from toshi.features import FEATURES


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


def _load_store(args: argparse.Namespace):
    """The store of a stopped server's data directory, for the management commands."""
    import asyncio

    from toshi.store.backends import store_for

    store = store_for(load_settings(args.config, {"data_dir": args.data_dir,
                                                  "database_url": getattr(args, "database_url", None)}))
    asyncio.run(store.open())
    return store


def _services(store, args: argparse.Namespace):
    """The Services an app would have over this store (for commands that write through the Writer)."""
    from toshi.app import create_app

    settings = load_settings(args.config, {"data_dir": args.data_dir, "database_url": getattr(args, "database_url", None)})
    return create_app(settings, store).state.toshi


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
    cli = CommandLine(_load_store, FEATURES, audit=record_cli, services=_services)
    for feature in FEATURES:
        feature.add_commands(commands, cli)
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
