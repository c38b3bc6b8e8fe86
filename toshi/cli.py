"""The `toshi` command line."""

from __future__ import annotations

import argparse
import sys

from toshi import __version__
from toshi.config import load_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from toshi.app import create_app

    settings = load_settings(args.config, {"host": args.host, "port": args.port, "data_dir": args.data_dir,
                                           "log_level": args.log_level})
    print(f"Toshi {__version__}: NGSI-LD at http://{settings.host}:{settings.port}/ngsi-ld/v1 "
          f"(data in {settings.data_dir})", file=sys.stderr)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level=settings.log_level, access_log=False)
    return 0


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
    serve.set_defaults(run=_serve)
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
