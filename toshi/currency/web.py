"""The local currency's API (the town's rules decide who may call it: see feature.py's actions).

    POST /currency/wallets   Idempotency-Key: <key>   {"owner", "kind"}           -> 201 the wallet (200: a retry)
    GET  /currency/wallets/{id}                                                   -> the wallet and balance, to
                                          the town's currency office and to the wallet's owner (their own data)
    POST /currency/payments  Idempotency-Key: <key>   {"from", "to", "amount", "memo"?}  -> 201 (200: a retry)
    POST /currency/grants    Idempotency-Key: <key>   {"to", "amount", "memo"?}   -> points from the issuer
    POST /currency/reconciliations        {"day": "YYYY-MM-DD"?}                  -> the day's check, also
                                          written as the LocalCurrencyLedger entity (totals only)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi.core.entity import upsert
from toshi.core.errors import NgsiError
from toshi.core.times import now_iso
from toshi.currency.ledger import LedgerError
from toshi.formats.ngsild_parse import parse_entity
from toshi.jsonld.context import core_context

PREFIX = "/currency"
LEDGER_ENTITY = "urn:ngsi-ld:LocalCurrencyLedger:town"


def _tenant(request: Request) -> str:
    return request.headers.get("NGSILD-Tenant", "").strip()


def _json(body, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _refused(exc: LedgerError) -> NgsiError:
    kinds = {400: "BadRequestData", 404: "ResourceNotFound", 409: "Conflict"}
    error = NgsiError(str(exc), status=exc.status)
    error.kind = kinds.get(exc.status, "BadRequestData")
    return error


async def _body(request: Request):
    raw = await request.body()
    try:
        return orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        raise _refused(LedgerError("the body must be JSON")) from None


def _ledger(request: Request):
    return request.app.state.currency.ledger


async def wallets(request: Request) -> Response:
    try:
        opened, made = _ledger(request).open_wallet(_tenant(request), request.headers.get("Idempotency-Key"),
                                                    await _body(request))
    except LedgerError as exc:
        raise _refused(exc) from None
    return _json(opened, 201 if made else 200)


async def wallet(request: Request) -> Response:
    tenant, wallet_id = _tenant(request), request.path_params["wallet"]
    try:
        found = _ledger(request).wallet(tenant, wallet_id)
    except LedgerError as exc:
        raise _refused(exc) from None
    if not _may_read(request.scope.get("state", {}).get("principal"), tenant, found):
        raise _refused(LedgerError(f"no wallet {wallet_id}", 404))  # another's wallet: not even that it exists
    return _json(found)


def _may_read(principal, tenant: str, found: dict) -> bool:
    """The consent layer's rule for personal data (toshi/consent/guard.py): the data subject and the
    town's officials (the admin role in the tenant); with authentication off, the local operator."""
    return principal is None or principal.id == found["owner"] or "admin" in principal.roles_in(tenant)


async def _pay(request: Request, grant: bool) -> Response:
    try:
        payment, made = _ledger(request).pay(_tenant(request), request.headers.get("Idempotency-Key"),
                                             await _body(request), grant=grant)
    except LedgerError as exc:
        raise _refused(exc) from None
    return _json(payment, 201 if made else 200)


async def payments(request: Request) -> Response:
    return await _pay(request, grant=False)


async def grants(request: Request) -> Response:
    return await _pay(request, grant=True)


async def reconciliations(request: Request) -> Response:
    body = await _body(request)
    day = body.get("day", datetime.now(UTC).strftime("%Y-%m-%d")) if isinstance(body, dict) else None
    if not isinstance(body, dict) or set(body) - {"day"} or not isinstance(day, str) \
            or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        raise _refused(LedgerError('the body is {"day": "YYYY-MM-DD"} or empty'))
    tenant = _tenant(request)
    report = _ledger(request).reconcile(tenant, day)
    now = now_iso()
    prop = lambda v: {"type": "Property", "value": v}  # noqa: E731
    payload = {"id": LEDGER_ENTITY, "type": "LocalCurrencyLedger", "name": prop("地域通貨 / Local currency"),
               "reconciledDay": prop(day), "balanced": prop(report["balanced"]), "wallets": prop(report["wallets"]),
               "inCirculation": prop(report["inCirculation"]), "payments": prop(report["payments"]),
               "volume": prop(report["volume"]), "granted": prop(report["granted"]), "reconciledAt": prop(now)}
    parsed = parse_entity(payload, core_context(), now=now)
    services = request.app.state.toshi
    outcome = (await services.writer.apply(tenant, [(LEDGER_ENTITY,
                                                      lambda before: upsert(before, parsed, now, mode="replace"))]))[0]
    if outcome.error is not None:
        raise outcome.error
    return _json(report)


def routes() -> list:
    return [Route(f"{PREFIX}/wallets", wallets, methods=["POST"]),
            Route(f"{PREFIX}/wallets/{{wallet}}", wallet, methods=["GET"]),
            Route(f"{PREFIX}/payments", payments, methods=["POST"]),
            Route(f"{PREFIX}/grants", grants, methods=["POST"]),
            Route(f"{PREFIX}/reconciliations", reconciliations, methods=["POST"])]
