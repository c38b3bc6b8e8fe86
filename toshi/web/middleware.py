"""What the web feature does to every request, before the request gate sees it:

- a request carrying a session cookie (and no credentials of its own) is given the cookie's API key
  (an official) or access token (a resident), so the gate authenticates it like any API client; a change made that way must carry the session's
  CSRF token in `X-CSRF-Token` (the cookie alone proves nothing: a browser sends it by itself);
- the pages get their security headers (a CSP without inline scripts, no framing, no sniffing);
- a page the gate refuses becomes a page: 401 sends the browser to the login form, 403 explains."""

from __future__ import annotations

from urllib.parse import quote

import orjson

from toshi.core.errors import Forbidden
from toshi.web.sessions import BEARER, COOKIE, cookies_of, same

CREDENTIALS = (b"authorization", b"x-auth-token", b"x-api-key")
SAFE = ("GET", "HEAD", "OPTIONS")
PAGES = ("/portal", "/dashboard", "/admin/console")
OWN = "/web/"  # the feature's own paths (login, language, assets) check their forms themselves


def is_page(path: str) -> bool:
    return path == "/" or any(path == p or path.startswith(p + "/") for p in PAGES)


class WebMiddleware:
    def __init__(self, app, web):
        self.app, self.web = app, web

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        cookie = _header(scope, b"cookie")
        if cookie and COOKIE in cookie:
            session = self.web.sealer.open(cookies_of(cookie).get(COOKIE, ""))
            scope.setdefault("state", {})["web_session"] = session
            if session is not None and not path.startswith(OWN) and _header(scope, *CREDENTIALS) is None:
                if scope["method"] not in SAFE and not same(_header(scope, b"x-csrf-token"), session.csrf):
                    return await _forbidden(send, "a change made with a browser session needs its CSRF token "
                                                  "(X-CSRF-Token)")
                credential = ((b"authorization", b"Bearer " + session.api_key.encode()) if session.kind == BEARER
                              else (b"x-api-key", session.api_key.encode()))
                scope["headers"] = [*scope["headers"], credential]
        if not (is_page(path) or path.startswith(OWN)):
            return await self.app(scope, receive, send)
        await self.app(scope, receive, self._page_send(scope, send))

    def _page_send(self, scope, send):
        headers = self.web.security_headers
        replaced = False

        async def page_send(message):
            nonlocal replaced
            if message["type"] == "http.response.start":
                if message["status"] in (401, 403) and is_page(scope["path"]) and scope["method"] in SAFE:
                    replaced = True
                    status, extra, body = self.web.refusal_page(scope, message["status"])
                    await send({"type": "http.response.start", "status": status,
                                "headers": [*headers, *extra, (b"content-length", str(len(body)).encode())]})
                    await send({"type": "http.response.body", "body": body})
                    return
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            elif replaced:
                return
            await send(message)

        return page_send


def login_location(path: str, query: bytes, rejected: bool) -> bytes:
    target = path + ("?" + query.decode("latin-1") if query else "")
    return f"/web/login?next={quote(target, safe='')}{'&error=rejected' if rejected else ''}".encode()


def _header(scope, *names: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key in names:
            return value.decode("latin-1")
    return None


async def _forbidden(send, detail: str) -> None:
    body = orjson.dumps(Forbidden(detail).problem())
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
