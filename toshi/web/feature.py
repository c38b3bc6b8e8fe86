"""The pages declared as a feature: the portal (with the resident's sign-in and "my data"), the
dashboard and HQ view, the admin console, the login form, and the assets they need — all on the
API's port, shipped in the package."""

from __future__ import annotations

from starlette.requests import Request

from toshi.core.feature import Action, Feature
from toshi.core.signing import SigningKey, key_file
from toshi.web import basemap, pages, portal_login
from toshi.web.middleware import WebMiddleware, login_location
from toshi.web.sessions import COOKIE, Sealer, cookie_header


class Web(Feature):
    name = "web"
    # /admin/console is under the admin API's rule (the '*:admin' role); the dashboard needs a reader
    # the gate knows, then an official's role (pages.py); the rest is public.
    actions = (Action("/", None, exact=True), Action("/portal", None), Action("/web/", None),
               Action("/dashboard", "read"))

    def __init__(self, services):
        super().__init__(services)
        self.sealer = Sealer(SigningKey.load_or_create(key_file(services.settings.data_dir)))
        self.security_headers = _security_headers(services.settings)

    def routes(self) -> list:
        return [*portal_login.routes(), *pages.routes()]

    def middleware(self) -> list:
        return [(WebMiddleware, {"web": self})]

    def refusal_page(self, scope, status: int) -> tuple[int, list, bytes]:
        """What a browser gets for a page the gate refused: the login form (401) or a refusal page."""
        had_session = scope.get("state", {}).get("web_session") is not None
        if status == 401:
            headers = [(b"location", login_location(scope["path"], scope.get("query_string", b""), had_session))]
            if had_session:  # its key was not accepted (revoked, expired): forget it
                headers.append((b"set-cookie", cookie_header(COOKIE, "", 0, False).encode()))
            return 303, headers, b""
        response = pages.render(Request(scope), "refused.html", 403)
        return 403, [(b"content-type", b"text/html; charset=utf-8")], response.body


def _security_headers(settings) -> list[tuple[bytes, bytes]]:
    tiles = basemap.tile_origin(settings)
    extra = f" {tiles}" if tiles else ""
    policy = ("default-src 'none'; script-src 'self'; style-src 'self'; "
              f"img-src 'self' data: blob:{extra}; connect-src 'self'{extra}; worker-src 'self' blob:; "
              "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return [(b"content-security-policy", policy.encode()), (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"), (b"x-frame-options", b"DENY")]
