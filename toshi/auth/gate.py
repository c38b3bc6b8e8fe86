"""The gate every HTTP request passes (ASGI middleware): who is calling, are they going too fast, may
they do this kind of thing in this tenant at all, and then the guard and actor the read and write paths
use for the finer rules (the one read path's composed guard, toshi/core/access.py). Refusals and admin
actions go to the audit trail. Which action a request asks for — and which requests are public — the
features declare (`Feature.actions`, toshi/core/feature.py)."""

from __future__ import annotations

import functools
import itertools
import time
import uuid

import orjson

from toshi.auth.principal import ALL_TENANTS, ANONYMOUS, Principal
from toshi.core.access import Reader, current_actor, current_deadline, current_guard, current_guard_maker
from toshi.core.errors import Forbidden, NgsiError, Unauthorized
from toshi.core.feature import action_of as feature_action

WANTED = {b"authorization", b"x-auth-token", b"x-api-key", b"x-request-id", b"fiware-correlator",
          b"fiware-service", b"ngsild-tenant"}
BOOT = uuid.uuid4().hex[:12]  # request ids: unique per process start, then a counter (cheaper than uuid4)
_numbers = itertools.count(1)
GLOBAL_ADMIN = ("/admin/",)  # accounts, keys, policies, audit, notifications, IoT status: admin of every tenant
READS = ("GET", "HEAD", "OPTIONS")


def action_of(rules, method: str, path: str) -> str | None:
    """The action a request asks for (None: public): the features' declared rule for the path, else
    what its method says."""
    declared = feature_action(rules, method, path)
    if declared is not ...:
        return declared
    if method in READS:
        return "read"
    return "delete" if method == "DELETE" else "update"


def tenant_of(path: str, headers) -> str:
    """The tenant the request's handler will use (v2 and IoT: Fiware-Service, lower-cased)."""
    if path.startswith(("/v2", "/iot/")):
        return (headers.get("fiware-service") or "").strip().lower()
    return (headers.get("ngsild-tenant") or "").strip()


class Gate:
    def __init__(self, app, security, services):
        self.app, self.security = app, security
        self.read_path, self.rules = services.read_path, services.actions

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, method = scope["path"], scope["method"]
        security = self.security
        if not security.enabled and method in ("GET", "HEAD"):  # nothing to check, nothing written
            self._set_deadline()
            if self.read_path.unconditional:
                reader = Reader(None, tenant_of(path, _headers(scope)))
                self._guard(self.read_path.unconditional_guard_for, reader)
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        request_id = headers.get("x-request-id") or headers.get("fiware-correlator") or f"{BOOT}-{next(_numbers):x}"
        action = action_of(self.rules, method, path)
        principal = ANONYMOUS
        tenant = tenant_of(path, headers)
        if security.enabled and action is not None:
            try:
                principal = await security.identifier.principal(headers)
                self._check_rate(principal, scope)
                self._authorise(principal, action, tenant, path)
            except NgsiError as exc:
                security.audit_refusal(principal, tenant, method, path, request_id, exc)
                return await _refuse(scope, send, exc, path)
            self._guard(self.read_path.guard_for, Reader(principal, tenant))
            scope.setdefault("state", {})["principal"] = principal  # request.state.principal (pages' role checks)
        elif self.read_path.unconditional:  # public paths read as anonymous; with authentication off, as the operator
            reader = Reader(principal if security.enabled else None, tenant)
            self._guard(self.read_path.unconditional_guard_for, reader)
        current_actor.set({"principal": principal.id if security.enabled else "local", "request": request_id})
        self._set_deadline()
        if action in ("admin", "subscribe") and method not in ("GET", "HEAD"):
            return await self._audited(scope, receive, send, principal, tenant, request_id)
        await self.app(scope, receive, send)

    @staticmethod
    def _guard(make, reader: Reader) -> None:
        current_guard.set(make(reader))
        current_guard_maker.set(functools.partial(make, reader))  # the same reader's rights, later

    def _set_deadline(self) -> None:
        timeout = self.security.settings.request_timeout
        if timeout > 0:
            current_deadline.set(time.monotonic() + timeout)

    def _check_rate(self, principal: Principal, scope) -> None:
        limiter = self.security.limiter
        if limiter is None:
            return
        key = principal.id if principal.kind != "anonymous" else ("anonymous", (scope.get("client") or ("",))[0])
        if not limiter.allow(key):
            raise TooManyRequests(f"more than {limiter.rate:g} requests/s", retry_after=limiter.retry_after(key))

    def _authorise(self, principal: Principal, action: str, tenant: str, path: str):
        if path.startswith(GLOBAL_ADMIN) and "admin" not in principal.roles.get(ALL_TENANTS, ()):
            raise self._refusal(principal, "administer Toshi (the admin role on every tenant, '*:admin', is needed)")
        access = self.security.engine.access(principal, tenant)
        if not access.allows(action):
            raise self._refusal(principal, f"{action} in tenant {tenant or 'default'!r}")

    @staticmethod
    def _refusal(principal: Principal, what: str) -> NgsiError:
        if principal.kind == "anonymous":
            return Unauthorized(f"authentication is required to {what}")
        return Forbidden(f"{principal.id} may not {what}")

    async def _audited(self, scope, receive, send, principal: Principal, tenant: str, request_id: str) -> None:
        """Run an admin or subscription change and record its outcome (and the id it created)."""
        seen = {}

        async def recording_send(message):
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                seen["location"] = next((v.decode() for k, v in message.get("headers", []) if k == b"location"), None)
            await send(message)

        await self.app(scope, receive, recording_send)
        self.security.after_change(principal, tenant, scope["method"], scope["path"], request_id,
                                   seen.get("status", 500), seen.get("location"))


class TooManyRequests(NgsiError):
    kind, status, title = "TooManyRequests", 429, "Too many requests"

    def __init__(self, detail: str, retry_after: float):
        super().__init__(detail)
        self.retry_after = retry_after

    @property
    def type_uri(self) -> str:
        return "urn:toshi:errors:TooManyRequests"


def _headers(scope) -> dict[str, str]:
    """The headers the gate reads (ASGI servers give names in lower case)."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in WANTED}


async def _refuse(scope, send, exc: NgsiError, path: str) -> None:
    """The refusal in the error format of the API that was called."""
    if path.startswith("/v2"):
        body = {"error": exc.title.replace(" ", ""), "description": exc.detail}
    elif path.startswith("/iot/"):
        body = {"name": exc.title.upper().replace(" ", "_"), "message": exc.detail}
    else:
        body = exc.problem()
    headers = [(b"content-type", b"application/json")]
    if exc.status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="toshi"'))
    if isinstance(exc, TooManyRequests):
        headers.append((b"retry-after", str(max(1, round(exc.retry_after + 0.5))).encode()))
    payload = orjson.dumps(body)
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
