"""POST /health-linkage/indicators: the health service computes the indicator of every check-up it may read.

Read on the caller's read path with its purpose (`Toshi-Purpose: health-linkage`): the consent layer
shows it only the check-ups of residents who consented to it, and notes each read in their access log;
one `HealthRiskIndicator` per check-up is written on the caller's write path, readable by the resident
(their own data) and by whoever they consented to."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi.core.entity import upsert
from toshi.core.times import now_iso
from toshi.formats.ngsild_parse import parse_entity
from toshi.formats.ngsild_render import render_entity
from toshi.health.indicator import indicator
from toshi.jsonld.context import core_context
from toshi.query.planner import EntityQuery
from toshi.query.typeexpr import TypeName

PAGE = 1000


async def indicators(request: Request) -> Response:
    services, tenant = request.app.state.toshi, request.headers.get("NGSILD-Tenant", "").strip()
    ctx = core_context()
    records, offset = [], 0
    while True:
        page, _ = await services.store.query_entities(tenant, EntityQuery(
            types=TypeName(ctx.expand_term("HealthCheckup")), limit=PAGE, offset=offset))
        records.extend(e for e in page if e is not None)
        if len(page) < PAGE:
            break
        offset += PAGE
    now = now_iso()
    edits, levels = [], {}
    for entity in records:
        values = render_entity(entity, ctx, form="keyValues")
        found = indicator(values)
        levels[found["level"] or "unknown"] = levels.get(found["level"] or "unknown", 0) + 1
        payload = {"id": f"urn:ngsi-ld:HealthRiskIndicator:{entity['id'].rsplit(':', 1)[-1]}",
                   "type": "HealthRiskIndicator", "checkup": {"type": "Relationship", "object": entity["id"]},
                   "computedAt": {"type": "Property", "value": now},
                   **{k: {"type": "Property", "value": v} for k, v in found.items() if v is not None}}
        if isinstance(values.get("resident"), str):
            payload["resident"] = {"type": "Relationship", "object": values["resident"]}
        parsed = parse_entity(payload, ctx, now=now)
        edits.append((parsed["id"], lambda before, parsed=parsed: upsert(before, parsed, now, mode="replace")))
    outcomes = await services.writer.apply(tenant, edits) if edits else []
    errors = [o.error for o in outcomes if o.error is not None]
    if errors:
        raise errors[0]
    return Response(orjson.dumps({"checkups": len(records), "levels": levels}), media_type="application/json")


def routes() -> list:
    return [Route("/health-linkage/indicators", indicators, methods=["POST"])]
