"""The endpoints of passkeys (toshi/auth/passkeys.py):

    POST   /oidc/me/passkeys/options    a signed-in resident: the options for navigator.credentials.create
    POST   /oidc/me/passkeys            the created credential (its toJSON()): 201
    GET    /oidc/me/passkeys            their passkeys; DELETE /oidc/me/passkeys/{id} removes one
    POST   /oidc/authorize/passkey/options   the sign-in page: the options for navigator.credentials.get
    POST   /oidc/authorize/passkey      {"request", "csrf", "credential"}: {"redirect"} with a code, as a password sign-in
    GET    /oidc/passkey.js             the sign-in page's script

Without the optional extra `passkeys` installed these answer 501 and the page offers no passkey.
"""

from __future__ import annotations

import hmac
from pathlib import Path

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi.auth import passkeys
from toshi.auth.oidc_web import CSRF_COOKIE, _auth, _back, _signed_in_resident
from toshi.auth.web import _json
from toshi.core.errors import BadRequestData, NgsiError, ResourceNotFound
from toshi.core.routing import public_base

SCRIPT = (Path(__file__).parent / "static" / "passkey.js").read_bytes()
MAX_BODY = 64_000


def _store(request: Request) -> passkeys.Passkeys:
    if not passkeys.available():
        raise NgsiError("passkeys need the optional extra: pip install 'toshi[passkeys]'", status=501,
                        title="Not implemented")
    return _auth(request).passkeys


def _party(request: Request) -> tuple[str, str]:
    return passkeys.relying_party(public_base(request, _auth(request).security.settings))


async def _json_body(request: Request) -> dict:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if len(raw) <= MAX_BODY else None
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise BadRequestData(f"the body must be a JSON object of up to {MAX_BODY} bytes")
    return body


def _audit(request: Request, principal: str, operation: str, target: str, outcome: str, **detail) -> None:
    _auth(request).security.audit.append([{"principal": principal, "tenant": "", "operation": operation,
                                           "target": target, "outcome": outcome, "detail": detail}])


# -- a signed-in resident's passkeys ----------------------------------------------------------------

async def registration_options(request: Request) -> Response:
    store, resident_id = _store(request), await _signed_in_resident(request)
    return _json(store.registration_options(_auth(request).residents.get(resident_id), _party(request)[0]))


async def my_passkeys(request: Request) -> Response:
    store, resident_id = _store(request), await _signed_in_resident(request)
    if request.method == "GET":
        return _json(store.of(resident_id))
    rp_id, origin = _party(request)
    try:
        created = store.register(resident_id, await _json_body(request), rp_id, origin)
    except passkeys.PasskeyError as exc:
        _audit(request, resident_id, "passkey registration", "", "denied:400", reason=str(exc))
        raise BadRequestData(str(exc)) from None
    _audit(request, resident_id, "passkey registration", created["id"], "ok")
    return _json(created, 201)


async def my_passkey(request: Request) -> Response:
    store, resident_id = _store(request), await _signed_in_resident(request)
    if not store.remove(resident_id, request.path_params["passkey"]):
        raise ResourceNotFound(f"{resident_id} has no passkey {request.path_params['passkey']}")
    _audit(request, resident_id, "passkey removal", request.path_params["passkey"], "ok")
    return Response(status_code=204)


# -- signing in --------------------------------------------------------------------------------------

async def sign_in_options(request: Request) -> Response:
    return _json(_store(request).sign_in_options(_party(request)[0]))


async def sign_in(request: Request) -> Response:
    store, auth = _store(request), _auth(request)
    body = await _json_body(request)
    try:
        checked = auth.provider.unseal(body.get("request") or "")
    except ValueError as exc:
        return _json({"error": "request", "detail": str(exc)}, 400)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not isinstance(body.get("csrf"), str) or not hmac.compare_digest(cookie, body["csrf"]):
        return _json({"error": "csrf"}, 403)
    rp_id, origin = _party(request)
    try:
        resident_id = store.authenticate(body.get("credential"), rp_id, origin)
    except passkeys.PasskeyError as exc:
        _audit(request, "anonymous", "resident sign-in", checked.client_id, "denied:401", reason=str(exc),
               method="passkey")
        return _json({"error": "passkey"}, 401)
    resident = auth.residents.get(resident_id)
    if resident is None:
        return _json({"error": "passkey"}, 401)
    code = auth.provider.issue_code(checked, resident_id)
    _audit(request, resident_id, "resident sign-in", checked.client_id, "ok", acr=resident["assurance"],
           method="passkey")
    location = _back(checked.redirect_uri, {"code": code, "state": checked.state,
                                            "iss": auth.provider.issuer}).headers["location"]
    response = _json({"redirect": location})
    response.headers.append("set-cookie", f"{CSRF_COOKIE}=; Path=/oidc; Max-Age=0")
    return response


async def script(request: Request) -> Response:
    return Response(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


def routes() -> list[Route]:
    return [
        Route("/oidc/me/passkeys/options", registration_options, methods=["POST"]),
        Route("/oidc/me/passkeys", my_passkeys, methods=["GET", "POST"]),
        Route("/oidc/me/passkeys/{passkey}", my_passkey, methods=["DELETE"]),
        Route("/oidc/authorize/passkey/options", sign_in_options, methods=["POST"]),
        Route("/oidc/authorize/passkey", sign_in, methods=["POST"]),
        Route("/oidc/passkey.js", script, methods=["GET"]),
    ]
