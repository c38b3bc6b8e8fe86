"""The surface every feature declares once.

A feature is a folder with one `Feature` subclass (in its `feature.py`) and one line in
`toshi/features.py`. The app, the command line, backup/restore/migrate and the request gate loop over
that list; nothing else knows a feature by name.

What a feature declares without a server (class attributes: the command line and backups read them):
  name, tables (what the store must hold for it, and whether a backup keeps it), data_files (files of
  the data directory a backup keeps), actions (which requests need which access right), add_commands
  (its `toshi` subcommands).
What it gives a running server (one instance per app, made with the app's Services):
  routes, openapi (its part of the API description; by default its routes), listeners (write
  listeners: called inside every write transaction), read_filters (layers of the one read path), subscription_kinds (for the notifier), middleware, start/stop, background tasks.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Table:
    """A table a feature keeps in the store's database.

    `ddl` is the feature's SQLite-flavoured CREATE statements (PostgreSQL gets them translated);
    `{num_type}` in it stands for the dialect's exact numeric type. A derived table (an index that
    can be rebuilt from primary rows) is left out of backups."""

    name: str
    ddl: str
    derived: bool = False


@dataclass(frozen=True)
class Action:
    """Requests under `path` (a prefix, or the exact path when `exact`) ask for `action`: a right the
    policy engine grants (read, create, update, delete, subscribe, admin), or None for public.
    `methods` limits the rule to those HTTP methods. Requests no rule matches ask for what their
    method says (GET/HEAD/OPTIONS read, DELETE delete, anything else update)."""

    path: str
    action: str | None
    methods: frozenset[str] | None = None
    exact: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        return path == self.path if self.exact else path == self.path or path.startswith(self.path)


class Feature:
    """One feature of Toshi. Subclass it; override what the feature has."""

    name: ClassVar[str] = ""
    tables: ClassVar[Sequence[Table]] = ()
    data_files: ClassVar[Sequence[str]] = ()
    actions: ClassVar[Sequence[Action]] = ()

    @classmethod
    def add_commands(cls, commands, cli) -> None:
        """Add the feature's `toshi` subcommands to `commands` (argparse subparsers). `cli` gives the
        shared options and how to open a stopped server's store (toshi/cli.py's CommandLine)."""

    def __init__(self, services):
        self.services = services

    def routes(self) -> list:
        return []

    def openapi(self) -> dict:
        """The feature's OpenAPI paths ({path: {method: operation}}); by default its routes."""
        from toshi.core.openapi import paths_of

        return paths_of(self.routes())

    def listeners(self) -> list[Callable]:
        """Write listeners: `listener(tx, changes)` inside every write transaction (core/write.py Change)."""
        return []

    def read_filters(self) -> list:
        """Layers of the one read path (toshi/core/access.py ReadFilter)."""
        return []

    def subscription_kinds(self) -> list:
        """Kinds of subscription the notifier serves for this feature (toshi/notify)."""
        return []

    def middleware(self) -> list[tuple[type, dict]]:
        """ASGI middleware (class, keyword arguments) wrapped around every request."""
        return []

    def background(self) -> list[Callable[[], Awaitable[Any]]]:
        """Coroutines to run as tasks while the server runs (cancelled at shutdown)."""
        return []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def action_of(rules: Sequence[Action], method: str, path: str) -> str | None | Ellipsis:
    """The action of the most specific rule (longest path) that matches; `...` when none does."""
    best = None
    for rule in rules:
        if rule.matches(method, path) and (best is None or len(rule.path) > len(best.path)
                                           or (rule.exact and not best.exact)):
            best = rule
    return ... if best is None else best.action


_CREATES = re.compile(r"CREATE\s+(?:VIRTUAL\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?\"?(\w+)"
                      r"|CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?\w+\s+ON\s+\"?(\w+)", re.I)


def tables_of(script: str | Sequence[str], derived: Sequence[str] = ()) -> tuple[Table, ...]:
    """The tables a DDL script (or list of statements) creates, each with its own statements
    (CREATE TABLE and its indexes); those named in `derived` are marked derived."""
    text = script if isinstance(script, str) else ";".join(script)
    statements: dict[str, list[str]] = {}
    for statement in re.sub(r"--[^\n]*", "", text).split(";"):
        statement = " ".join(statement.split())
        found = _CREATES.match(statement)
        if found:
            statements.setdefault(found.group(1) or found.group(2), []).append(statement)
    return tuple(Table(name, ";\n".join(ddl), derived=name in derived) for name, ddl in statements.items())
