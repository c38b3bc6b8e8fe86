"""A resident signs in to the portal with their one resident ID: the portal is a client of Toshi's own
OpenID Connect provider (authorization code + PKCE S256; docs/residents.md §5, docs/security.md).

    GET /portal/login?next=/portal/me    303 to /oidc/authorize with state, nonce and the PKCE challenge;
                                          the verifier, state, nonce and next stay sealed in a cookie
    GET /portal/callback?code&state&iss  the code exchanged at the provider's public token endpoint
                                          (/oidc/token, called in-process like any client calls it)
                                          for an access token, sealed in the session cookie; 303 to next

The portal finds its registration by its redirect URI (`<the page's origin>/portal/callback`, the
`public_url` setting's origin behind a reverse proxy): a town registers it once (`toshi client register --name 町ポータル --redirect-uri https://<town>/portal/callback`).
The access token's subject is the resident id, so the gate and the consent API (/consent/me/...) know
the resident as they know any client holding that token; the session lasts as long as the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import urlencode, urlsplit

import jwt
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from toshi.auth import oidc_client_for
from toshi.core.routing import public_base
from toshi.web.pages import _secure, render
from toshi.web.sessions import BEARER, COOKIE, SIGN_IN_COOKIE, cookie_header, cookies_of

SIGN_IN_SECONDS = 600  # as long as the provider's sign-in form stays valid
CALLBACK = "/portal/callback"
HOME = "/portal/me"


def _redirect_uri(request: Request) -> str:
    """`<the browser's origin>/portal/callback`: behind a reverse proxy, the public_url's."""
    return public_base(request, request.app.state.toshi.settings) + CALLBACK


def _next(value: str | None) -> str:
    """Only a portal page of this site to go to after signing in."""
    if not value or not value.startswith("/portal") or urlsplit(value).netloc or "\\" in value:
        return HOME
    return value


def _failed(request: Request, reason: str, status: int = 400) -> Response:
    response = render(request, "portal_signin_failed.html", status, reason=reason)
    response.headers.append("set-cookie", cookie_header(SIGN_IN_COOKIE, "", 0, _secure(request)))
    return response


async def login(request: Request) -> Response:
    if not request.app.state.toshi.settings.auth:
        return render(request, "portal_signin_failed.html", 409, reason="auth_off")
    redirect_uri = _redirect_uri(request)
    client_id = oidc_client_for(request.app, redirect_uri)
    if client_id is None:
        return render(request, "portal_signin_failed.html", 503, reason="not_registered", redirect_uri=redirect_uri)
    verifier, state, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    sealed = request.app.state.web.sealer.seal_doc(
        {"v": verifier, "s": state, "n": nonce, "c": client_id, "r": redirect_uri,
         "next": _next(request.query_params.get("next"))}, SIGN_IN_COOKIE)
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                       "scope": "openid profile", "state": state, "nonce": nonce, "code_challenge": challenge,
                       "code_challenge_method": "S256"})
    response = RedirectResponse("/oidc/authorize?" + query, 303)
    response.headers.append("set-cookie", cookie_header(SIGN_IN_COOKIE, sealed, SIGN_IN_SECONDS, _secure(request)))
    return response


async def callback(request: Request) -> Response:
    import httpx

    web = request.app.state.web
    pending = web.sealer.open_doc(cookies_of(request.headers.get("cookie", "")).get(SIGN_IN_COOKIE, ""),
                                  SIGN_IN_COOKIE)
    params = request.query_params
    if not pending or not hmac.compare_digest(params.get("state", ""), pending.get("s", "")):
        return _failed(request, "state")  # not the sign-in this browser started (or it expired)
    if params.get("error"):
        return _failed(request, "provider")
    code = params.get("code", "")
    if not code:
        return _failed(request, "provider")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": pending["r"],
            "client_id": pending["c"], "code_verifier": pending["v"]}
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=str(request.base_url)) as client:
        answer = await client.post("/oidc/token", data=form)
    if answer.status_code != 200:
        return _failed(request, "provider")
    tokens = answer.json()
    try:
        # straight from the token endpoint (no network in between): its signature is the provider's
        # business; what this client checks is that the token is for it and for this sign-in
        identity = jwt.decode(tokens["id_token"], options={"verify_signature": False})
        access, lifetime = tokens["access_token"], float(tokens["expires_in"])
    except (KeyError, TypeError, ValueError, jwt.PyJWTError):
        return _failed(request, "provider")
    if identity.get("aud") != pending["c"] or not hmac.compare_digest(str(identity.get("nonce", "")), pending["n"]) \
            or (params.get("iss") and params.get("iss") != identity.get("iss")):
        return _failed(request, "provider")
    sealed, _ = web.sealer.seal(access, lifetime, BEARER, str(identity.get("name") or identity.get("sub", "")))
    response = RedirectResponse(pending.get("next") or HOME, 303)
    response.headers.append("set-cookie", cookie_header(COOKIE, sealed, int(lifetime), _secure(request)))
    response.headers.append("set-cookie", cookie_header(SIGN_IN_COOKIE, "", 0, _secure(request)))
    return response


def routes() -> list:
    return [Route("/portal/login", login, methods=["GET"]), Route(CALLBACK, callback, methods=["GET"])]
