"""`toshi personal-data declare|list|remove`, `toshi consent grant` (many residents' consent to one
purpose and recipient, in one transaction) and `toshi consent verify-log` (a running server is also
managed through /consent/declarations and /consent/grants)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from toshi.consent.declarations import CATEGORIES
from toshi.consent.service import ConsentService


def add_commands(subparsers, cli) -> None:
    common = cli.common

    def service(store, args) -> ConsentService:  # a running server's own, when it runs this command
        return ConsentService.of_store(store) or ConsentService(store, cli.signing_key(args), cli.settings(args).auth)

    personal = subparsers.add_parser("personal-data", help="declare which data is personal (docs/residents.md)"
                                     ).add_subparsers(dest="personal_data_command", required=True)
    declare = personal.add_parser("declare", parents=[common], help="declare an entity type's personal data")
    declare.add_argument("type", help="entity type (a core @context term or a full IRI)")
    declare.add_argument("--subject", required=True,
                         help="the attribute naming the resident, or @id when the entity is the resident")
    declare.add_argument("--attr", action="append", required=True, metavar="NAME=CATEGORY",
                         help=f"a personal attribute and its category ({', '.join(CATEGORIES)}) (repeatable)")
    declare.add_argument("--entity-personal", action="store_true",
                         help="hide the whole entity from readers holding no consent of its subject")
    declare.add_argument("--tenant", default="", help="the tenant (default: the default tenant)")
    declare.add_argument("--id", help="the declaration's id (default: generated)")
    declare.add_argument("--description")
    declare.set_defaults(run=cli.with_store(lambda store, args: _declare(service(store, args), args), audited=True))

    listing = personal.add_parser("list", parents=[common], help="list a tenant's declarations (JSON lines)")
    listing.add_argument("--tenant", default="")
    listing.set_defaults(run=cli.with_store(lambda store, args: _list(service(store, args), args)))

    remove = personal.add_parser("remove", parents=[common], help="remove a declaration")
    remove.add_argument("declaration_id", metavar="ID")
    remove.add_argument("--tenant", default="")
    remove.set_defaults(run=cli.with_store(lambda store, args: _remove(service(store, args), args), audited=True))

    consent = subparsers.add_parser("consent", help="residents' consents").add_subparsers(
        dest="consent_command", required=True)
    grant = consent.add_parser("grant", parents=[common],
                               help="record the same consent for many residents (the town office), in one transaction")
    grant.add_argument("--recipient", required=True, help="the principal id of the service's account")
    grant.add_argument("--purpose", required=True)
    grant.add_argument("--category", action="append", default=[], choices=CATEGORIES,
                       help="a category of personal data the consent covers (repeatable)")
    grant.add_argument("--attribute", action="append", default=[], help="an attribute the consent covers (repeatable)")
    grant.add_argument("--valid-from")
    grant.add_argument("--valid-until")
    grant.add_argument("--resident", action="append", default=[], help="a resident id (repeatable)")
    grant.add_argument("--residents-file", help="a file of resident ids, one a line ('-': standard input)")
    grant.add_argument("--tenant", default="")
    grant.set_defaults(run=cli.with_store(lambda store, args: _grant(service(store, args), args), audited=True))

    verify = consent.add_parser("verify-log", parents=[common], help="check the access log's hash chain")
    verify.set_defaults(run=cli.with_store(lambda store, args: _verify(service(store, args))))


def _declare(service: ConsentService, args: argparse.Namespace) -> int:
    attributes = {}
    for entry in args.attr:
        name, _, category = entry.partition("=")
        attributes[name] = category
    doc = {"type": args.type, "subject": args.subject, "attributes": attributes,
           "entityPersonal": args.entity_personal}
    for key, value in (("id", args.id), ("description", args.description)):
        if value:
            doc[key] = value
    try:
        declared = service.declarations.put(args.tenant, doc)
    except ValueError as exc:
        raise LookupError(str(exc)) from None
    print(orjson.dumps(declared).decode())
    return 0


def _list(service: ConsentService, args: argparse.Namespace) -> int:
    for declared in service.declarations.list(args.tenant):
        print(orjson.dumps(declared).decode())
    return 0


def _remove(service: ConsentService, args: argparse.Namespace) -> int:
    if not service.declarations.remove(args.tenant, args.declaration_id):
        raise LookupError(f"no declaration {args.declaration_id}")
    print(f"removed declaration {args.declaration_id}")
    return 0


def _grant(service: ConsentService, args: argparse.Namespace) -> int:
    residents = list(args.resident)
    if args.residents_file:
        try:
            text = sys.stdin.read() if args.residents_file == "-" else Path(args.residents_file).read_text("utf-8")
        except OSError as exc:
            raise LookupError(f"cannot read {args.residents_file}: {exc.strerror}") from None
        residents += [line.strip() for line in text.splitlines() if line.strip()]
    body = {"recipient": args.recipient, "purpose": args.purpose, "categories": args.category,
            "attributes": args.attribute, "validFrom": args.valid_from, "validUntil": args.valid_until}
    try:
        records = service.records.grant_many(args.tenant, residents, body, "cli", "town office")
    except ValueError as exc:
        raise LookupError(str(exc)) from None
    service.audit.append([{"principal": "cli", "tenant": args.tenant, "operation": "consent grant",
                           "target": r["id"], "request_id": None, "outcome": "ok",
                           "detail": {"subject": r["subject"], "bulk": True}} for r in records])
    for record in records:
        print(orjson.dumps({"subject": record["subject"], "id": record["id"]}).decode())
    print(f"granted {len(records)} consent(s) to {args.recipient} for {args.purpose}", file=sys.stderr)
    return 0


def _verify(service: ConsentService) -> int:
    broken = service.log.verify()
    if broken:
        print(f"access log chain broken at step {', '.join(map(str, broken[:20]))}")
        return 1
    print("access log chain intact")
    return 0
