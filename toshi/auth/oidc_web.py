"""The OpenID Connect provider's endpoints (toshi/auth/oidc_provider.py) and the admin API of residents
and clients.

    GET  /oidc/authorize     the sign-in form (Japanese first) for a checked authorization request
    POST /oidc/authorize     resident id (or its short name) and password: 303 to the client's redirect URI with a code
    POST /oidc/token         authorization_code + code_verifier -> access token and ID token
    GET|POST /oidc/userinfo  the resident's claims, for the access token
    GET  /oidc/me/apps       the apps the signed-in resident signed in to; DELETE /oidc/me/apps/{client} removes one
    /admin/auth/residents (and .../{id}/links: linked external identities), /admin/auth/clients
                             town officials (admin of every tenant)

An unknown client or a redirect URI not registered for it is answered here, never sent to that URI;
other errors of an authorization request go back to the redirect URI (RFC 6749 §4.1.2.1).
"""

from __future__ import annotations

import functools
import hmac
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from toshi.auth import passkeys
from toshi.auth.oidc_provider import OAuthError
from toshi.auth.residents import LinkTaken
from toshi.auth.web import _body, _invalid, _json
from toshi.core.errors import BadRequestData, Forbidden, NgsiError, ResourceNotFound, Unauthorized

MAX_FORM = 8192
CSRF_COOKIE = "toshi_oidc_csrf"
# a resident may type the short name after this prefix (accounts hold no separate login name)
PERSON = "urn:ngsi-ld:Person:"
AMBIGUOUS = object()


@functools.cache
def _templates():
    from jinja2 import Environment, FileSystemLoader, select_autoescape  # at the first page (start-up time)

    return Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                       autoescape=select_autoescape(["html"]))


def _auth(request: Request):
    return request.app.state.auth


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded body; a parameter sent twice is refused (RFC 6749 §3.1)."""
    body = await request.body()
    if len(body) > MAX_FORM:
        raise OAuthError("invalid_request", "the request is too large")
    return _single(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))


def _single(values: dict[str, list[str]]) -> dict[str, str]:
    if repeated := [name for name, found in values.items() if len(found) > 1]:
        raise OAuthError("invalid_request", f"parameter(s) sent more than once: {', '.join(sorted(repeated))}")
    return {name: found[0] for name, found in values.items()}


def _page(template: str, status: int, form_action: str = "", **values) -> HTMLResponse:
    html = _templates().get_template(template).render(**values)
    # no scripts but the passkey button's own file; the web feature's stylesheet only (no inline
    # styles); the form may post here and be redirected to the client
    csp = (f"default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src data:; "
           f"form-action 'self' {form_action}".strip() + "; frame-ancestors 'none'; base-uri 'none'")
    return HTMLResponse(html, status, headers={"Content-Security-Policy": csp, "X-Frame-Options": "DENY",
                                               "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def _refused(detail: str) -> HTMLResponse:
    return _page("oidc_error.html", 400, detail=detail)


def _back(redirect_uri: str, params: dict) -> RedirectResponse:
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return RedirectResponse(redirect_uri + separator + urlencode({k: v for k, v in params.items() if v is not None}),
                            303)


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or (request.url.hostname or "") not in ("127.0.0.1", "localhost", "::1")


async def authorize(request: Request) -> Response:
    provider = _auth(request).provider
    try:
        params = _single(parse_qs(request.url.query, keep_blank_values=True))
        _, redirect_uri = provider.client_and_redirect(params)
    except (OAuthError, ValueError) as exc:
        return _refused(getattr(exc, "description", None) or str(exc))
    try:
        checked = provider.authorization_request(params)
    except OAuthError as exc:
        return _back(redirect_uri, {**exc.body(), "state": params.get("state"), "iss": provider.issuer})
    return _sign_in_form(request, provider.seal(checked), checked, status=200)


def _sign_in_form(request: Request, sealed: str, checked, status: int, error: str = "",
                  resident_id: str = "") -> HTMLResponse:
    csrf = secrets.token_urlsafe(24)
    client = _auth(request).provider.clients.get(checked.client_id)
    response = _page("sign_in.html", status, form_action=_origin(checked.redirect_uri), sealed=sealed, csrf=csrf,
                     client=client["name"] if client else checked.client_id, error=error, resident_id=resident_id,
                     passkeys=passkeys.available())
    secure = "; Secure" if _secure(request) else ""
    response.headers.append("set-cookie", f"{CSRF_COOKIE}={csrf}; Path=/oidc; HttpOnly; SameSite=Strict; "
                                          f"Max-Age=600{secure}")
    return response


def _account_id(residents, typed: str):
    """The account a resident means: the id as typed, or a short name (no ':') as the part after
    `urn:ngsi-ld:Person:` when exactly one of the two is an account (AMBIGUOUS when both are)."""
    if not typed or ":" in typed:
        return typed
    full = PERSON + typed
    exact, expanded = residents.get(typed) is not None, residents.get(full) is not None
    if exact and expanded:
        return AMBIGUOUS
    return full if expanded else typed


async def sign_in(request: Request) -> Response:
    auth = _auth(request)
    provider = auth.provider
    try:
        form = await _form(request)
        checked = provider.unseal(form.get("request", ""))
    except (OAuthError, ValueError) as exc:
        return _refused(getattr(exc, "description", None) or str(exc))
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, form.get("csrf", "")):
        return _sign_in_form(request, form["request"], checked, 403, "csrf")
    typed = form.get("resident_id", "").strip()
    resident_id = _account_id(auth.residents, typed)
    if resident_id is AMBIGUOUS:
        auth.security.audit.append([{"principal": typed, "tenant": "", "operation": "resident sign-in",
                                     "target": checked.client_id, "outcome": "denied:401",
                                     "detail": {"reason": "short name of more than one account"}}])
        return _sign_in_form(request, form["request"], checked, 401, "ambiguous", typed)
    resident = auth.residents.authenticate(resident_id, form.get("password", "")) if resident_id else None
    if resident is None:
        auth.security.audit.append([{"principal": resident_id or "anonymous", "tenant": "",
                                     "operation": "resident sign-in", "target": checked.client_id,
                                     "outcome": "denied:401", "detail": {"reason": "wrong id or password"}}])
        return _sign_in_form(request, form["request"], checked, 401, "credentials", typed)
    code = provider.issue_code(checked, resident["id"])
    auth.security.audit.append([{"principal": resident["id"], "tenant": "", "operation": "resident sign-in",
                                 "target": checked.client_id, "outcome": "ok", "detail": {"acr": resident["assurance"]}}])
    response = _back(checked.redirect_uri, {"code": code, "state": checked.state, "iss": provider.issuer})
    response.headers.append("set-cookie", f"{CSRF_COOKIE}=; Path=/oidc; Max-Age=0")
    return response


async def token(request: Request) -> Response:
    auth = _auth(request)
    try:
        body = auth.provider.exchange(await _form(request), auth.residents.get)
        status = 200
    except OAuthError as exc:
        body, status = exc.body(), exc.status
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="toshi"'
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


async def userinfo(request: Request) -> Response:
    auth = _auth(request)
    scheme, _, credential = (request.headers.get("authorization") or "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not credential.strip():
            raise OAuthError("invalid_token", "an access token is required (Authorization: Bearer)", 401)
        claims = auth.provider.access_claims(credential.strip())
        resident = auth.residents.get(claims["sub"])
        if resident is None:
            raise OAuthError("invalid_token", "the resident's account no longer exists", 401)
    except OAuthError as exc:
        description = exc.description.replace('"', "'").replace("\\", "/").replace("\n", " ")
        challenge = f'Bearer error="{exc.error}", error_description="{description}"'
        return Response(status_code=401, headers={"WWW-Authenticate": challenge})
    claims_out = {"sub": resident["id"], "acr": resident["assurance"]}
    if "profile" in claims.get("scope", "").split():
        claims_out["name"] = resident["name"]
    return _json(claims_out)


# -- the resident's own apps ----------------------------------------------------------------------

async def _signed_in_resident(request: Request) -> str:
    """The resident a bearer token is of (Toshi's sign-in or a linked external identity)."""
    auth = _auth(request)
    principal = await auth.security.identifier.principal(request.headers)
    if principal.kind == "anonymous":
        raise Unauthorized("sign in as the resident (a bearer token whose subject is your resident id)")
    if principal.kind != "token" or auth.residents.get(principal.id) is None:
        raise Forbidden(f"{principal.id} is not a resident account")
    return principal.id


async def my_apps(request: Request) -> Response:
    resident_id = await _signed_in_resident(request)
    return _json(_auth(request).provider.apps.of(resident_id))


async def my_app(request: Request) -> Response:
    resident_id, client_id = await _signed_in_resident(request), request.path_params["client"]
    if not _auth(request).provider.apps.remove(resident_id, client_id):
        raise ResourceNotFound(f"{resident_id} has not signed in to {client_id}")
    _auth(request).security.audit.append([{"principal": resident_id, "tenant": "", "operation": "resident app removal",
                                           "target": client_id, "outcome": "ok"}])
    return Response(status_code=204)


# -- admin ----------------------------------------------------------------------------------------

async def residents(request: Request) -> Response:
    store = _auth(request).residents
    if request.method == "GET":
        return _json(store.all())
    body = await _body(request)
    return _json(_invalid(store.create, body.get("id"), body.get("name"), body.get("assurance"),
                          body.get("password")), 201)


async def resident(request: Request) -> Response:
    store, resident_id = _auth(request).residents, request.path_params["resident"]
    if request.method == "PATCH":
        body = await _body(request)
        if "assurance" in body:
            _invalid(store.set_assurance, resident_id, body["assurance"])
        if "password" in body:
            _invalid(store.set_password, resident_id, body["password"])
    found = store.get(resident_id)
    if found is None:
        raise ResourceNotFound(f"no resident {resident_id}")
    return _json(found)


async def resident_links(request: Request) -> Response:
    """POST {"issuer", "subject"} links an external identity; DELETE ?issuer&subject unlinks it."""
    auth, resident_id = _auth(request), request.path_params["resident"]
    if request.method == "DELETE":
        params = request.query_params
        if not params.get("issuer") or not params.get("subject"):
            raise BadRequestData("issuer and subject (query parameters) name the link to remove")
        _invalid(auth.residents.unlink, resident_id, params["issuer"], params["subject"])
        return Response(status_code=204)
    body = await _body(request)
    before = auth.residents.get(resident_id)
    try:
        after = _invalid(auth.residents.link, resident_id, body.get("issuer"), body.get("subject"),
                         auth.security.settings.auth_issuer)
    except LinkTaken as exc:
        raise NgsiError(str(exc), status=409, title="Conflict") from None
    new = before is not None and len(after["links"]) > len(before["links"])
    return _json(after, 201 if new else 200)


async def clients(request: Request) -> Response:
    registry = _auth(request).provider.clients
    if request.method == "GET":
        return _json(registry.all())
    body = await _body(request)
    uris = body.get("redirect_uris")
    if not isinstance(uris, list):
        uris = None
    return _json(_invalid(registry.register, body.get("name"), uris), 201)


async def client(request: Request) -> Response:
    registry, client_id = _auth(request).provider.clients, request.path_params["client"]
    if request.method == "DELETE":
        if not registry.delete(client_id):
            raise ResourceNotFound(f"no client {client_id}")
        return Response(status_code=204)
    found = registry.get(client_id)
    if found is None:
        raise ResourceNotFound(f"no client {client_id}")
    return _json(found)


def routes() -> list[Route]:
    return [
        Route("/oidc/authorize", authorize, methods=["GET"]),
        Route("/oidc/authorize", sign_in, methods=["POST"]),
        Route("/oidc/token", token, methods=["POST"]),
        Route("/oidc/userinfo", userinfo, methods=["GET", "POST"]),
        Route("/admin/auth/residents", residents, methods=["GET", "POST"]),
        Route("/admin/auth/residents/{resident}", resident, methods=["GET", "PATCH"]),
        Route("/admin/auth/residents/{resident}/links", resident_links, methods=["POST", "DELETE"]),
        Route("/oidc/me/apps", my_apps, methods=["GET"]),
        Route("/oidc/me/apps/{client}", my_app, methods=["DELETE"]),
        Route("/admin/auth/clients", clients, methods=["GET", "POST"]),
        Route("/admin/auth/clients/{client}", client, methods=["GET", "DELETE"]),
    ]
