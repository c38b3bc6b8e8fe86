"""The admin API of security (all under /admin, for principals with the admin role on every tenant):
accounts and their API keys, Toshi-issued tokens, policy rules, tenants, the audit trail. And the
public JWKS of Toshi's signing key, so other services can verify the tokens it issues."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi.auth.issuer import issue_token
from toshi.auth.oidc_provider import discovery
from toshi.auth.principal import parse_roles
from toshi.core.errors import BadRequestData, NgsiError, ResourceNotFound
from toshi.core.routing import public_base

MAX_BODY = 100_000


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _security(request: Request):
    return request.app.state.auth.security


async def _body(request: Request) -> dict:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise BadRequestData("request body too large")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequestData("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequestData("the body must be a JSON object")
    return body


async def _optional_body(request: Request) -> dict:
    """The JSON object of a request whose body may be left out ({} then)."""
    return await _body(request) if int(request.headers.get("content-length") or 0) else {}


def _invalid(call, *args, **kwargs):
    """Run a security-store call, turning its ValueError / KeyError into 400 / 404."""
    try:
        return call(*args, **kwargs)
    except KeyError as exc:
        raise ResourceNotFound(str(exc).strip("'\"")) from None
    except ValueError as exc:
        raise BadRequestData(str(exc)) from None


# -- accounts and keys ----------------------------------------------------------------------------

async def accounts(request: Request) -> Response:
    keys = _security(request).keys
    if request.method == "GET":
        return _json([a for a in keys.accounts()])
    body = await _body(request)
    account = _invalid(keys.create_account, body.get("name") or "", body.get("roles") or [], body.get("groups") or [])
    record, secret = _invalid(keys.create_key, account["id"], body.get("expires"))
    return _json({"account": account, "key": record, "apiKey": secret}, 201)


async def account(request: Request) -> Response:
    keys, account_id = _security(request).keys, request.path_params["account"]
    if request.method == "DELETE":
        _invalid(keys.delete_account, account_id)
        return Response(status_code=204)
    if request.method == "PATCH":
        body = await _body(request)
        return _json(_invalid(keys.update_account, account_id, body.get("roles"), body.get("groups")))
    found = keys.account(account_id)
    if found is None:
        raise ResourceNotFound(f"no account {account_id}")
    return _json({**found, "keys": keys.keys(account_id)})


async def account_keys(request: Request) -> Response:
    keys = _security(request).keys
    body = await _optional_body(request)
    record, secret = _invalid(keys.create_key, request.path_params["account"], body.get("expires"))
    return _json({"key": record, "apiKey": secret}, 201)


async def key(request: Request) -> Response:
    keys, key_id = _security(request).keys, request.path_params["key"]
    if request.method == "DELETE":
        _invalid(keys.revoke, key_id)
        return Response(status_code=204)
    found = keys.key(key_id)
    if found is None:
        raise ResourceNotFound(f"no key {key_id}")
    return _json(found)


async def rotate(request: Request) -> Response:
    body = await _optional_body(request)
    grace = body.get("graceSeconds", 0)
    if not isinstance(grace, (int, float)) or grace < 0:
        raise BadRequestData("graceSeconds must be a non-negative number")
    record, secret = _invalid(_security(request).keys.rotate, request.path_params["key"], grace)
    return _json({"key": record, "apiKey": secret}, 201)


# -- tokens ---------------------------------------------------------------------------------------

async def tokens(request: Request) -> Response:
    """Issue a Toshi-signed token (for a service that cannot hold an API key)."""
    security, body = _security(request), await _body(request)
    if not isinstance(body.get("sub"), str) or not body["sub"]:
        raise BadRequestData("sub (the token's subject) is required")
    ttl = body.get("ttl", 3600)
    if not isinstance(ttl, int) or not 0 < ttl <= 31 * 24 * 3600:
        raise BadRequestData("ttl must be a number of seconds up to 31 days")
    roles = _invalid(parse_roles, body.get("roles") or [])
    token = issue_token(security.signing_key, security.settings.auth_issuer, body["sub"], roles,
                        groups=body.get("groups") or (), audience=security.settings.auth_audience, ttl_seconds=ttl)
    return _json({"access_token": token, "token_type": "Bearer", "expires_in": ttl}, 201)


async def jwks(request: Request) -> Response:
    return _json(_security(request).signing_key.jwks())


async def openid_configuration(request: Request) -> Response:
    base = public_base(request, _security(request).settings)  # behind a reverse proxy: the public_url
    return _json({"issuer": _security(request).settings.auth_issuer, "jwks_uri": base + "/.well-known/jwks.json",
                  "id_token_signing_alg_values_supported": ["EdDSA"], **discovery(base)})


# -- policies -------------------------------------------------------------------------------------

async def policies(request: Request) -> Response:
    engine = _security(request).engine
    if request.method == "GET":
        return _json(engine.rules())
    body = await _body(request)
    if "id" in body and engine.rule(body["id"]) is not None:
        raise NgsiError(f"policy {body['id']} exists", status=409, title="Already exists")
    return _json(_invalid(engine.put, body), 201)


async def policy(request: Request) -> Response:
    engine, rule_id = _security(request).engine, request.path_params["policy"]
    if request.method == "GET":
        found = engine.rule(rule_id)
        if found is None:
            raise ResourceNotFound(f"no policy {rule_id}")
        return _json(found)
    if request.method == "DELETE":
        if not engine.delete(rule_id):
            raise ResourceNotFound(f"no policy {rule_id}")
        return Response(status_code=204)
    body = await _body(request)
    return _json(_invalid(engine.put, {**body, "id": rule_id}))


# -- tenants --------------------------------------------------------------------------------------

async def tenants(request: Request) -> Response:
    store = request.app.state.toshi.store
    if request.method == "GET":
        return _json(await store.tenants())
    name = (await _body(request)).get("name")
    if not isinstance(name, str) or len(name) > 64 or not all(c.isalnum() or c in "_-" for c in name):
        raise BadRequestData("name: up to 64 letters, digits, _ or -")
    async with store.transaction(name):
        store.ensure_tenant(name)
    return Response(status_code=201, headers={"Location": f"/admin/tenants/{name}"})


# -- audit ----------------------------------------------------------------------------------------

async def audit(request: Request) -> Response:
    params = request.query_params
    try:
        after, limit = int(params.get("after", 0)), min(int(params.get("limit", 100)), 1000)
    except ValueError:
        raise BadRequestData("after and limit must be integers") from None
    filters = {k: params[k] for k in ("tenant", "principal", "operation", "outcome", "since", "until") if k in params}
    return _json(_invalid(_security(request).audit.records, after, limit, **filters))


async def audit_verify(request: Request) -> Response:
    security = _security(request)
    report = security.audit.verify(security.signing_key)
    return _json({"ok": report.ok, "checked": report.checked,
                  "problems": [{"seq": p.seq, "kind": p.kind, "detail": p.detail} for p in report.problems]})


async def audit_checkpoint(request: Request) -> Response:
    security = _security(request)
    return _json(security.audit.checkpoint(security.signing_key), 201)


def routes() -> list[Route]:
    return [
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/admin/auth/accounts", accounts, methods=["GET", "POST"]),
        Route("/admin/auth/accounts/{account}", account, methods=["GET", "PATCH", "DELETE"]),
        Route("/admin/auth/accounts/{account}/keys", account_keys, methods=["POST"]),
        Route("/admin/auth/keys/{key}", key, methods=["GET", "DELETE"]),
        Route("/admin/auth/keys/{key}/rotate", rotate, methods=["POST"]),
        Route("/admin/auth/tokens", tokens, methods=["POST"]),
        Route("/admin/auth/policies", policies, methods=["GET", "POST"]),
        Route("/admin/auth/policies/{policy}", policy, methods=["GET", "PUT", "DELETE"]),
        Route("/admin/tenants", tenants, methods=["GET", "POST"]),
        Route("/admin/audit", audit, methods=["GET"]),
        Route("/admin/audit/verify", audit_verify, methods=["GET"]),
        Route("/admin/audit/checkpoint", audit_checkpoint, methods=["POST"]),
    ]
