"""`toshi audit verify | list | checkpoint | prune`."""

from __future__ import annotations

import argparse
import getpass
import sys
from functools import partial

import orjson

from toshi.audit.log import audit_log_of


def add_commands(subparsers, cli) -> None:
    common = cli.common
    audit = subparsers.add_parser("audit", help="the tamper-evident audit trail").add_subparsers(
        dest="audit_command", required=True)

    verify = audit.add_parser("verify", parents=[common],
                              help="check the hash chain and the signed checkpoints (exit 1 on any problem)")
    verify.set_defaults(run=cli.with_store(partial(_verify, cli)))

    listing = audit.add_parser("list", parents=[common], help="print records as JSON lines, oldest first")
    for name in ("tenant", "principal", "operation", "outcome"):
        listing.add_argument(f"--{name}")
    listing.add_argument("--since", help="ISO 8601 time (inclusive)")
    listing.add_argument("--until", help="ISO 8601 time (exclusive)")
    listing.add_argument("--after", type=int, default=0, metavar="SEQ", help="only records after this seq")
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(run=cli.with_store(_list))

    checkpoint = audit.add_parser("checkpoint", parents=[common], help="sign the chain's current end")
    checkpoint.set_defaults(run=cli.with_store(partial(_checkpoint, cli), audited=True))

    prune = audit.add_parser("prune", parents=[common],
                             help="delete records older than a time, up to the newest checkpoint")
    prune.add_argument("--before", required=True, help="ISO 8601 time")
    prune.set_defaults(run=cli.with_store(partial(_prune, cli), audited=True))


def _verify(cli, store, args: argparse.Namespace) -> int:
    key = cli.signing_key(args, create=False)
    report = audit_log_of(store).verify(key)
    for problem in report.problems:
        print(f"seq {problem.seq}: {problem.kind}: {problem.detail}")
    if key is None:
        print("no signing key: checkpoint signatures not checked", file=sys.stderr)
    if report.ok:
        print(f"ok: {report.checked} records verified")
    return 0 if report.ok else 1


def _list(store, args: argparse.Namespace) -> int:
    records = audit_log_of(store).records(
        args.after, args.limit, tenant=args.tenant, principal=args.principal, operation=args.operation,
        outcome=args.outcome, since=args.since, until=args.until)
    for record in records:
        print(orjson.dumps(record).decode())
    return 0


def _checkpoint(cli, store, args: argparse.Namespace) -> int:
    checkpoint = audit_log_of(store).checkpoint(cli.signing_key(args))
    print(f"checkpoint at seq {checkpoint['seq']} (hash {checkpoint['hash']}) signed by {checkpoint['kid']}")
    return 0


def _prune(cli, store, args: argparse.Namespace) -> int:
    deleted = audit_log_of(store).prune(args.before, cli.signing_key(args))
    print(f"pruned {deleted} records")
    return 0


def record_cli(store, args: argparse.Namespace) -> None:
    """Who ran which management command (never its secrets: the command's name and target only)."""
    words = [args.command] + [str(v) for k, v in vars(args).items() if k.endswith("_command") and v]
    target = next((str(getattr(args, k)) for k in ("key_id", "rule_id", "name", "sub") if getattr(args, k, None)),
                  "")
    audit_log_of(store).append([{"principal": f"cli:{getpass.getuser()}", "tenant": "",
                                 "operation": "cli " + " ".join(words), "target": target, "outcome": "ok"}])
