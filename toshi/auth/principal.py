"""Who a request is from, and in which tenants it holds which roles.

Roles are granted per tenant. In every external spelling (CLI flags, API-key accounts, token claims)
the default tenant (no NGSILD-Tenant / Fiware-Service header; "" inside Toshi) is written `default`,
and `*` means every tenant: `default:admin`, `osaka:consumer`, `*:operator`. Inside a Principal the
default tenant is "", the name the HTTP layer uses, so `roles_in(tenant)` takes the request's tenant
as is. (A tenant literally named "default" therefore cannot be granted roles.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

ROLES = ("admin", "operator", "provider", "consumer")
ALL_TENANTS = "*"
DEFAULT_TENANT = ""
DEFAULT_SPELLING = "default"


@dataclass(frozen=True)
class Principal:
    id: str
    kind: str  # "key" | "token" | "anonymous"
    roles: Mapping[str, frozenset[str]] = field(hash=False)  # tenant ("" = default, "*" = every tenant) -> roles
    groups: frozenset[str] = field(default_factory=frozenset)
    name: str = ""
    acr: str = ""  # how a resident was identified (toshi/auth/residents.py ASSURANCE_LEVELS); "" otherwise
    client: str = ""  # the app (OpenID Connect client) a resident's access token was issued to, and
    grant: str = ""   # which of its grants (toshi/auth/oidc_provider.py Apps): removed, its tokens stop

    def __post_init__(self):
        # Principals are cached and shared between requests: nothing may change one after the fact.
        roles = MappingProxyType({tenant: frozenset(names) for tenant, names in self.roles.items()})
        object.__setattr__(self, "roles", roles)
        object.__setattr__(self, "groups", frozenset(self.groups))

    def roles_in(self, tenant: str) -> frozenset[str]:
        return self.roles.get(tenant, frozenset()) | self.roles.get(ALL_TENANTS, frozenset())


ANONYMOUS = Principal("anonymous", "anonymous", {}, frozenset())


def parse_roles(value: Mapping[str, Iterable[str]] | Iterable[str] | None, *,
                strict: bool = True) -> dict[str, frozenset[str]]:
    """`{"tenant": ["role", ...]}` or `["tenant:role", ...]` -> {tenant: roles}, the default tenant as "".

    Strict (the default) raises ValueError on anything it does not understand; not strict skips it,
    for claims of an identity provider that carry roles of other applications too."""
    if value is None:
        return {}
    pairs = _pairs_of_mapping(value, strict) if isinstance(value, Mapping) else _pairs_of_list(value, strict)
    roles: dict[str, set[str]] = {}
    for tenant, role in pairs:
        problem = _problem(tenant, role)
        if problem:
            if strict:
                raise ValueError(problem)
            continue
        roles.setdefault(_internal(tenant), set()).add(role)
    return {tenant: frozenset(names) for tenant, names in roles.items()}


def format_roles(roles: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """The external spelling of parsed roles (default tenant as `default`), lists sorted."""
    return {(DEFAULT_SPELLING if tenant == DEFAULT_TENANT else tenant): sorted(names)
            for tenant, names in sorted(roles.items())}


def _problem(tenant: str, role: object) -> str:
    if role not in ROLES:
        return f"unknown role {role!r} (roles are {', '.join(ROLES)})"
    if not tenant:
        return f"no tenant in ':{role}' (write the default tenant as '{DEFAULT_SPELLING}')"
    return ""


def _internal(tenant: str) -> str:
    return DEFAULT_TENANT if tenant == DEFAULT_SPELLING else tenant


def _pairs_of_mapping(value: Mapping, strict: bool) -> list[tuple[str, str]]:
    pairs = []
    for tenant, names in value.items():
        if not isinstance(tenant, str) or isinstance(names, str) or not isinstance(names, Iterable):
            if strict:
                raise ValueError(f"roles of tenant {tenant!r} must be a list of role names")
            continue
        pairs.extend((tenant, name) for name in names)
    return pairs


def _pairs_of_list(value: Iterable, strict: bool) -> list[tuple[str, str]]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        if strict:
            raise ValueError("roles must be a list of 'tenant:role' strings or a mapping")
        return []
    pairs = []
    for entry in value:
        if not isinstance(entry, str) or ":" not in entry:
            if strict:
                raise ValueError(f"not a 'tenant:role' entry: {entry!r}")
            continue
        tenant, _, role = entry.rpartition(":")
        pairs.append((tenant, role))
    return pairs
