"""Who may do what on which data: roles per tenant, plus policy rules; deny by default.

A principal's roles grant actions on a whole tenant:

    admin     everything, including admin (keys, policies, IoT provisioning, audit)
    operator  read, create, update, delete, subscribe
    provider  read, create, update
    consumer  read, subscribe

Rules (stored in the store's database, managed with `toshi policy` or /admin/auth/policies) narrow or
widen that:

    {"effect": "allow" | "deny",
     "principals": ["*" | "anonymous" | "authenticated" | "id:<principal>" | "group:<g>" | "role:<r>"
                    | "acr:<assurance level>" (a resident identified at least this surely)],
     "actions": ["read", "create", "update", "delete", "subscribe", "admin"] or ["*"],
     "tenant": "<tenant>" | "default" | "*",
     "types": [...], "idPattern": "<regex>", "scopes": [...], "attrs": [...]}   # each optional: absent = any

`scopes` are NGSI-LD scopes / NGSI-v2 service paths: "/a" that scope exactly, "/a/#" it and everything
below, "/" entities without a scope (the root service path), "/#" any.

An allow rule grants its actions on the entities it selects (types / idPattern), and, with `attrs`,
only on those attributes. A deny rule takes its actions away on what it selects; with `attrs` it hides
those attributes (read) or protects them (writes). An open-data type is an allow rule for "*" and
"read". Everything no role and no allow rule grants is denied.

`Access` is the compiled answer for one principal in one tenant: the Guard (toshi/core/access.py)
that the read path and the write path consult."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import orjson

from toshi.auth.principal import ALL_TENANTS, DEFAULT_SPELLING, DEFAULT_TENANT, ROLES, Principal
from toshi.auth.residents import ASSURANCE_LEVELS, meets
from toshi.core.errors import BadRequestData, Forbidden
from toshi.jsonld.context import core_context
from toshi.query.regex import compile_pattern
from toshi.store import FeatureTables, attached

ACTIONS = ("read", "create", "update", "delete", "subscribe", "admin")
ROLE_ACTIONS = {
    "admin": frozenset(ACTIONS),
    "operator": frozenset({"read", "create", "update", "delete", "subscribe"}),
    "provider": frozenset({"read", "create", "update"}),
    "consumer": frozenset({"read", "subscribe"}),
}
PRINCIPAL_FORMS = ("*", "anonymous", "authenticated")
VIEWS_KEPT = 10_000  # redacted entity views remembered per compiled access
SCHEMA = "CREATE TABLE IF NOT EXISTS auth_policies (id TEXT PRIMARY KEY, doc TEXT NOT NULL)"


# -- rules ----------------------------------------------------------------------------------------

def check_rule(doc: object) -> dict:
    """A rule document as stored (ValueError when malformed)."""
    if not isinstance(doc, dict):
        raise ValueError("a policy rule is a JSON object")
    unknown = set(doc) - {"id", "effect", "principals", "actions", "tenant", "types", "idPattern", "scopes",
                          "attrs", "description"}
    if unknown:
        raise ValueError(f"unknown policy member(s): {', '.join(sorted(unknown))}")
    if doc.get("effect") not in ("allow", "deny"):
        raise ValueError('effect must be "allow" or "deny"')
    principals = _strings(doc, "principals", required=True)
    for p in principals:
        kind, _, value = p.partition(":")
        if p not in PRINCIPAL_FORMS and not (kind in ("id", "group", "role", "acr") and value):
            raise ValueError(f"principal {p!r}: use *, anonymous, authenticated, id:<id>, group:<g>, role:<r> "
                             "or acr:<assurance level>")
        if kind == "acr" and value not in ASSURANCE_LEVELS:
            raise ValueError(f"unknown assurance level {value!r} (levels: {', '.join(ASSURANCE_LEVELS)})")
        if kind == "role" and value not in ROLES:
            raise ValueError(f"unknown role {value!r} (roles: {', '.join(ROLES)})")
    actions = _strings(doc, "actions", required=True)
    if bad := [a for a in actions if a != "*" and a not in ACTIONS]:
        raise ValueError(f"unknown action(s) {bad} (actions: {', '.join(ACTIONS)})")
    if not isinstance(doc.get("tenant", ALL_TENANTS), str):
        raise ValueError("tenant must be a string")
    _strings(doc, "types")
    _strings(doc, "attrs")
    if any(not p.startswith("/") for p in _strings(doc, "scopes")):
        raise ValueError('scopes are paths such as "/", "/Toyono", "/Toyono/#"')
    if doc.get("idPattern") is not None:
        if not isinstance(doc["idPattern"], str):
            raise ValueError("idPattern must be a string")
        try:
            compile_pattern(doc["idPattern"])
        except BadRequestData as exc:
            raise ValueError(exc.detail) from None
    return {"id": doc.get("id") or f"policy-{uuid.uuid4().hex[:12]}", **{k: v for k, v in doc.items() if k != "id"}}


def _strings(doc: dict, key: str, required: bool = False) -> list[str]:
    value = doc.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{key} must be a non-empty array of strings")
    return value


@dataclass(frozen=True)
class Grant:
    """Actions on a selection of entities (None = all) and of their attributes (None = all)."""

    actions: frozenset[str]
    types: frozenset[str] | None = None
    id_pattern: object | None = None
    attrs: frozenset[str] | None = None
    scopes: tuple[str, ...] | None = None

    def selects(self, entity: dict) -> bool:
        if self.types is not None and not any(t in self.types for t in entity.get("type", ())):
            return False
        if self.scopes is not None and not in_scopes(self.scopes, entity.get("scope") or []):
            return False
        return self.id_pattern is None or self.id_pattern.search(entity["id"]) is not None

    @property
    def whole_tenant(self) -> bool:
        return self.types is None and self.id_pattern is None and self.attrs is None and self.scopes is None


def in_scopes(patterns: tuple[str, ...], scopes: list[str]) -> bool:
    for pattern in patterns:
        if pattern == "/#" or (pattern == "/" and not scopes):
            return True
        if pattern.endswith("/#"):
            base = pattern[:-2]
            if any(s == base or s.startswith(base + "/") for s in scopes):
                return True
        elif pattern in scopes:
            return True
    return False


def compile_grant(rule: dict) -> Grant:
    ctx = core_context()
    actions = frozenset(ACTIONS) if "*" in rule["actions"] else frozenset(rule["actions"])
    types = frozenset(_names(rule.get("types"), ctx)) if rule.get("types") else None
    attrs = frozenset(_names(rule.get("attrs"), ctx)) if rule.get("attrs") else None
    pattern = compile_pattern(rule["idPattern"]) if rule.get("idPattern") else None
    scopes = tuple(rule["scopes"]) if rule.get("scopes") else None
    return Grant(actions, types, pattern, attrs, scopes)


def _names(names: list[str], ctx) -> set[str]:
    """A rule's type or attribute names as stored (expanded with the core @context), and as written."""
    return {form for name in names for form in (name, ctx.expand_term(name))}


def rule_applies(rule: dict, principal: Principal, tenant: str) -> bool:
    rule_tenant = rule.get("tenant", ALL_TENANTS)
    if rule_tenant != ALL_TENANTS and _internal_tenant(rule_tenant) != tenant:
        return False
    return any(_principal_matches(p, principal, tenant) for p in rule["principals"])


def _internal_tenant(name: str) -> str:
    return DEFAULT_TENANT if name == DEFAULT_SPELLING else name


def _principal_matches(form: str, principal: Principal, tenant: str) -> bool:
    anonymous = principal.kind == "anonymous"
    if form == "*":
        return True
    if form == "anonymous":
        return anonymous
    if form == "authenticated":
        return not anonymous
    kind, _, value = form.partition(":")
    if kind == "id":
        return principal.id == value
    if kind == "group":
        return value in principal.groups
    if kind == "acr":  # a resident identified at least this surely
        return meets(principal.acr, value)
    return value in principal.roles_in(tenant)


# -- the answer for one principal in one tenant ---------------------------------------------------

class Access:
    """What one principal may do in one tenant: the Guard of its requests."""

    def __init__(self, principal: Principal, tenant: str, grants: list[Grant], denies: list[Grant]):
        self.principal, self.tenant = principal, tenant
        self.grants, self.denies = grants, denies
        self._views: dict[int, tuple[dict, dict | None]] = {}
        self.reads_everything = self.unrestricted("read")
        # nothing to check per entity: the read and write paths may skip this guard altogether
        self.unrestricted_data = all(self.unrestricted(a) for a in ("read", "create", "update", "delete"))

    def allows(self, action: str) -> bool:
        """Whether the principal may do `action` on anything in the tenant (the request-level check)."""
        return any(action in g.actions for g in self.grants)

    def unrestricted(self, action: str) -> bool:
        return any(action in g.actions and g.whole_tenant for g in self.grants) and \
            not any(action in d.actions for d in self.denies)

    def permitted_attrs(self, action: str, entity: dict) -> frozenset[str] | None:
        """The attributes of `entity` the principal may `action` (None: all of them), or an empty set
        when the entity itself is out of reach."""
        selected = [g for g in self.grants if action in g.actions and g.selects(entity)]
        if not selected:
            return frozenset()
        denied = [d for d in self.denies if action in d.actions and d.selects(entity)]
        if any(d.attrs is None for d in denied):
            return frozenset()
        allowed = None if any(g.attrs is None for g in selected) else frozenset().union(*(g.attrs for g in selected))
        hidden = frozenset().union(*(d.attrs for d in denied)) if denied else frozenset()
        if allowed is None:
            return None if not hidden else _AllBut(hidden)
        return allowed - hidden

    # -- Guard ------------------------------------------------------------------------------------

    def readable(self, entity: dict) -> dict | None:
        """The same redacted object for the same (immutable, shared) entity state, so renderings
        cached by identity (toshi/ngsild/render_cache.py) are reused for this principal too."""
        if self.reads_everything:
            return entity
        seen = self._views.get(id(entity))
        if seen is not None and seen[0] is entity:
            return seen[1]
        view = self._redacted(entity)
        if len(self._views) >= VIEWS_KEPT:
            self._views.clear()
        self._views[id(entity)] = (entity, view)  # holding the entity keeps its id from being reused
        return view

    def _redacted(self, entity: dict) -> dict | None:
        attrs = self.permitted_attrs("read", entity)
        if attrs is None:
            return entity
        if not attrs:
            return None
        kept = {name: v for name, v in entity["attrs"].items() if name in attrs}
        return entity if len(kept) == len(entity["attrs"]) else {**entity, "attrs": kept}

    def check_write(self, before: dict | None, after: dict | None) -> None:
        """Deleting needs the whole entity; creating and updating need the attributes written, in the
        entity as it was and as it will be (so a change cannot move an entity out of reach)."""
        if before is None and after is None:
            return
        action = "create" if before is None else "delete" if after is None else "update"
        changed = _changed_attrs(before, after) if after is not None else set()
        for state in (s for s in (before, after) if s is not None):
            attrs = self.permitted_attrs(action, state)
            if attrs is None:
                continue
            if not attrs or action == "delete":
                raise Forbidden(f"{self.principal.id} may not {action} {state['id']}")
            if refused := sorted(core_context().compact_iri(a) for a in changed if a not in attrs):
                raise Forbidden(f"{self.principal.id} may not {action} attribute(s) {', '.join(refused)} "
                                f"of {state['id']}")

    def type_visible(self, type_iri: str) -> bool:
        if self.reads_everything:
            return True
        probe = {"id": "", "type": [type_iri], "attrs": {}}
        return any("read" in g.actions and (g.types is None or type_iri in g.types) for g in self.grants) and \
            not any("read" in d.actions and d.attrs is None and d.id_pattern is None and d.scopes is None
                    and d.selects(probe) for d in self.denies)

    def attribute_visible(self, attr_iri: str) -> bool:
        if self.reads_everything:
            return True
        grants = [g for g in self.grants if "read" in g.actions]
        if not any(g.attrs is None or attr_iri in g.attrs for g in grants):
            return False
        return not any("read" in d.actions and d.attrs and attr_iri in d.attrs and d.types is None
                       and d.id_pattern is None and d.scopes is None for d in self.denies)


class _AllBut(frozenset):
    """Every attribute except these (a frozenset of the hidden ones, read as its complement)."""

    def __contains__(self, name) -> bool:
        return not frozenset.__contains__(self, name)

    def __bool__(self) -> bool:
        return True

    def __sub__(self, other):
        return _AllBut(frozenset(self) | other)


def _changed_attrs(before: dict | None, after: dict) -> set[str]:
    old = before["attrs"] if before is not None else {}
    new = after["attrs"]
    return {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}


# -- the engine -----------------------------------------------------------------------------------

class PolicyEngine:
    """Rules in the store's database, compiled per (principal, tenant) and cached until they change."""

    CACHE_SIZE = 10_000

    def __init__(self, store):
        self._store = store
        self._tables = FeatureTables(store, SCHEMA)
        self._rules: list[dict] | None = None
        self._cache: dict[tuple[Principal, str], Access] = {}
        self.on_change: list = []  # told of every change of the rules (the read path's changed)
        store.watch("auth.policies", lambda _: self._forget())  # changed by another process

    @property
    def _db(self):
        return self._tables.db

    def rules(self) -> list[dict]:
        if self._rules is None:
            self._rules = [orjson.loads(r[0]) for r in self._db.execute("SELECT doc FROM auth_policies ORDER BY rowid")]
        return self._rules

    def rule(self, rule_id: str) -> dict | None:
        return next((r for r in self.rules() if r["id"] == rule_id), None)

    def put(self, doc: object) -> dict:
        rule = check_rule(doc)
        self._db.execute("INSERT INTO auth_policies (id, doc) VALUES (?, ?) "
                         "ON CONFLICT (id) DO UPDATE SET doc=excluded.doc",
                         (rule["id"], orjson.dumps(rule).decode()))
        self._changed()
        return rule

    def delete(self, rule_id: str) -> bool:
        deleted = self._db.execute("DELETE FROM auth_policies WHERE id=?", (rule_id,)).rowcount > 0
        self._changed()
        return deleted

    def _changed(self) -> None:
        self._forget()
        self._store.publish("auth.policies")

    def _forget(self) -> None:
        self._rules = None
        self._cache.clear()
        for callback in list(self.on_change):
            callback()

    def access(self, principal: Principal, tenant: str) -> Access:
        key = (principal, tenant)
        access = self._cache.get(key)
        if access is None or access.principal.roles != principal.roles:
            if len(self._cache) >= self.CACHE_SIZE:
                self._cache.clear()
            access = self._cache[key] = self._compile(principal, tenant)
        return access

    def _compile(self, principal: Principal, tenant: str) -> Access:
        grants = [Grant(ROLE_ACTIONS[role]) for role in sorted(principal.roles_in(tenant)) if role in ROLE_ACTIONS]
        denies = []
        for rule in self.rules():
            if rule_applies(rule, principal, tenant):
                (grants if rule["effect"] == "allow" else denies).append(compile_grant(rule))
        return Access(principal, tenant, grants, denies)


def policy_engine_of(store) -> PolicyEngine:
    return attached(store, PolicyEngine)
