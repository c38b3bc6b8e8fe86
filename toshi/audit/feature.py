"""The tamper-evident audit trail declared as a feature: its table and its `toshi audit` commands.
(Who writes records: the auth feature, for every write, refusal and admin action.)"""

from __future__ import annotations

from toshi.audit import commands
from toshi.audit.log import SCHEMA
from toshi.core.feature import Feature, tables_of


class Audit(Feature):
    name = "audit"
    tables = tables_of(SCHEMA)

    @classmethod
    def add_commands(cls, subparsers, cli) -> None:
        commands.add_commands(subparsers, cli)
