"""`toshi extract`: a research extract written as a CSV file and its signed manifest (JSON)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import orjson

from toshi.consent import ConsentService
from toshi.core.progress import Progress
from toshi.research.extract import check_spec
from toshi.research.service import Research


def add_commands(subparsers, cli) -> None:
    extract = subparsers.add_parser("extract", parents=[cli.common],
                                    help="a pseudonymised, k-anonymous extract for one recipient and purpose")
    extract.add_argument("--recipient", required=True, help="who receives it (their account or token subject)")
    extract.add_argument("--purpose", required=True, help="the purpose the residents consented to")
    extract.add_argument("--type", required=True, help="the entity type (declared personal data)")
    extract.add_argument("--k", type=int, required=True, help="every quasi-identifier combination: ≥ k residents")
    extract.add_argument("--quasi", action="append", required=True, metavar="ATTR=RULE",
                         help="a quasi-identifier and its generalisation: month, year, grid:<degrees>, "
                              "band:<width>, exact (repeatable)")
    extract.add_argument("--attribute", action="append", default=[], metavar="ATTR",
                         help="an attribute released as it is (repeatable)")
    extract.add_argument("--tenant", default="", help="the tenant (default: the default tenant)")
    extract.add_argument("--description", default="")
    extract.add_argument("--out", required=True, type=Path,
                         help="a folder: extract.csv and manifest.json are written there")
    extract.set_defaults(run=cli.with_store(lambda store, args: _extract(cli, store, args), audited=True))


def _extract(cli, store, args: argparse.Namespace) -> int:
    quasi = {}
    for entry in args.quasi:
        name, sep, rule = entry.partition("=")
        if not sep:
            print(f"toshi: --quasi {entry!r}: write ATTR=RULE, e.g. checkupDate=month", file=sys.stderr)
            return 2
        quasi[name] = rule
    settings = cli.settings(args)
    try:
        spec = check_spec({"recipient": args.recipient, "purpose": args.purpose, "type": args.type, "k": args.k,
                           "quasiIdentifiers": quasi, "attributes": args.attribute, "description": args.description})
        consent = ConsentService.for_settings(store, settings)
        with Progress(sys.stderr) as progress:  # a bar on a terminal, plain lines in a log
            made = asyncio.run(Research(store, settings.data_dir).extract(consent, args.tenant, spec, "cli",
                                                                          progress))
    except ValueError as exc:
        print(f"toshi: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "extract.csv").write_text(made.csv, encoding="utf-8")
    (args.out / "manifest.json").write_bytes(orjson.dumps({"manifest": made.manifest, "jws": made.jws},
                                                          option=orjson.OPT_INDENT_2))
    counts = made.manifest["counts"]
    print(f"{counts['released']} records of {counts['residents']} residents released to {args.recipient} "
          f"(k={args.k}); {counts['suppressed']} suppressed for k-anonymity, {counts['incomplete']} left out "
          f"(a column not released or not generalisable); {len(made.manifest['consents'])} consents",
          file=sys.stderr)
    return 0
