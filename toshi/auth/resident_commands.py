"""`toshi resident create|list|set|link|unlink` (resident accounts, their linked external identities) and `toshi client register|list` (the apps that
sign residents in through Toshi's OpenID Connect provider)."""

from __future__ import annotations

import argparse
import getpass
import sys

import orjson

from toshi.auth.oidc_provider import Clients
from toshi.auth.residents import ASSURANCE_LEVELS, LinkTaken, Residents


def add_commands(subparsers, cli) -> None:
    common = cli.common
    residents = subparsers.add_parser("resident", help="resident accounts (one ID for every service)") \
        .add_subparsers(dest="resident_command", required=True)
    create = residents.add_parser("create", parents=[common], help="create a resident account")
    create.add_argument("--id", required=True, help="the resident id (the sub of their tokens)")
    create.add_argument("--name", required=True)
    create.add_argument("--assurance", required=True, choices=ASSURANCE_LEVELS,
                        help="how the resident was identified (lowest first: " + ", ".join(ASSURANCE_LEVELS) + ")")
    create.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of stdin (default: a prompt)")
    create.set_defaults(run=_with_password(cli, _create))

    listing = residents.add_parser("list", parents=[common], help="list resident accounts")
    listing.set_defaults(run=cli.with_store(_list))

    change = residents.add_parser("set", parents=[common], help="change a resident's assurance level")
    change.add_argument("--id", required=True)
    change.add_argument("--assurance", required=True, choices=ASSURANCE_LEVELS)
    change.set_defaults(run=cli.with_store(_set, audited=True))

    def link(store, args):
        return _link(store, args, cli.settings(args).auth_issuer)

    for name, run, summary in (("link", link, "link an identity of the trusted external identity provider"),
                               ("unlink", _unlink, "remove a linked external identity")):
        command = residents.add_parser(name, parents=[common], help=summary)
        command.add_argument("--id", required=True, help="the resident id")
        command.add_argument("--issuer", required=True, help="the external provider's issuer (its tokens' iss)")
        command.add_argument("--subject", required=True, help="the resident's sub at that provider")
        command.set_defaults(run=cli.with_store(run, audited=True))

    clients = subparsers.add_parser("client", help="apps residents sign in to (OpenID Connect clients)") \
        .add_subparsers(dest="client_command", required=True)
    register = clients.add_parser("register", parents=[common], help="register a client; prints its client_id")
    register.add_argument("--name", required=True, help="what residents see on the sign-in page")
    register.add_argument("--redirect-uri", action="append", required=True,
                          help="an exact redirect URI of the client (repeatable)")
    register.set_defaults(run=cli.with_store(_register, audited=True))
    client_list = clients.add_parser("list", parents=[common], help="list registered clients")
    client_list.set_defaults(run=cli.with_store(_clients))


def _with_password(cli, run):
    """Read the password here, in the terminal the official types in, before the store is opened. The
    command then runs in this process: with a server running, use POST /admin/auth/residents instead."""
    audited = cli.with_store(run, audited=True)

    def command(args: argparse.Namespace) -> int:
        if args.password_stdin:
            args.password = sys.stdin.readline().rstrip("\r\n")
        else:
            args.password = getpass.getpass("password: ")
            if getpass.getpass("again: ") != args.password:
                print("toshi: the passwords differ", file=sys.stderr)
                return 2
        vars(args).pop("argv", None)  # a password is never sent on to a running server's command runner
        return audited(args)
    return command


def _create(store, args: argparse.Namespace) -> int:
    try:
        resident = Residents(store).create(args.id, args.name, args.assurance, args.password)
    except ValueError as exc:
        print(f"toshi: {exc}", file=sys.stderr)
        return 2
    print(orjson.dumps(resident).decode())
    return 0


def _list(store, args: argparse.Namespace) -> int:
    for resident in Residents(store).all():
        links = "; ".join(f"{link['issuer']} {link['subject']}" for link in resident["links"])
        print(f"{resident['id']}\t{resident['assurance']}\t{resident['name']}" + (f"\t{links}" if links else ""))
    return 0


def _link(store, args: argparse.Namespace, own_issuer: str) -> int:
    try:
        print(orjson.dumps(Residents(store).link(args.id, args.issuer, args.subject, own_issuer)).decode())
    except (ValueError, LinkTaken) as exc:
        print(f"toshi: {exc}", file=sys.stderr)
        return 2
    return 0


def _unlink(store, args: argparse.Namespace) -> int:
    print(orjson.dumps(Residents(store).unlink(args.id, args.issuer, args.subject)).decode())
    return 0


def _set(store, args: argparse.Namespace) -> int:
    try:
        print(orjson.dumps(Residents(store).set_assurance(args.id, args.assurance)).decode())
    except KeyError as exc:
        print(f"toshi: {exc.args[0]}", file=sys.stderr)
        return 1
    return 0


def _register(store, args: argparse.Namespace) -> int:
    try:
        client = Clients(store).register(args.name, args.redirect_uri)
    except ValueError as exc:
        print(f"toshi: {exc}", file=sys.stderr)
        return 2
    print(client["client_id"])
    print(f"client {client['name']}: redirect URIs {' '.join(client['redirect_uris'])}", file=sys.stderr)
    return 0


def _clients(store, args: argparse.Namespace) -> int:
    for client in Clients(store).all():
        print(f"{client['client_id']}\t{client['name']}\t{' '.join(client['redirect_uris'])}")
    return 0
