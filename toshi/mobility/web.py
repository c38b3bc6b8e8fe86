"""POST /mobility/plan: plan the open bookings of the tenant onto its on-demand vehicles.

Body (optional): {"at": "2026-07-03T00:00:00Z"} — the planning time (default: now). Answer 200 with
the summary; 501 when the optional solver is not installed; 400 for a malformed body."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi.core.errors import BadRequestData, NgsiError
from toshi.core.times import parse_instant
from toshi.mobility.service import plan_tenant
from toshi.mobility.solver import SOLVER_MISSING, solver_available

PREFIX = "/mobility"


class SolverNotInstalled(NgsiError):
    kind = "OperationNotSupported"
    status = 501
    title = "The optional solver is not installed"


def _tenant(request: Request) -> str:
    return request.headers.get("NGSILD-Tenant", "").strip()


async def plan_route(request: Request) -> Response:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        raise BadRequestData("the body must be JSON") from None
    if not isinstance(body, dict) or set(body) - {"at"}:
        raise BadRequestData('the body is {"at": "<ISO 8601 time>"} or empty')
    at = None
    if "at" in body:
        try:
            at = parse_instant(body["at"])
        except ValueError as exc:
            raise BadRequestData(f"at: {exc}") from None
    if not solver_available():
        raise SolverNotInstalled(SOLVER_MISSING)
    services = request.app.state.toshi
    summary = await plan_tenant(services.store, services.writer, _tenant(request), at)
    return Response(orjson.dumps(summary), media_type="application/json")


def routes() -> list:
    return [Route(f"{PREFIX}/plan", plan_route, methods=["POST"])]
