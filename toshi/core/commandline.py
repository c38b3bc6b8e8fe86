"""What a feature's `toshi` subcommands get from the command line (toshi/cli.py makes one).

`Feature.add_commands(subparsers, cli)` receives it: the shared options, how to open a stopped
server's store around a command, the town's signing key, the settings, and the declarations of every
feature (for operations that span them, such as backups)."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from toshi.config import Settings, load_settings
from toshi.core.signing import SigningKey, key_file

Run = Callable[[object, argparse.Namespace], int]  # (store, args) -> exit code


class CommandLine:
    def __init__(self, load_store: Callable, features: Sequence[type], audit: Callable | None = None,
                 services: Callable | None = None, remote: Callable | None = None, keep_open: bool = False):
        self.load_store = load_store  # args -> an opened store of the data the args name
        self.features = list(features)
        self.audit = audit            # (store, args) -> None: records a management command that changed something
        self.common = common_options()
        # (store, args) -> the app's Services over that store (features made, not started): the Writer
        # with every feature's listeners, for commands that write entities through the one write path
        self.services = services
        self.remote = remote          # args -> exit code of the command run by a server holding the data, or None
        self.keep_open = keep_open    # the store is a running server's: commands leave it open

    def settings(self, args: argparse.Namespace, **overrides) -> Settings:
        given = {"data_dir": getattr(args, "data_dir", None), "database_url": getattr(args, "database_url", None)}
        return load_settings(getattr(args, "config", None), {**given, **overrides})

    def data_dir(self, args: argparse.Namespace) -> Path:
        return Path(self.settings(args).data_dir)

    def signing_key(self, args: argparse.Namespace, *, create: bool = True) -> SigningKey | None:
        path = key_file(self.data_dir(args))
        if create:
            return SigningKey.load_or_create(path)
        return SigningKey.load(path) if path.exists() else None

    def with_store(self, run: Run, *, audited: bool = False) -> Callable[[argparse.Namespace], int]:
        """A command that opens the store, runs `run(store, args)` and closes the store again; an
        `audited` one (it changes something) leaves a record in the audit trail when it succeeds."""
        def command(args: argparse.Namespace) -> int:
            answered = self.remote(args) if self.remote is not None else None
            if answered is not None:
                return answered
            store = self.load_store(args)
            try:
                code = run(store, args)
                if audited and code == 0 and self.audit is not None:
                    self.audit(store, args)
                return code
            except LookupError as exc:
                print(f"toshi: {exc.args[0] if exc.args else exc}", file=sys.stderr)
                return 1
            finally:
                closing = None if self.keep_open else store.close()
                if inspect.isawaitable(closing):
                    asyncio.run(closing)
        return command

    def tables(self) -> list:
        """Every table a feature declares (toshi/core/feature.py Table)."""
        return [table for feature in self.features for table in feature.tables]

    def data_files(self) -> list[str]:
        """Files of the data directory the features keep (a backup holds them beside the database)."""
        return [name for feature in self.features for name in feature.data_files]


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="TOML settings file (default: ./toshi.toml if present)")
    common.add_argument("--data-dir", help="where the embedded database lives (default ./toshi-data)")
    common.add_argument("--database-url", help="the PostgreSQL database, when the town lives there "
                                               "(default: TOSHI_DATABASE_URL, else SQLite in the data directory)")
    return common
