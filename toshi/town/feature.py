"""The demo town declared as a feature: it adds `toshi demo` (and `toshi town generate`). It has no
routes, tables or listeners: its programs are clients of the running server's public APIs."""

from __future__ import annotations

import argparse
import sys

import orjson

from toshi.core.feature import Feature


class Town(Feature):
    name = "town"

    @classmethod
    def add_commands(cls, commands, cli) -> None:
        demo = commands.add_parser("demo", help="run Toshi with the demo town, its services and the simulator")
        demo.add_argument("--data-dir", help="the demo's data directory (default ./toshi-demo)")
        demo.add_argument("--port", type=int, default=1026, help="port (default 1026)")
        demo.add_argument("--residents", type=_positive, default=None,
                          help="residents of a new town (default 19000)")
        demo.add_argument("--seed", type=int, default=1, help="the town's seed (default 1)")
        demo.add_argument("--speed", type=_speed, default=60.0,
                          help="simulated seconds per real second (default 60: a day in 24 minutes)")
        demo.add_argument("--reset", action="store_true", help="throw the demo's data away and start over")
        demo.set_defaults(run=_demo)
        town = commands.add_parser("town", help="the demo town").add_subparsers(dest="town_command", required=True)
        gen = town.add_parser("generate", help="print the generated town as NGSI-LD entities (JSON lines)")
        gen.add_argument("--residents", type=_positive, default=19_000)
        gen.add_argument("--seed", type=int, default=1)
        gen.set_defaults(run=_generate)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _speed(text: str) -> float:
    value = float(text)
    if not 0 < value <= 100_000:
        raise argparse.ArgumentTypeError("must be between 0 and 100000")
    return value


def _demo(args: argparse.Namespace) -> int:
    from toshi.town import demo

    args.residents_given = args.residents is not None
    args.residents = args.residents or 19_000
    return demo.run(args)


def _generate(args: argparse.Namespace) -> int:
    from toshi.town.generate import generate

    out = sys.stdout.buffer
    for entity in generate(args.seed, args.residents).entities():
        out.write(orjson.dumps(entity) + b"\n")
    return 0
