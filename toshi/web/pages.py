"""The pages: server-rendered shells (Jinja2) in the visitor's language. What they show, their
scripts read from the public APIs with the browser's session; the handlers here read nothing but
the request (and, for the dashboard, the roles the request gate found)."""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from toshi.core.routing import public_base
from toshi.web import basemap
from toshi.web.messages import COOKIE as LANG_COOKIE
from toshi.web.messages import LANGUAGES, Words, language_of
from toshi.web.middleware import login_location
from toshi.web.sessions import (
    BEARER,
    COOKIE,
    LOGIN_COOKIE,
    MAX_KEY_LENGTH,
    cookie_header,
    cookies_of,
    new_token,
    same,
)

STATIC = Path(__file__).parent / "static"
OFFICIAL_ROLES = frozenset({"admin", "operator"})
YEAR = 365 * 24 * 3600


@functools.cache
def templates():
    from jinja2 import Environment, PackageLoader, select_autoescape  # at the first page (start-up time)

    return Environment(loader=PackageLoader("toshi.web", "templates"), autoescape=select_autoescape(),
                       trim_blocks=True, lstrip_blocks=True)


def _web(request: Request):
    return request.app.state.web


def _lang(request: Request) -> str:
    return language_of(cookies_of(request.headers.get("cookie", "")), request.headers.get("accept-language", ""))


def _session(request: Request):
    return request.scope.get("state", {}).get("web_session")


def _tenant(request: Request) -> str:
    tenant = request.query_params.get("tenant", "")
    return tenant if len(tenant) <= 64 and all(c.isalnum() or c in "_-" for c in tenant) else ""


def _purpose(request: Request) -> str:
    """The purpose the officials' pages read for (`?purpose=`, sent as Toshi-Purpose): a token."""
    purpose = request.query_params.get("purpose", "")
    return purpose if len(purpose) <= 100 and all(c.isalnum() or c in "_-.:/" for c in purpose) else ""


def render(request: Request, template: str, status: int = 200, **values) -> HTMLResponse:
    lang = _lang(request)
    settings = request.app.state.toshi.settings
    session = _session(request)
    resident = session is not None and session.kind == BEARER
    config = {"lang": lang, "tenant": _tenant(request), "auth": settings.auth, "csrf": session.csrf if session else "",
              "admin": _admin(request), "resident": resident, "purpose": _purpose(request),
              "mapCenter": settings.web_map_center, "tileAttribution": settings.web_tile_attribution}
    html = templates().get_template(template).render(
        t=Words(lang), lang=lang, other_lang="en" if lang == "ja" else "ja", path=request.url.path,
        here=_here(request), auth=settings.auth, logged_in=session is not None, csrf=config["csrf"],
        config=config, resident=resident, resident_name=session.name if resident else "",
        tenant_query=("?tenant=" + quote(config["tenant"])) if config["tenant"] else "", **values)
    return HTMLResponse(html, status_code=status)


def _admin(request: Request) -> bool:
    """Whether the visitor may call the admin API (the pages leave out what would be refused)."""
    if not request.app.state.toshi.settings.auth:
        return True
    principal = getattr(request.state, "principal", None)
    return principal is not None and "admin" in principal.roles.get("*", ())


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + ("?" + query if query else "")


def _official(request: Request) -> Response | None:
    """None when the visitor may use the officials' pages; else the login redirect or the refusal."""
    if not request.app.state.toshi.settings.auth:
        return None
    principal = getattr(request.state, "principal", None)
    if principal is None or principal.kind == "anonymous":
        return RedirectResponse(login_location(request.url.path, request.url.query.encode(), False).decode(), 303)
    if not principal.roles_in(_tenant(request)) & OFFICIAL_ROLES:
        return render(request, "refused.html", 403)
    return None


# -- pages ----------------------------------------------------------------------------------------

async def home(request: Request) -> Response:
    return render(request, "home.html")


async def portal(request: Request) -> Response:
    return render(request, "portal.html")


# the resident's own pages: what the consent API (/consent/me/...) answers for the signed-in resident
MY_PAGES = {"/portal/me": "my.html", "/portal/me/consents": "my_consents.html",
            "/portal/me/access-log": "my_access_log.html", "/portal/me/data": "my_data.html"}


async def my_page(request: Request) -> Response:
    """A page of "my data": for a resident signed in through the portal (else to the sign-in first)."""
    template = MY_PAGES[request.url.path]
    if not request.app.state.toshi.settings.auth:
        return render(request, "portal_signin_failed.html", 409, reason="auth_off")
    session = _session(request)
    if session is None or session.kind != BEARER:
        return RedirectResponse("/portal/login?next=" + quote(_here(request), safe=""), 303)
    return render(request, template)


async def dashboard(request: Request) -> Response:
    return _official(request) or render(request, "dashboard.html")


async def hq(request: Request) -> Response:
    return _official(request) or render(request, "hq.html")


async def console(request: Request) -> Response:
    return render(request, "console.html")  # under /admin/: the gate lets only '*:admin' through


async def console_import(request: Request) -> Response:
    """The CSV import of the open-data catalogue: its script checks the file through the catalogue's
    admin API, shows the report per row and column, and writes only when the official confirms."""
    return render(request, "console_import.html")  # under /admin/ as the console


# -- login, logout, language ------------------------------------------------------------------------

MAX_FORM = 4096


async def _form(request: Request) -> dict[str, str]:
    """The fields of a small urlencoded form (login, logout): first value of each."""
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    return {name: values[0] for name, values in parse_qs(body.decode("utf-8", "replace")).items()}


def _next(value: str | None) -> str:
    """Only a path on this site (never another origin) to go to after login."""
    if not value or not value.startswith("/") or value.startswith("//") or urlsplit(value).netloc:
        return "/dashboard"
    return value


def _secure(request: Request) -> bool:
    """Cookies are Secure unless the browser's address is plain HTTP on loopback (behind a reverse
    proxy: the public_url's)."""
    url = urlsplit(public_base(request, request.app.state.toshi.settings))
    host = (url.hostname or "").strip("[]")
    return url.scheme == "https" or host not in ("127.0.0.1", "::1", "localhost")


async def login_form(request: Request) -> Response:
    token = new_token()
    response = render(request, "login.html", next=_next(request.query_params.get("next")), form_csrf=token,
                      error=request.query_params.get("error", ""))
    response.headers.append("set-cookie", cookie_header(LOGIN_COOKIE, token, 3600, _secure(request)))
    return response


async def login(request: Request) -> Response:
    form = await _form(request)
    token = cookies_of(request.headers.get("cookie", "")).get(LOGIN_COOKIE)
    if not same(form.get("csrf", ""), token):
        return render(request, "login.html", 403, next=_next(form.get("next")), form_csrf="", error="csrf")
    api_key = form.get("api_key", "").strip()
    if not api_key or len(api_key) > MAX_KEY_LENGTH:
        return render(request, "login.html", 400, next=_next(form.get("next")), form_csrf="", error="missing")
    lifetime = request.app.state.toshi.settings.web_session_hours * 3600
    sealed, _ = _web(request).sealer.seal(api_key, lifetime)
    response = RedirectResponse(_next(form.get("next")), 303)
    response.headers.append("set-cookie", cookie_header(COOKIE, sealed, int(lifetime), _secure(request)))
    response.headers.append("set-cookie", cookie_header(LOGIN_COOKIE, "", 0, _secure(request)))
    return response


async def logout(request: Request) -> Response:
    form = await _form(request)
    session = _session(request)
    if session is not None and not same(form.get("csrf", ""), session.csrf):
        return render(request, "refused.html", 403)
    response = RedirectResponse("/portal" if session is not None and session.kind == BEARER else "/", 303)
    response.headers.append("set-cookie", cookie_header(COOKIE, "", 0, _secure(request)))
    return response


async def language(request: Request) -> Response:
    chosen = request.query_params.get("to")
    response = RedirectResponse(_next(request.query_params.get("next") or "/"), 303)
    if chosen in LANGUAGES:
        response.headers.append("set-cookie", f"{LANG_COOKIE}={chosen}; Path=/; Max-Age={YEAR}; SameSite=Lax")
    return response


# -- base map -------------------------------------------------------------------------------------

async def map_style(request: Request) -> Response:
    settings = request.app.state.toshi.settings
    style = basemap.style(settings, public_base(request, settings))
    return Response(orjson.dumps(style), media_type="application/json")


async def map_layer(request: Request) -> Response:
    name = request.path_params["name"]
    settings = request.app.state.toshi.settings
    if name not in basemap.present_layers(settings.data_dir):
        return Response(status_code=404)
    body = (basemap.folder(settings.data_dir) / f"{name}.geojson").read_bytes()
    return Response(body, media_type="application/geo+json")


class Assets(StaticFiles):
    """The pages' scripts, styles and vendored libraries, cached for a day."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["cache-control"] = "public, max-age=86400"
        return response


def routes() -> list:
    return [
        Route("/", home, methods=["GET"]),
        Route("/portal", portal, methods=["GET"]),
        *[Route(path, my_page, methods=["GET"]) for path in MY_PAGES],
        Route("/dashboard", dashboard, methods=["GET"]),
        Route("/dashboard/hq", hq, methods=["GET"]),
        Route("/admin/console", console, methods=["GET"]),
        Route("/admin/console/import", console_import, methods=["GET"]),
        Route("/web/login", login_form, methods=["GET"]),
        Route("/web/login", login, methods=["POST"]),
        Route("/web/logout", logout, methods=["POST"]),
        Route("/web/lang", language, methods=["GET"]),
        Route("/web/basemap/style.json", map_style, methods=["GET"]),
        Route("/web/basemap/{name}.geojson", map_layer, methods=["GET"]),
        Mount("/web/static", app=Assets(directory=STATIC), name="web-static"),
    ]
