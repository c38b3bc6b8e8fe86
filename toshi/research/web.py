"""The extract API: POST /research/extracts (a town official: the admin role in the tenant, the
`NGSILD-Tenant` header) with an extract's spec (toshi/research/extract.py) -> 201 with the CSV, the
manifest and its signature. Each extract goes to the audit trail."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi.consent import consent_service_of
from toshi.core.access import current_actor
from toshi.core.errors import BadRequestData
from toshi.research.extract import check_spec

MAX_BODY = 100_000
PREFIX = "/research"


async def extracts(request: Request) -> Response:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise BadRequestData("request body too large")
    try:
        body = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError:
        raise BadRequestData("the body is not valid JSON") from None
    tenant = (request.headers.get("ngsild-tenant") or "").strip()
    actor = current_actor.get()
    try:
        spec = check_spec(body)
        made = await request.app.state.research.research.extract(consent_service_of(request.app), tenant, spec,
                                                                 actor["principal"] if actor else "local")
    except ValueError as exc:
        raise BadRequestData(str(exc)) from None
    return Response(orjson.dumps({"manifest": made.manifest, "jws": made.jws, "csv": made.csv}), 201,
                    media_type="application/json")


def routes() -> list[Route]:
    return [Route(f"{PREFIX}/extracts", extracts, methods=["POST"])]
