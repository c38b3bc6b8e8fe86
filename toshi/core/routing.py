"""Routing helpers shared by the features' HTTP layers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import BaseRoute, Match, Router


def public_base(request: Request, settings) -> str:
    """The origin browsers reach this server at: the `public_url` setting when a town runs Toshi behind
    a reverse proxy, else the request's own scheme and Host. Forwarded headers a client could send
    (X-Forwarded-Host) are never believed; uvicorn applies X-Forwarded-Proto only from the proxies it
    trusts (its --forwarded-allow-ips, 127.0.0.1 by default)."""
    configured = getattr(settings, "public_url", "")
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


class Prefixed(BaseRoute):
    """The routes of one API behind a single prefix check (unlike Mount, paths are left whole)."""

    def __init__(self, prefix: str, routes: list[BaseRoute]):
        self.prefix, self.router = prefix, Router(routes)

    def matches(self, scope) -> tuple[Match, dict]:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == self.prefix or path.startswith(self.prefix + "/")):
            return Match.FULL, {}
        return Match.NONE, {}

    async def handle(self, scope, receive, send) -> None:
        await self.router(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params):
        return self.router.url_path_for(name, **path_params)
