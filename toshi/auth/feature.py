"""Security declared as a feature: identities (API keys, tokens, OpenID Connect), the policy engine
as a layer of the one read path, the request gate, the admin API and the `toshi key|token|policy|
tenant` commands. Every write, refusal and admin action is recorded in the audit trail."""

from __future__ import annotations

from toshi.auth import (
    apikeys,
    commands,
    oidc_provider,
    oidc_web,
    passkey_web,
    passkeys,
    policy,
    policy_commands,
    resident_commands,
    residents,
    web,
)
from toshi.auth.gate import Gate
from toshi.auth.security import OWNERS, Security, check_exposure
from toshi.core.access import RULES, Reader
from toshi.core.feature import Action, Feature, tables_of
from toshi.core.signing import key_file


class RoleRules:
    """The read path's layer of roles and allow/deny rules (toshi/auth/policy.py)."""

    order = RULES

    def __init__(self, security: Security):
        self.security = security

    def guard_for(self, reader: Reader):
        if not self.security.enabled or reader.principal is None:
            return None
        access = self.security.engine.access(reader.principal, reader.tenant)
        return None if access.unrestricted_data else access


class Auth(Feature):
    name = "auth"
    tables = (tables_of(apikeys.SCHEMA) + tables_of(policy.SCHEMA) + tables_of(OWNERS) + tables_of(residents.SCHEMA)
              + tables_of(oidc_provider.SCHEMA) + tables_of(passkeys.SCHEMA))
    data_files = (key_file("").as_posix(),)  # the town's signing key (tokens, audit checkpoints)
    actions = (Action("/.well-known/", None), Action("/oidc/", None), Action("/admin/", "admin"))

    @classmethod
    def add_commands(cls, subparsers, cli) -> None:
        commands.add_commands(subparsers, cli)
        policy_commands.add_commands(subparsers, cli)
        resident_commands.add_commands(subparsers, cli)

    def __init__(self, services):
        super().__init__(services)
        check_exposure(services.settings)
        self.security = Security(services)
        services.read_path.owner_of = self.security.owner_of
        self.security.engine.on_change.append(services.read_path.changed)  # live streams apply new rules at once
        self.residents = residents.Residents(services.store)
        self.passkeys = passkeys.Passkeys(services.store)
        self.provider = oidc_provider.Provider(services.store, self.security.signing_key,
                                               services.settings.auth_issuer, services.settings.auth_audience)

    def routes(self) -> list:
        return web.routes() + oidc_web.routes() + passkey_web.routes()

    def listeners(self) -> list:
        return [self.security.record_writes]

    def read_filters(self) -> list:
        return [RoleRules(self.security)]

    def middleware(self) -> list:
        return [(Gate, {"security": self.security, "services": self.services})]

    async def start(self) -> None:
        await self.security.start()

    async def stop(self) -> None:
        await self.security.stop()
