"""Planning the on-demand bus for one request of the operator, on the public read and write paths.

Everything is read with the caller's guard (the request gate set it; the caller names its purpose,
`Toshi-Purpose: on-demand-transport`): the consent layer shows the operator only the bookings of
riders who consented to it for that purpose, and notes each read in the rider's access log. The open
bookings (`RideRequest`, status `requested`), the on-demand vehicles (`Vehicle` with `onDemand` true)
and the road graph are read, the problem is solved (solver.py), and the answer is written with the
caller's guard: one `RideAssignment` per booking (assigned with its vehicle and times, or refused with
the reason), one `VehiclePlan` per vehicle (its stops: node, action, time, seats taken; no rider), and
the tenant's `OnDemandService` entity (counts and solve time, for the HQ and dashboard pages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from toshi.core.entity import upsert
from toshi.core.times import now_iso, parse_instant
from toshi.formats.ngsild_parse import parse_entity
from toshi.jsonld.context import core_context
from toshi.mobility.roads import Roads
from toshi.mobility.solver import Bus, Plan, Ride, plan
from toshi.query.planner import EntityQuery
from toshi.query.typeexpr import TypeName

PURPOSE = "on-demand-transport"
PAGE = 1000
DEFAULT_MAX_RIDE_MINUTES = 45
DECLARATIONS = [
    {"id": "mobility-ride-requests", "type": "RideRequest", "subject": "rider", "entityPersonal": True,
     "attributes": {"rider": "personal", "pickup": "location", "dropoff": "location", "pickupFrom": "personal",
                    "pickupUntil": "personal", "dropoffBy": "personal", "passengers": "personal",
                    "maxRideMinutes": "personal", "status": "personal"}},
    {"id": "mobility-ride-assignments", "type": "RideAssignment", "subject": "rider", "entityPersonal": True,
     "attributes": {"rider": "personal", "request": "personal", "vehicle": "personal", "status": "personal",
                    "pickupAt": "personal", "dropoffAt": "personal", "reason": "personal", "plannedAt": "personal"}},
]


def iri(term: str) -> str:
    return core_context().expand_term(term)


def value(entity: dict, term: str):
    found = entity.get("attrs", {}).get(iri(term)) or []
    item = next((i for i in found if "datasetId" not in i), found[0] if found else None)
    return None if item is None else item.get("object", item.get("value"))


async def read_all(store, tenant: str, type_name: str) -> list[dict]:
    """Every entity of a type the current reader may see (the store applies the read path)."""
    found, offset = [], 0
    while True:
        page, _ = await store.query_entities(tenant, EntityQuery(types=TypeName(iri(type_name)), limit=PAGE,
                                                                 offset=offset))
        found.extend(e for e in page if e is not None)
        if len(page) < PAGE:
            return found
        offset += PAGE


async def read_roads(store, tenant: str) -> Roads:
    roads = Roads()
    for segment in await read_all(store, tenant, "RoadSegment"):
        a, b, length = value(segment, "startNode"), value(segment, "endNode"), value(segment, "length")
        if isinstance(a, str) and isinstance(b, str) and isinstance(length, int | float) and length >= 0:
            roads.add(a, b, float(length))
    return roads


def _seconds(text, origin: datetime) -> int:
    return round((parse_instant(text) - origin).total_seconds())


def ride_of(entity: dict, origin: datetime) -> Ride:
    """A booking as the solver's Ride (ValueError saying what is wrong)."""
    pickup, dropoff = value(entity, "pickup"), value(entity, "dropoff")
    if not isinstance(pickup, str) or not isinstance(dropoff, str):
        raise ValueError("pickup and dropoff must name road nodes (Relationships)")
    try:
        earliest = _seconds(value(entity, "pickupFrom"), origin)
        latest = _seconds(value(entity, "pickupUntil"), origin)
        by = value(entity, "dropoffBy")
    except (TypeError, ValueError):
        raise ValueError("pickupFrom and pickupUntil must be ISO 8601 times") from None
    max_ride = value(entity, "maxRideMinutes") or DEFAULT_MAX_RIDE_MINUTES
    passengers = value(entity, "passengers") or 1
    if isinstance(passengers, bool) or not isinstance(passengers, int) or passengers < 1:
        raise ValueError("passengers must be a whole number of at least 1")
    if isinstance(max_ride, bool) or not isinstance(max_ride, int | float) or max_ride <= 0:
        raise ValueError("maxRideMinutes must be a positive number")
    if latest < 0:
        raise ValueError("its pickup window has passed")
    try:
        dropoff_by = _seconds(by, origin) if by else latest + round(max_ride * 60)
    except ValueError:
        raise ValueError("dropoffBy must be an ISO 8601 time") from None
    return Ride(entity["id"], pickup, dropoff, max(0, earliest), latest, dropoff_by, passengers, round(max_ride * 60))


def bus_of(entity: dict, origin: datetime, horizon: int) -> Bus:
    depot, seats = value(entity, "depot"), value(entity, "capacity")
    if not isinstance(depot, str):
        raise ValueError("depot must name a road node")
    if isinstance(seats, bool) or not isinstance(seats, int) or seats < 1:
        raise ValueError("capacity must be a whole number of seats")
    start = _seconds(value(entity, "serviceFrom"), origin) if value(entity, "serviceFrom") else 0
    end = _seconds(value(entity, "serviceUntil"), origin) if value(entity, "serviceUntil") else horizon
    return Bus(entity["id"], depot, seats, max(0, start), end)


async def plan_tenant(store, writer, tenant: str, at: datetime | None = None) -> dict:
    """Plan every open booking the caller may see onto the on-demand vehicles; returns the summary."""
    origin = (at or datetime.now(UTC)).replace(microsecond=0)
    requests = [e for e in await read_all(store, tenant, "RideRequest") if (value(e, "status") or "requested") ==
                "requested"]
    rides, refused, riders = [], {}, {}
    for entity in requests:
        riders[entity["id"]] = value(entity, "rider")
        try:
            rides.append(ride_of(entity, origin))
        except ValueError as exc:
            refused[entity["id"]] = str(exc)
    horizon = max([r.dropoff_by for r in rides], default=0) + 3600
    buses = []
    for entity in await read_all(store, tenant, "Vehicle"):
        if value(entity, "onDemand") is True:
            try:
                buses.append(bus_of(entity, origin, horizon))
            except ValueError:
                continue
    roads = await read_roads(store, tenant)
    if buses:
        result = plan(rides, buses, roads.seconds)
    else:
        result = Plan(refused={r.id: "no on-demand vehicle is in service" for r in rides})
    result.refused.update(refused)
    await _write(writer, tenant, origin, result, riders, buses)
    return {"requests": len(requests), "assigned": len(result.assigned), "refused": len(result.refused),
            "vehicles": len(buses), "solveSeconds": round(result.seconds, 3), "plannedAt": _iso(origin)}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _local(entity_id: str) -> str:
    return entity_id.rsplit(":", 1)[-1]


async def _write(writer, tenant: str, origin: datetime, result: Plan, riders: dict, buses: list[Bus]) -> None:
    at = lambda seconds: _iso(origin + timedelta(seconds=seconds))  # noqa: E731
    prop = lambda v: {"type": "Property", "value": v}  # noqa: E731
    planned = _iso(origin)
    payloads = []
    for request_id, rider in riders.items():
        entity = {"id": f"urn:ngsi-ld:RideAssignment:{_local(request_id)}", "type": "RideAssignment",
                  "request": {"type": "Relationship", "object": request_id}, "plannedAt": prop(planned)}
        if isinstance(rider, str):
            entity["rider"] = {"type": "Relationship", "object": rider}
        if request_id in result.assigned:
            bus, pickup, dropoff = result.assigned[request_id]
            entity.update(status=prop("assigned"), vehicle={"type": "Relationship", "object": bus},
                          pickupAt=prop(at(pickup)), dropoffAt=prop(at(dropoff)))
        else:
            entity.update(status=prop("refused"), reason=prop(result.refused.get(request_id, "not planned")))
        payloads.append(entity)
    for bus in buses:
        stops = [{"node": s.node, "action": s.action, "at": at(s.begins), "load": s.load}
                 for s in result.routes.get(bus.id, [])]
        payloads.append({"id": f"urn:ngsi-ld:VehiclePlan:{_local(bus.id)}", "type": "VehiclePlan",
                         "vehicle": {"type": "Relationship", "object": bus.id}, "stops": prop(stops),
                         "plannedAt": prop(planned)})
    payloads.append({"id": "urn:ngsi-ld:OnDemandService:mobility", "type": "OnDemandService",
                     "name": prop("オンデマンド交通 / On-demand bus"), "purpose": prop(PURPOSE),
                     "requests": prop(len(riders)), "assigned": prop(len(result.assigned)),
                     "refused": prop(len(result.refused)), "vehicles": prop(len(buses)),
                     "solveSeconds": prop(round(result.seconds, 3)), "plannedAt": prop(planned)})
    now = now_iso()
    ctx = core_context()
    edits = []
    for payload in payloads:
        parsed = parse_entity(payload, ctx, now=now)
        edits.append((parsed["id"], lambda before, parsed=parsed: upsert(before, parsed, now, mode="replace")))
    outcomes = await writer.apply(tenant, edits)
    errors = [o.error for o in outcomes if o.error is not None]
    if errors:
        raise errors[0]
