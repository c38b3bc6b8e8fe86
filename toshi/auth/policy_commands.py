"""`toshi policy ...` (access rules) and `toshi tenant ...`, on the data directory of a stopped
server (a running one is managed through /admin/auth/policies and /admin/tenants)."""

from __future__ import annotations

import argparse
import asyncio

import orjson

from toshi.auth.policy import ACTIONS, policy_engine_of


def add_commands(subparsers, cli) -> None:
    common = cli.common
    policies = subparsers.add_parser("policy", help="access rules (see docs/security.md)").add_subparsers(
        dest="policy_command", required=True)

    add = policies.add_parser("add", parents=[common], help="add an allow or deny rule")
    add.add_argument("effect", choices=["allow", "deny"])
    add.add_argument("--principal", action="append", required=True,
                     help="*, anonymous, authenticated, id:<account>, group:<g>, role:<r> (repeatable)")
    add.add_argument("--action", action="append", required=True, choices=[*ACTIONS, "*"], help="(repeatable)")
    add.add_argument("--tenant", default="*", help="a tenant, 'default', or * (default: every tenant)")
    add.add_argument("--type", action="append", dest="types", help="entity type (repeatable; default: any)")
    add.add_argument("--id-pattern", help="regular expression entity ids must match")
    add.add_argument("--scope", action="append", dest="scopes",
                     help="scope / service path: /a, /a/# (and below), / (root) (repeatable; default: any)")
    add.add_argument("--attr", action="append", dest="attrs", help="attribute (repeatable; default: all)")
    add.add_argument("--id", help="the rule's id (default: generated)")
    add.set_defaults(run=cli.with_store(_add, audited=True))

    open_data = policies.add_parser("open-data", parents=[common],
                                    help="make entity types readable by anyone, without credentials")
    open_data.add_argument("--tenant", required=True, help="the tenant ('default' for the default tenant)")
    open_data.add_argument("--type", action="append", dest="types", required=True, help="(repeatable)")
    open_data.set_defaults(run=cli.with_store(_open_data, audited=True))

    listing = policies.add_parser("list", parents=[common], help="list the rules (JSON lines)")
    listing.set_defaults(run=cli.with_store(_list))

    delete = policies.add_parser("delete", parents=[common], help="delete a rule")
    delete.add_argument("rule_id", metavar="ID")
    delete.set_defaults(run=cli.with_store(_delete, audited=True))

    tenants = subparsers.add_parser("tenant", help="tenants (NGSILD-Tenant / Fiware-Service)").add_subparsers(
        dest="tenant_command", required=True)
    tenants.add_parser("list", parents=[common], help="list tenants").set_defaults(
        run=cli.with_store(_tenant_list))
    create = tenants.add_parser("create", parents=[common], help="create a tenant before its first entity")
    create.add_argument("name")
    create.set_defaults(run=cli.with_store(_tenant_create, audited=True))


def _add(store, args: argparse.Namespace) -> int:
    rule = {"effect": args.effect, "principals": args.principal, "actions": args.action, "tenant": args.tenant}
    for key, value in (("types", args.types), ("attrs", args.attrs), ("idPattern", args.id_pattern),
                       ("scopes", args.scopes), ("id", args.id)):
        if value:
            rule[key] = value
    print(orjson.dumps(policy_engine_of(store).put(rule)).decode())
    return 0


def _open_data(store, args: argparse.Namespace) -> int:
    rule = {"effect": "allow", "principals": ["*"], "actions": ["read"], "tenant": args.tenant, "types": args.types,
            "description": "open data"}
    print(orjson.dumps(policy_engine_of(store).put(rule)).decode())
    return 0


def _list(store, args: argparse.Namespace) -> int:
    for rule in policy_engine_of(store).rules():
        print(orjson.dumps(rule).decode())
    return 0


def _delete(store, args: argparse.Namespace) -> int:
    if not policy_engine_of(store).delete(args.rule_id):
        raise LookupError(f"no policy {args.rule_id}")
    print(f"deleted policy {args.rule_id}")
    return 0


def _tenant_list(store, args: argparse.Namespace) -> int:
    for tenant in asyncio.run(store.tenants()):
        print(tenant or "(default)")
    return 0


def _tenant_create(store, args: argparse.Namespace) -> int:
    store.ensure_tenant(args.name)
    print(f"tenant {args.name}")
    return 0
