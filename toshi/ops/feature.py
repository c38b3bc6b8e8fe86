"""Operations declared as a feature: the access log and request metrics (middleware), /health/live,
/health/ready, /metrics, the admin endpoint the command line uses while the server runs, and the
`toshi status` and `toshi service` commands."""

from __future__ import annotations

import logging
import os
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi import __version__
from toshi.core.feature import Action, Feature
from toshi.ops import admin, commands, files, health
from toshi.ops.accesslog import AccessLog
from toshi.ops.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger("toshi.ops")
ANNOUNCED = "TOSHI_OPS_ANNOUNCED"  # set by `toshi serve --workers N`: the parent wrote the server's files


class Ops(Feature):
    name = "ops"
    # health is public; /metrics and /ops/ check their own credentials (metrics token or admin key,
    # the data directory's admin token), so the gate lets them through
    actions = (Action("/health/", None), Action("/metrics", None, exact=True), Action("/ops/", None))

    @classmethod
    def add_commands(cls, subparsers, cli) -> None:
        commands.add_commands(subparsers, cli)

    def __init__(self, services):
        super().__init__(services)
        self.metrics = Metrics(services)
        self.started = time.time()
        self.admin_token = ""
        self.command_parser = None  # () -> the command line's parser over this server's store (toshi serve)
        self._announced = False

    def routes(self) -> list:
        return [Route("/health/live", health.live, methods=["GET"]),
                Route("/health/ready", health.ready, methods=["GET"]),
                Route("/metrics", self._metrics, methods=["GET"]),
                Route("/ops/status", admin.status, methods=["GET"]),
                Route("/admin/ops/status", admin.status_for_admins, methods=["GET"]),  # the gate: '*:admin'
                Route("/ops/commands", admin.command, methods=["POST"])]

    def middleware(self) -> list:
        return [(AccessLog, {"metrics": self.metrics, "enabled": self.services.settings.access_log})]

    def take_commands(self, make_parser) -> None:
        """Run management commands sent by the command line (`toshi serve` on SQLite gives the parser)."""
        self.command_parser = make_parser

    async def start(self) -> None:
        settings = self.services.settings
        data_dir = settings.data_dir
        try:
            if os.environ.get(ANNOUNCED):
                self.admin_token = files.token_file(data_dir).read_text().strip()
                return
            self.admin_token = files.announce(data_dir, server_info(settings, self.started))
            self._announced = True
        except OSError as exc:
            log.warning("cannot write the admin files in %s (%s): management commands will need the server "
                        "stopped; make the data directory writable by the server's user", data_dir, exc)

    async def stop(self) -> None:
        if self._announced:
            files.withdraw(self.services.settings.data_dir, os.getpid())

    async def _metrics(self, request: Request) -> Response:
        refusal = await self._metrics_refusal(request)
        if refusal is not None:
            return refusal
        try:
            body = await self.metrics.render()
        except Exception as exc:  # the database went away: say so in the figures we still have
            log.warning("metrics without the store's figures: %s", exc)
            from prometheus_client import generate_latest

            self.metrics.town.figures = {}
            body = generate_latest(self.metrics.registry)
        return Response(body, media_type=CONTENT_TYPE)

    async def _metrics_refusal(self, request: Request) -> Response | None:
        """None when the caller may read /metrics: authentication off, the metrics token, or an admin."""
        settings = self.services.settings
        if not settings.auth:
            return None
        given = request.headers.get("authorization", "")
        if settings.metrics_token and given == f"Bearer {settings.metrics_token}":
            return None
        auth = self.services.features.get("auth")
        security = getattr(auth, "security", None)
        if security is not None and given:
            try:
                principal = await security.identifier.principal(request.headers)
            except Exception:
                principal = None
            if principal is not None and "admin" in principal.roles.get("*", ()):
                return None
        return Response("metrics need the metrics token (TOSHI_METRICS_TOKEN) or an admin's key\n",
                        status_code=401, headers={"WWW-Authenticate": 'Bearer realm="toshi"'})


def server_info(settings, started: float) -> dict:
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(settings.host, settings.host)
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if settings.certfile else "http"
    return {"pid": os.getpid(), "url": f"{scheme}://{host}:{settings.port}", "version": __version__,
            "started": started, "database": "postgresql" if settings.database_url else "sqlite"}
