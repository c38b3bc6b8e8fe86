"""`toshi status` and `toshi service install`."""

from __future__ import annotations

import argparse
import json
from functools import partial

from toshi import __version__
from toshi.ops import service
from toshi.ops.files import read_server
from toshi.ops.remote import ask, server_holds
from toshi.ops.status import render, town_figures, uptime


def add_commands(subparsers, cli) -> None:
    status = subparsers.add_parser("status", parents=[cli.common],
                                   help="is a server running on the data, and the town's figures")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(run=partial(_status, cli))

    services = subparsers.add_parser("service", help="run Toshi as a system service").add_subparsers(
        dest="service_command", required=True)
    install = services.add_parser("install", help="write a systemd unit for `toshi serve`")
    service.add_options(install)
    install.set_defaults(run=service.install)


def _status(cli, args: argparse.Namespace) -> int:
    settings = cli.settings(args)
    data_dir = settings.data_dir
    answer = ask(data_dir, "GET", "/ops/status", timeout=10) if read_server(data_dir) else None
    if answer is not None:
        info = read_server(data_dir) or {}
        status = {"server": f"running (process {answer['pid']}, {info.get('url', '?')})",
                  "version": answer["version"], "uptime": uptime(answer["uptime"]),
                  **{k: v for k, v in answer.items() if k not in ("pid", "version", "uptime", "started")}}
    elif not settings.database_url and server_holds(data_dir):
        raise RuntimeError(f"a Toshi process holds {data_dir} but does not answer: it may be restoring or "
                           "starting; try again in a moment")
    else:
        store = cli.load_store(args)
        try:
            status = {"server": "not running", "version": __version__, **town_figures(store, data_dir)}
        finally:
            _close(store)
    if args.json:
        print(json.dumps(status, ensure_ascii=False))
    else:
        print(render(status))
    return 0


def _close(store) -> None:
    import asyncio
    import inspect

    closing = store.close()
    if inspect.isawaitable(closing):
        asyncio.run(closing)
