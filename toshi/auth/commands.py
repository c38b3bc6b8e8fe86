"""`toshi key ...` (API keys of service accounts) and `toshi token create` (Toshi-signed JWTs)."""

from __future__ import annotations

import argparse
import sys
from functools import partial

from toshi.auth.apikeys import ApiKeys, api_keys_of
from toshi.auth.issuer import issue_token

ONCE = "Store this key now: it cannot be shown again."


def add_commands(subparsers, cli) -> None:
    common = cli.common
    keys = subparsers.add_parser("key", help="API keys of service accounts").add_subparsers(
        dest="key_command", required=True)

    create = keys.add_parser("create", parents=[common], help="create a service account and its first key")
    create.add_argument("--name", required=True, help="the service account's name")
    create.add_argument("--role", action="append", required=True, metavar="TENANT:ROLE",
                        help="e.g. default:consumer, osaka:provider, *:admin (repeatable)")
    create.add_argument("--group", action="append", default=[], help="a group of the account (repeatable)")
    create.add_argument("--expires", help="ISO 8601 time the key stops working (default: never)")
    create.set_defaults(run=cli.with_store(_key_create, audited=True))

    listing = keys.add_parser("list", parents=[common], help="list keys (never their secrets)")
    listing.set_defaults(run=cli.with_store(_key_list))

    rotate = keys.add_parser("rotate", parents=[common], help="replace a key by a new one")
    rotate.add_argument("key_id", metavar="KEYID")
    rotate.add_argument("--grace", type=float, default=0, metavar="SECONDS",
                        help="how long the old key keeps working (default 0: revoked at once)")
    rotate.set_defaults(run=cli.with_store(_key_rotate, audited=True))

    revoke = keys.add_parser("revoke", parents=[common], help="revoke a key at once")
    revoke.add_argument("key_id", metavar="KEYID")
    revoke.set_defaults(run=cli.with_store(_key_revoke, audited=True))

    tokens = subparsers.add_parser("token", help="tokens signed by Toshi's own key").add_subparsers(
        dest="token_command", required=True)
    token = tokens.add_parser("create", parents=[common], help="issue a signed JWT (printed on stdout)")
    token.add_argument("--sub", required=True, help="the subject (who the token is for)")
    token.add_argument("--role", action="append", default=[], metavar="TENANT:ROLE", help="(repeatable)")
    token.add_argument("--group", action="append", default=[], help="(repeatable)")
    token.add_argument("--ttl", type=int, default=3600, metavar="SECONDS", help="lifetime (default 3600)")
    token.add_argument("--audience", help="aud claim (default: the auth_audience setting, toshi)")
    token.add_argument("--issuer", help="iss claim (default: the auth_issuer setting, toshi)")
    token.set_defaults(run=partial(_token_create, cli))


def _key_create(store, args: argparse.Namespace) -> int:
    api_keys = api_keys_of(store)
    account = api_keys.create_account(args.name, args.role, args.group)
    record, plaintext = api_keys.create_key(account["id"], args.expires)
    print(plaintext)
    print(f"key {record['id']} of account {account['id']} ({account['name']}). {ONCE}", file=sys.stderr)
    return 0


def _key_list(store, args: argparse.Namespace) -> int:
    api_keys = api_keys_of(store)
    accounts = {account["id"]: account for account in api_keys.accounts()}
    records = api_keys.keys()
    print("KEY ID        ACCOUNT               STATUS                         ROLES")
    for record in records:
        account = accounts.get(record["account"])
        name = account["name"] if account else f"(deleted {record['account']})"
        roles = " ".join(f"{t}:{r}" for t, names in account["roles"].items() for r in names) if account else ""
        print(f"{record['id']:<13} {name:<21} {_status(record):<30} {roles}")
    return 0


def _status(record: dict) -> str:
    if record["revoked"]:
        return f"revoked {record['revoked']}"
    return f"expires {record['expires']}" if record["expires"] else f"active ...{record['last4']}"


def _key_rotate(store, args: argparse.Namespace) -> int:
    api_keys: ApiKeys = api_keys_of(store)
    record, plaintext = api_keys.rotate(args.key_id, args.grace)
    old = api_keys.key(args.key_id)
    print(plaintext)
    print(f"new key {record['id']}; old key {args.key_id} {_status(old)}. {ONCE}", file=sys.stderr)
    return 0


def _key_revoke(store, args: argparse.Namespace) -> int:
    api_keys_of(store).revoke(args.key_id)
    print(f"revoked key {args.key_id}")
    return 0


def _token_create(cli, args: argparse.Namespace) -> int:
    key = cli.signing_key(args)
    settings = cli.settings(args)
    print(issue_token(key, args.issuer or settings.auth_issuer, args.sub, args.role, args.group,
                      args.audience or settings.auth_audience, args.ttl))
    return 0
