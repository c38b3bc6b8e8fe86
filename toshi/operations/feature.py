"""Operations on a whole town's data declared as a feature: backup, restore, migration to PostgreSQL,
schema versions."""

from __future__ import annotations

from toshi.core.feature import Feature
from toshi.operations import commands


class Operations(Feature):
    name = "operations"

    @classmethod
    def add_commands(cls, subparsers, cli) -> None:
        commands.add_commands(subparsers, cli)
