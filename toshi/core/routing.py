"""Routing helpers shared by the features' HTTP layers."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.routing import BaseRoute, Match, Route, Router

_SLASH = "\x00"  # an encoded slash inside one path segment, while a route is matched


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


class SegmentRoute(Route):
    """A Route whose path parameters may hold an encoded slash (`%2F`), as an entity id, a type or an
    attribute name that is an IRI does when the client percent-encodes it: Starlette matches the
    decoded path, where that slash would split the segment, so the raw path is matched segment by
    segment instead."""

    def matches(self, scope) -> tuple[Match, dict]:
        raw = scope.get("raw_path") or b""
        if scope["type"] != "http" or b"%2f" not in raw.lower():
            return super().matches(scope)
        segments = [unquote_to_bytes(part).decode("utf-8", "replace").replace("/", _SLASH)
                    for part in raw.split(b"/")]
        path = "/".join(segments)
        if path.replace(_SLASH, "/") != scope["path"]:  # a root_path or a rewritten path: as usual
            return super().matches(scope)
        match, child = super().matches({**scope, "path": path})
        if match is not Match.NONE:
            child["path_params"] = {key: value.replace(_SLASH, "/") if isinstance(value, str) else value
                                    for key, value in child["path_params"].items()}
        return match, child
