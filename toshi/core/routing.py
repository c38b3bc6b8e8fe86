"""Routing helpers shared by the features' HTTP layers."""

from __future__ import annotations

from starlette.routing import BaseRoute, Match, Router


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
