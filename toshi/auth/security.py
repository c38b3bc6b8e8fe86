"""Toshi's security, assembled for one app: identities, policies, the audit trail, rate limits and the
owners of subscriptions (whose rights filter what their notifications carry)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging

import orjson

from toshi.audit import audit_log_of
from toshi.auth.apikeys import api_keys_of
from toshi.auth.identify import Identifier
from toshi.auth.policy import policy_engine_of
from toshi.auth.principal import ANONYMOUS, Principal, format_roles, parse_roles
from toshi.core.ratelimit import RateLimiter
from toshi.core.signing import SigningKey, key_file
from toshi.core.times import now_iso, parse_duration, to_iso, to_ms
from toshi.core.write import STATE
from toshi.store import FeatureTables

log = logging.getLogger("toshi.auth")
OWNERS = """CREATE TABLE IF NOT EXISTS auth_subscription_owners (
    tenant TEXT NOT NULL, subscription TEXT NOT NULL, principal TEXT NOT NULL, PRIMARY KEY (tenant, subscription))"""
MAX_TARGETS = 20  # entity ids listed in one audit record of a write


def retention_cutoff(duration: str) -> str:
    """The ISO time `duration` (ISO 8601, e.g. P365D) before now."""
    return to_iso(parse_duration(duration).after(to_ms(now_iso()), -1))


def check_exposure(settings) -> None:
    """Authentication may be off only while Toshi listens on loopback."""
    if settings.auth:
        return
    host = settings.host.strip("[]")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ValueError(f"refusing to listen on {settings.host} without authentication: set auth = true "
                         "(TOSHI_AUTH=true) and create an admin key first (toshi key create --name admin "
                         "--role '*:admin'), or listen on 127.0.0.1")


class Security:
    def __init__(self, services):
        settings, store = services.settings, services.store
        self.settings, self.store, self.enabled = settings, store, settings.auth
        self.signing_key = SigningKey.load_or_create(key_file(settings.data_dir))
        self.identifier = Identifier(settings, store, self.signing_key)
        self.engine = policy_engine_of(store)
        self.audit = audit_log_of(store)
        self.keys = api_keys_of(store)
        self.limiter = RateLimiter(settings.rate_limit, settings.rate_burst or None) if settings.rate_limit else None
        self._owners = FeatureTables(store, OWNERS)
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        if self.enabled and not self.keys.accounts():
            log.warning("authentication is on and no account exists: create one with "
                        "`toshi key create --name admin --role '*:admin'` (the running server takes it at once)")
        self._task = asyncio.create_task(self._checkpoints())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.audit.checkpoint(self.signing_key)

    async def _checkpoints(self) -> None:
        """Signed checkpoints (and retention) at the configured interval."""
        while True:
            await asyncio.sleep(self.settings.audit_checkpoint_interval)
            try:
                self.audit.checkpoint(self.signing_key)
                if self.settings.audit_retention:
                    self.audit.prune(retention_cutoff(self.settings.audit_retention), self.signing_key)
            except Exception:
                log.exception("audit checkpoint failed")

    # -- audit ------------------------------------------------------------------------------------

    def record_writes(self, tx, changes) -> None:
        """Writer listener: one audit record per request's writes, in the write's transaction."""
        groups: dict[int, list] = {}
        for change in changes:
            groups.setdefault(id(change.actor), []).append(change)
        records = [self._write_record(group) for group in groups.values()]
        if records:
            self.audit.append(records, db=self.store.db)

    @staticmethod
    def _write_record(changes: list) -> dict:
        actor = changes[0].actor or {"principal": "system", "request": None}
        counts = {"created": 0, "updated": 0, "deleted": 0}
        for c in changes:  # an Operation's change (e.g. a history edit) is counted under its kind
            kind = c.kind if c.kind != STATE else "created" if c.before is None else "deleted" if c.after is None \
                else "updated"
            counts[kind] = counts.get(kind, 0) + 1
        ids = [c.entity_id for c in changes[:MAX_TARGETS]]
        return {"principal": actor["principal"], "tenant": changes[0].tenant, "operation": "write",
                "target": " ".join(ids) + (f" (+{len(changes) - MAX_TARGETS})" if len(changes) > MAX_TARGETS else ""),
                "request_id": actor["request"], "outcome": "ok", "detail": counts}

    def audit_refusal(self, principal: Principal, tenant: str, method: str, path: str, request_id: str, exc) -> None:
        self.audit.append([{"principal": principal.id, "tenant": tenant, "operation": f"{method} {path}",
                            "target": path, "request_id": request_id, "outcome": f"denied:{exc.status}",
                            "detail": {"reason": exc.detail}}])

    def after_change(self, principal: Principal, tenant: str, method: str, path: str, request_id: str,
                     status: int, location: str | None) -> None:
        """An admin action or a subscription change happened: audit it, and own what it created."""
        self.audit.append([{"principal": principal.id if self.enabled else "local", "tenant": tenant,
                            "operation": f"{method} {path}", "target": location or path, "request_id": request_id,
                            "outcome": "ok" if status < 400 else f"error:{status}"}])
        if self.enabled and status == 201 and location and "subscriptions" in path:
            self._own(tenant, location.rstrip("/").rsplit("/", 1)[-1], principal)

    # -- subscription owners --------------------------------------------------------------------

    @property
    def _db(self):
        return self._owners.db

    def _own(self, tenant: str, subscription_id: str, principal: Principal) -> None:
        owner = {"id": principal.id, "kind": principal.kind, "roles": format_roles(principal.roles),
                 "groups": sorted(principal.groups)}
        self._db.execute("INSERT INTO auth_subscription_owners (tenant, subscription, principal) "
                         "VALUES (?, ?, ?) ON CONFLICT (tenant, subscription) DO UPDATE SET "
                         "principal=excluded.principal",
                         (tenant, subscription_id, orjson.dumps(owner).decode()))

    def owner_of(self, tenant: str, subscription_id: str) -> Principal:
        """The subscription's owner with their rights as they are now (an API key account's current
        roles; a token's roles as they were when it subscribed); anonymous when unknown."""
        row = self._db.execute("SELECT principal FROM auth_subscription_owners WHERE tenant=? AND subscription=?",
                               (tenant, subscription_id)).fetchone()
        if row is None:
            return ANONYMOUS
        owner = orjson.loads(row[0])
        if owner["kind"] == "key":
            account = self.keys.account(owner["id"])
            if account is None:
                return ANONYMOUS
            owner["roles"], owner["groups"] = account["roles"], account.get("groups", [])
        return Principal(owner["id"], owner["kind"], parse_roles(owner["roles"], strict=False),
                         frozenset(owner["groups"]))

    def notification_guard(self, tenant: str, subscription_id: str):
        """The Guard that filters a subscription's notifications (None: nothing to filter)."""
        if not self.enabled:
            return None
        access = self.engine.access(self.owner_of(tenant, subscription_id), tenant)
        return None if access.reads_everything else access
