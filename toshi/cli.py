"""The `toshi` command line."""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
import sys
import time
from typing import TYPE_CHECKING

from toshi import __version__
from toshi.config import load_settings
from toshi.core.errors import StoreUnavailable

if TYPE_CHECKING:
    from toshi.core.commandline import CommandLine

# Every command and its help, so that `toshi --help` lists them without importing every feature (a
# second or more of start-up); tests/architecture/test_light_import.py checks it against the features.
COMMANDS = {
    "serve": "start the City OS (NGSI-LD broker) on one port",
    "status": "is a server running on the data, and the town's figures",
    "service": "run Toshi as a system service",
    "personal-data": "declare which data is personal (docs/residents.md)",
    "consent": "residents' consents",
    "key": "API keys of service accounts",
    "token": "tokens signed by Toshi's own key",
    "policy": "access rules (see docs/security.md)",
    "tenant": "tenants (NGSILD-Tenant / Fiware-Service)",
    "resident": "resident accounts (one ID for every service)",
    "client": "apps residents sign in to (OpenID Connect clients)",
    "audit": "the tamper-evident audit trail",
    "db": "the database schema",
    "backup": "write a consistent snapshot of the town to FILE (works while serving)",
    "restore": "replace the town by the backup in FILE (servers stopped)",
    "migrate": "copy the data directory's SQLite town to PostgreSQL (works while serving)",
    "dataset": "open-data catalogue datasets (toshi/catalogue)",
    "import": "import a CSV (a standard dataset, or the dataset's mapping)",
    "harvest": "pull a dataset another CKAN catalogue publishes into this town's entities",
    "extract": "a pseudonymised, k-anonymous extract for one recipient and purpose",
    "demo": "run Toshi with the demo town, its services and the simulator",
    "town": "the demo town",
}
LISTING = ([], ["-h"], ["--help"], ["--version"])  # command lines the listing parser answers alone


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from toshi.app import SETTINGS_VARIABLE, create_app
    from toshi.ops import preflight
    from toshi.ops.feature import ANNOUNCED, server_info
    from toshi.ops.files import announce, withdraw
    from toshi.ops.logs import logging_config, tune
    from toshi.store.backends import describe

    settings = load_settings(args.config, {"host": args.host, "port": args.port, "data_dir": args.data_dir,
                                           "log_level": args.log_level, "log_format": args.log_format,
                                           "certfile": args.certfile, "keyfile": args.keyfile,
                                           "auth": True if args.auth else None,
                                           "database_url": args.database_url, "workers": args.workers})
    sock = preflight(settings)  # the data directory, its lock and the port: said before anything starts
    try:
        _check_database(settings)  # unreachable, or a schema behind or ahead
    except BaseException:
        sock.close()
        raise
    scheme = "https" if settings.certfile else "http"
    banner = (f"Toshi {__version__}: NGSI-LD at {scheme}://{settings.host}:{settings.port}/ngsi-ld/v1 "
              f"(data in {describe(settings)}; {settings.workers} worker(s); authentication "
              f"{'on' if settings.auth else 'off'})")
    tune()
    options = dict(log_config=logging_config(settings.log_level, settings.log_format), log_level=settings.log_level,
                   access_log=False, ssl_certfile=settings.certfile or None, ssl_keyfile=settings.keyfile or None)
    if settings.workers > 1:  # each worker process builds its app from the settings passed down
        sock.close()  # the supervisor binds the port again (free a moment ago)
        os.environ[SETTINGS_VARIABLE] = json.dumps(dataclasses.asdict(settings))
        os.environ[ANNOUNCED] = "1"  # the workers read the admin token this process writes
        announce(settings.data_dir, server_info(settings, time.time()))
        print(banner, file=sys.stderr)
        try:
            uvicorn.run("toshi.app:worker_app", factory=True, workers=settings.workers, host=settings.host,
                        port=settings.port, **options)
        finally:
            withdraw(settings.data_dir, os.getpid())
        return 0
    try:
        app = create_app(settings)  # a refusal here is the only line printed
    except BaseException:
        sock.close()
        raise
    print(banner, file=sys.stderr)
    if not settings.database_url:  # one process owns SQLite: management commands run in it while it serves
        store = app.state.toshi.store
        app.state.ops.take_commands(lambda: build_parser(command_line(lambda args: store, keep_open=True)))
    server = uvicorn.Server(uvicorn.Config(app, **options))
    server.run(sockets=[sock])
    return 0 if server.started else 1


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


def _remote(args: argparse.Namespace) -> int | None:
    """The exit code of this command run by the server that holds the data, None when none does."""
    from toshi.ops import run_on_server

    if not hasattr(args, "argv"):
        return None
    settings = load_settings(args.config, {"data_dir": args.data_dir, "database_url": getattr(args, "database_url", None)})
    return run_on_server(args, settings.data_dir, settings.database_url)


def command_line(load_store=None, keep_open: bool = False) -> CommandLine:
    """What the features' commands get: a stopped server's store (`_load_store`), or, inside a running
    server, its own store (kept open); management commands go to a running server first."""
    from toshi.audit import record_cli
    from toshi.core.commandline import CommandLine
    from toshi.features import FEATURES

    return CommandLine(load_store or _load_store, FEATURES, audit=record_cli, services=_services,
                       remote=None if keep_open else _remote, keep_open=keep_open)


def _top_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(prog="toshi", description="Toshi City OS")
    parser.add_argument("--version", action="version", version=f"toshi {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure (anywhere on the line)")
    return parser, parser.add_subparsers(dest="command", required=True)


def listing_parser() -> argparse.ArgumentParser:
    """`toshi` with only its commands' names and help (COMMANDS), no feature imported."""
    parser, commands = _top_parser()
    for name, text in COMMANDS.items():
        commands.add_parser(name, help=text)
    return parser


def build_parser(cli: CommandLine | None = None) -> argparse.ArgumentParser:
    from toshi.features import FEATURES

    parser, commands = _top_parser()
    serve = commands.add_parser("serve", help=COMMANDS["serve"])
    serve.add_argument("--config", help="TOML settings file (default: ./toshi.toml if present)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 1026)")
    serve.add_argument("--data-dir", help="where the embedded database lives (default ./toshi-data)")
    serve.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"],
                       help="default info: one access-log line per request")
    serve.add_argument("--log-format", choices=["text", "json"], help="text (default), or JSON lines for collectors")
    serve.add_argument("--auth", action="store_true", help="require authentication (needed off loopback)")
    serve.add_argument("--certfile", help="TLS certificate (PEM): serve HTTPS")
    serve.add_argument("--keyfile", help="the certificate's private key (PEM)")
    serve.add_argument("--database-url", help="postgresql://user@host/db to keep the data in PostgreSQL "
                                              "(default: SQLite in the data directory)")
    serve.add_argument("--workers", type=int, help="server processes (more than 1 needs PostgreSQL)")
    serve.set_defaults(run=_serve)
    cli = cli or command_line()
    for feature in FEATURES:
        feature.add_commands(commands, cli)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("TOSHI_DEBUG", "").lower() in ("1", "true", "yes")
    argv = [arg for arg in argv if arg != "--debug"]
    parser = listing_parser() if argv in LISTING else build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the (sub)command that was meant, with its usage
        _chosen(parser, args).error(_unrecognised(_chosen(parser, args), unknown))
    args.argv = argv
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("toshi: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        from toshi.ops import explain

        print(f"toshi: {explain(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError | StoreUnavailable) else 1


def _chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost subcommand's parser the arguments chose (`toshi key create`'s)."""
    while True:
        choices = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        chosen = getattr(args, choices.dest, None) if choices is not None else None
        if chosen not in (choices.choices if choices is not None else {}):
            return parser
        parser = choices.choices[chosen]


def _unrecognised(parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    known = [option for action in parser._actions for option in action.option_strings]
    hints = [f"{arg} (did you mean {close[0]}?)" if (close := difflib.get_close_matches(arg.split("=")[0], known, 1))
             else arg for arg in unknown]
    return f"unrecognized arguments: {' '.join(hints)} (see {parser.prog} --help)"


if __name__ == "__main__":
    sys.exit(main())
