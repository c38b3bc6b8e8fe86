"""The access log and the request metrics (ASGI middleware, outermost, so it sees every answer —
refusals of the request gate included — and the whole time a request took).

A line names the method, the path, the query's parameter names (never their values: an IoT device's
`k=` apikey, a `q` over a resident's attributes), the status, the duration, the bytes sent, the tenant,
the principal and the request id. Never a header value, never a body. Under `toshi serve` a line goes
straight to the log's Buffered handler (no LogRecord: a tenth of a small GET's cost otherwise)."""

from __future__ import annotations

import logging
import time

from starlette.routing import Mount

from toshi.core.access import current_actor
from toshi.ops.logs import quick_handler

log = logging.getLogger("toshi.access")
_TENANT_HEADERS = (b"ngsild-tenant", b"fiware-service")


class AccessLog:
    def __init__(self, app, metrics, enabled: bool = True):
        self.app, self.metrics, self.enabled = app, metrics, enabled

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        answer = [500, 0]  # status, body bytes

        async def recording(message):
            if message["type"] == "http.response.start":
                answer[0] = message["status"]
            elif message["type"] == "http.response.body":
                answer[1] += len(message.get("body", b""))
            await send(message)

        scope.setdefault("state", {})  # shared with the inner layers even if they copy the scope
        try:
            await self.app(scope, receive, recording)
        finally:
            seconds = time.perf_counter() - started
            method, status = scope["method"], answer[0]
            self.metrics.observe(method, route_template(scope), status, seconds)
            if self.enabled and log.isEnabledFor(logging.INFO):
                _log_request(scope, method, status, seconds, answer[1])


def _log_request(scope, method: str, status: int, seconds: float, size: int) -> None:
    actor = current_actor.get() or {}
    principal = actor.get("principal")
    state_principal = scope["state"].get("principal")
    if state_principal is not None:
        principal = getattr(state_principal, "id", principal)
    query = query_names(scope.get("query_string", b""))
    tenant = next((v.decode("latin-1") for k, v in scope["headers"] if k in _TENANT_HEADERS), "")
    path = scope["path"]
    message = (f"{method} {path}{'?' + '&'.join(query) if query else ''} {status} {seconds * 1000:.1f} ms "
               f"{size} B tenant={tenant or '-'} principal={principal or '-'}")
    fields = {"method": method, "path": path, "query": query, "status": status,
              "duration_ms": round(seconds * 1000, 2), "bytes": size, "tenant": tenant,
              "principal": principal or "", "request_id": actor.get("request") or ""}
    handler = quick_handler(log)  # Toshi's own log (toshi serve): the line without a LogRecord
    if handler is not None and handler.takes_lines(logging.INFO):
        handler.line(logging.INFO, log.name, message, fields if handler.formatter.fields else None)
    else:
        log.info("%s", message, extra={"fields": fields})


def query_names(raw: bytes) -> list[str]:
    """The names of a query string's parameters, in order, without their values."""
    if not raw:
        return []
    return [part.split(b"=", 1)[0].decode("latin-1") for part in raw.split(b"&") if part]


def route_template(scope) -> str:
    """The route a request matched, as declared (`/ngsi-ld/v1/entities/{entityId}`): a bounded label."""
    route = scope.get("route")
    if route is None:
        return "unmatched"
    if isinstance(route, Mount):
        return route.path + "/{path}"
    return scope.get("root_path", "") + getattr(route, "path", "")
