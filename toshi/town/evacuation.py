"""Evacuation guidance (避難誘導): a reference service on Toshi's public APIs only.

It subscribes to EvacuationOrder (and to shelters' live counts, and to its own guidance's arrivals)
with a notification endpoint of its own. When an order is issued for a district it reads the
district's residents — Toshi gives it only those who consented to `evacuation-guidance` (their other
attributes, and everyone else, are hidden by the read path) — and writes one EvacuationGuidance per
resident: the open shelter for the order's hazard with the lowest cost, where cost is the road
distance (Dijkstra over the town's RoadSegments) raised by the shelter's congestion, among shelters
with room. A shelter's room counts everyone already guided there plus the people its counter sees
beyond those who arrived with guidance (walk-ins), so guidance never sends more people to a shelter
than its capacity."""

from __future__ import annotations

import asyncio
import logging
import math

from aiohttp import web

from toshi.town.client import Api
from toshi.town.roads import RoadGraph

log = logging.getLogger("toshi.town.evacuation")
PURPOSE = "evacuation-guidance"
WALKING_METRES_PER_MINUTE = 60.0  # 3.6 km/h: an ageing town's pace on hill roads
CONGESTION_WEIGHT = 1.5           # a half-full shelter counts as 75 % farther
OPEN = "open"
NO_ROOM = ("no open shelter with room can be reached by road: stay on an upper floor (垂直避難) and wait "
           "for the town's call")


def short(entity_id: str) -> str:
    return entity_id.rsplit(":", 1)[-1]


class Shelter:
    def __init__(self, entity: dict, node: str, distances: dict[str, float]):
        self.id = entity["id"]
        self.capacity = int(entity.get("capacity") or 0)
        self.counted = int(entity.get("evacueeTotal") or 0)
        self.status = entity.get("openingStatus")
        self.hazards = set(entity.get("disasterTypes") or [])
        self.node, self.distances = node, distances
        self.guided = 0   # guidance sent here
        self.arrived = 0  # of those, checked in

    def occupied(self) -> int:
        walk_ins = max(0, self.counted - self.arrived)
        return self.guided + walk_ins

    def room(self) -> int:
        return self.capacity - self.occupied()


class EvacuationService:
    def __init__(self, api: Api, *, host: str = "127.0.0.1", port: int = 0):
        self.api, self.host, self.port = api, host, port
        self.graph = RoadGraph()
        self.shelters: dict[str, Shelter] = {}
        self.handled: set[str] = set()       # orders already answered
        self.guidance: dict[str, str] = {}   # guidance id -> shelter id (or "")
        self.arrivals: set[str] = set()
        self.lock = asyncio.Lock()
        self.runner: web.AppRunner | None = None
        self.notifications = 0

    # -- start-up ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._read_roads()
        await self._read_shelters()
        await self._read_guidance()
        app = web.Application()
        app.router.add_post("/notify", self._notified)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        endpoint = {"uri": f"http://{self.host}:{self.port}/notify", "accept": "application/json"}
        await forget_old_subscriptions(self.api, endpoint["uri"])
        for entity_type, watched in (("EvacuationOrder", None), ("EvacuationShelter", ["evacueeTotal", "openingStatus"]),
                                     ("EvacuationGuidance", ["status"])):
            subscription = {"type": "Subscription", "entities": [{"type": entity_type}],
                            "subscriptionName": f"避難誘導 / evacuation guidance: {entity_type}",  # the dashboard's list
                            "notification": {"endpoint": endpoint, "format": "keyValues"}}
            if watched:
                subscription["watchedAttributes"] = watched
            await self.api.subscribe(subscription)
        for order in await self.api.entities("EvacuationOrder"):
            await self.on_order(order)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _read_roads(self) -> None:
        for node in await self.api.entities("RoadNode", attrs="location"):
            self.graph.add_node(node["id"], *node["location"]["coordinates"])
        for segment in await self.api.entities("RoadSegment", attrs="startNode,endNode,length"):
            self.graph.add_edge(segment["startNode"], segment["endNode"], float(segment["length"]))

    async def _read_shelters(self) -> None:
        for entity in await self.api.entities("EvacuationShelter"):
            node = self.graph.nearest_node(*entity["location"]["coordinates"])
            self.shelters[entity["id"]] = Shelter(entity, node, self.graph.distances_from(node))

    async def _read_guidance(self) -> None:
        """On a restart, what it already sent (its own guidance, readable under the same consents)."""
        for guidance in await self.api.entities("EvacuationGuidance"):
            self._remember(guidance)

    def _remember(self, guidance: dict) -> None:
        shelter = guidance.get("shelter") or ""
        if guidance["id"] not in self.guidance:
            self.guidance[guidance["id"]] = shelter
            self.handled.add(guidance.get("order", ""))
            if shelter in self.shelters:
                self.shelters[shelter].guided += 1
        if guidance.get("status") == "arrived" and guidance["id"] not in self.arrivals and shelter in self.shelters:
            self.arrivals.add(guidance["id"])
            self.shelters[shelter].arrived += 1

    # -- notifications ----------------------------------------------------------------------------

    async def _notified(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.notifications += 1
        for entity in body.get("data", []):
            types = entity.get("type")
            types = types if isinstance(types, list) else [types]
            if "EvacuationOrder" in types:
                asyncio.get_running_loop().create_task(self.on_order(entity))
            elif "EvacuationShelter" in types and entity["id"] in self.shelters:
                shelter = self.shelters[entity["id"]]
                shelter.counted = int(entity.get("evacueeTotal", shelter.counted) or 0)
                shelter.status = entity.get("openingStatus", shelter.status)
            elif "EvacuationGuidance" in types:
                self._remember(entity)
        return web.Response(status=204)

    # -- guidance ---------------------------------------------------------------------------------

    async def on_order(self, order: dict) -> None:
        async with self.lock:
            if order["id"] in self.handled or order.get("status") != "issued":
                return
            self.handled.add(order["id"])
            await self._refresh_shelters()
            hazard = order.get("hazard") or "flood"
            districts = order.get("targetDistricts") or []
            districts = districts if isinstance(districts, list) else [districts]
            written = 0
            for district in districts:
                residents = await self.api.entities("Resident", q=f'district=="{district}"', attrs="homeNode,district")
                batch = [self._guide(order, hazard, r) for r in sorted(residents, key=lambda r: r["id"])
                         if r.get("homeNode") in self.graph.position]
                await self.api.upsert(batch)
                written += len(batch)
            log.info("order %s: guidance for %d residents", order["id"], written)

    async def _refresh_shelters(self) -> None:
        for entity in await self.api.entities("EvacuationShelter", attrs="evacueeTotal,openingStatus"):
            if entity["id"] in self.shelters:
                self.shelters[entity["id"]].counted = int(entity.get("evacueeTotal") or 0)
                self.shelters[entity["id"]].status = entity.get("openingStatus")

    def choose(self, node: str, hazard: str) -> tuple[Shelter | None, float]:
        best, best_cost, best_distance = None, math.inf, math.inf
        for shelter in self.shelters.values():
            distance = shelter.distances.get(node, math.inf)
            if (shelter.status != OPEN or hazard not in shelter.hazards or shelter.room() < 1
                    or distance == math.inf or shelter.capacity < 1):
                continue
            cost = distance * (1 + CONGESTION_WEIGHT * shelter.occupied() / shelter.capacity)
            if cost < best_cost:
                best, best_cost, best_distance = shelter, cost, distance
        return best, best_distance

    def _guide(self, order: dict, hazard: str, resident: dict) -> dict:
        shelter, distance = self.choose(resident["homeNode"], hazard)
        guidance_id = f"urn:ngsi-ld:EvacuationGuidance:{short(order['id'])}-{short(resident['id'])}"
        entity = {"id": guidance_id, "type": "EvacuationGuidance",
                  "resident": {"type": "Relationship", "object": resident["id"]},
                  "order": {"type": "Relationship", "object": order["id"]},
                  "guidedAt": {"type": "Property", "value": order.get("issuedAt")}}
        if shelter is None:
            entity["status"] = {"type": "Property", "value": "noShelterAvailable"}
            entity["reason"] = {"type": "Property", "value": NO_ROOM}
            self.guidance[guidance_id] = ""
            return entity
        shelter.guided += 1
        self.guidance[guidance_id] = shelter.id
        entity.update({"status": {"type": "Property", "value": "guided"},
                       "shelter": {"type": "Relationship", "object": shelter.id},
                       "distance": {"type": "Property", "value": round(distance), "unitCode": "MTR"},
                       "walkingMinutes": {"type": "Property",
                                          "value": math.ceil(distance / WALKING_METRES_PER_MINUTE)}})
        return entity


async def forget_old_subscriptions(api: Api, endpoint: str) -> None:
    """Subscriptions this service made on an earlier run (same endpoint): replaced on each start."""
    for subscription in (await api.call("GET", "/ngsi-ld/v1/subscriptions", params={"limit": 1000})).json():
        if subscription.get("notification", {}).get("endpoint", {}).get("uri") == endpoint:
            await api.call("DELETE", f"/ngsi-ld/v1/subscriptions/{subscription['id']}")
