"""Temporal writes at context sources (ETSI GS CIM 009 v1.8 5.6.11–5.6.16 with context sources, 4.3.6.2,
4.3.6.3): the temporal API's writes are split by registration as the entity API's are (writes.py), under
the operations of Table 4.20-1 that name them (no operation group holds them):

| operation | request |
| --- | --- |
| upsertTemporal | POST /temporal/entities |
| appendAttrsTemporal | POST /temporal/entities/{entityId}/attrs |
| deleteAttrsTemporal | DELETE /temporal/entities/{entityId}/attrs/{attrId} |
| updateAttrsTemporal | PATCH /temporal/entities/{entityId}/attrs/{attrId}/{instanceId} |
| deleteAttrInstanceTemporal | DELETE /temporal/entities/{entityId}/attrs/{attrId}/{instanceId} |
| deleteTemporal | DELETE /temporal/entities/{entityId} |

* exclusive / redirect registrations naming the operation get the attributes they own (their history
  is not written here); what one not naming it owns is neither sent nor written here (422
  OperationNotSupported, or named in the 207); inclusive ones naming it get a copy of what they register
  and it is written here too; auxiliary ones are never written to.
* The source is sent the same path and query as the client's request, the part of the body it owns
  (with the entity's id and type for an upsert), the client's Link @context.
* An attribute instance is on one side only (instanceIds are each broker's own): modifying or deleting
  it succeeds when one side had it, and is 404 when none had.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from toshi.csources.sources import forwarding_allowed
from toshi.csources.store import registrations_of
from toshi.csources.writes import split_write

PREFIX = "/ngsi-ld/v1"
INSTANCE_OPERATIONS = frozenset({"updateAttrsTemporal", "deleteAttrInstanceTemporal"})
LD_JSON = "application/ld+json"


async def temporal_write(request: Request, tenant: str, operation: str, entity_id: str, body, ctx,
                         local: Callable[[dict | None], Awaitable[Response]], *,
                         types: Callable[[], list[str] | None] | None = None, attribute: str | None = None
                         ) -> Response:
    """The temporal write `operation` of the request: its parts sent to the registrations that take them
    and the rest written here by `local(payload)` (the payload as sent, or what is left of it; None: the
    whole entity or attribute); `local(None)` alone when no registration takes part. `body`: the request's
    Body (None: no body); `types()`: the entity's types as this broker knows them (None: its live entity's);
    `attribute`: the attribute of the request's path."""
    data = body.data if body is not None else None
    if not forwarding_allowed(request) or not registrations_of(request.app.state.toshi).active(tenant):
        return await local(data)
    if attribute is not None:  # an operation on one attribute's path: its payload is sent as it came
        sent = data
        if body is not None and body.media != LD_JSON and isinstance(data, dict):
            sent = {k: v for k, v in data.items() if k != "@context"}
        data = {attribute: sent}
    media = body.media if body is not None else "application/json"
    split = await split_write(request, tenant, operation, entity_id, data, ctx, media=media,
                              types=types() if types is not None else None)
    if split is None:
        return await local(body.data if body is not None else None)
    path = _same_path(request)
    if operation == "upsertTemporal":
        return await split.respond("POST", path, local, created=None,
                                   extra={"id": entity_id, "type": body.data.get("type")},
                                   location=f"{PREFIX}/temporal/entities/{entity_id}")
    method = request.method
    return await split.respond(method, path, local, attribute=attribute, either=operation in INSTANCE_OPERATIONS)


def _same_path(request: Request) -> str:
    """The request's path under /ngsi-ld/v1 and its query, as the client sent them (still encoded)."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(request.url.path, safe="/:")
    path = path.split("?", 1)[0]
    path = path[len(PREFIX):] if path.startswith(PREFIX) else path
    return path + ("?" + request.url.query if request.url.query else "")
