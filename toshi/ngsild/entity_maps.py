"""Entity maps (ETSI GS CIM 009 v1.8/v1.9 clauses 5.2.39, 5.14, 6.32, 6.34; Table 6.4.3.2-1/-2).

An EntityMap names the entities that are candidates of one query — `entityMap`: entity id -> the
places that hold it, `"@none"` for this broker's own store — so that a client can page through a
result set that stays fixed while entities are created meanwhile. It is made

- by `GET /entityMaps` (the query's URL parameters) or `POST /entityMaps` (a Query body), answered with
  201, the EntityMap and its location in the `NGSILD-EntityMap` header (clause 5.14.4);
- by a query (`GET /entities`, `POST /entityOperations/query`) or a retrieve with `entityMap=true`, or
  with an `NGSILD-EntityMap` header naming a map that is unknown or expired (clauses 5.7.1.4, 5.7.2.4);
  a query then answers 201 instead of 200.

A query carrying the header of a live map reads only the map's entities (the query's filters still
apply to their current state, so a deleted entity or one that no longer matches drops out; one created
later never comes in) and answers the same location. Maps are kept per tenant in a feature table (so
every process on one PostgreSQL database sees them and they survive a restart until they expire),
read, updated (`expiresAt`) and deleted at `/entityMaps/{id}`. A map lives `entityMapLifetime`
(an ISO 8601 duration; default one hour), never more than a day, whatever a client asks, at creation
or by PATCH; an expired map is unknown (404) and its row is deleted when next met, and expired maps
of a tenant are swept whenever that tenant makes a new one.

A map holds only ids the reader who made it could see (its query runs on the read path); reading it
back shows only the ids the reader asking now may see (each entity judged through the read path, an
entity no longer there is left out for a reader with restrictions): default deny.

Distributed operations (`linkedMaps`, entities held by context sources) are not built: a map records
the local entities of a query, and paging with it reads those (docs/ngsi-ld.md)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toshi.core.access import judging, sight, visible
from toshi.core.errors import BadRequestData, ResourceNotFound, TooManyResults
from toshi.core.expiry import hide_expired, is_expired
from toshi.core.times import format_instant, now_iso, parse_duration, utc_datetime
from toshi.formats import ngsild_http as http
from toshi.formats.ngsild_params import (
    body_ordering,
    bool_param,
    entity_query,
    options_of,
    ordering_of,
    query_from_body,
)
from toshi.store import FeatureTables, atomic, attached
from toshi.temporal import temporal_candidates

PREFIX = "/ngsi-ld/v1"
HEADER = "NGSILD-EntityMap"
LOCAL = "@none"  # the key of entities held by this broker (clause 5.2.39)
DEFAULT_LIFETIME = timedelta(hours=1)
MAX_LIFETIME = timedelta(days=1)  # the broker sets the actual expiry (Table 6.4.3.2-1)
MAX_ENTRIES = 100_000  # a query matching more entities cannot be mapped (403 TooManyResults)
ALL = 10**9
IN_LIST = 500  # up to this many mapped ids are given to the store as an id list, more as a predicate
OUTPUT_ONLY = {"id", "type", "entityMap", "linkedMaps", "@context"}  # ignored in an update (5.14.2.4)
CREATE_OPTIONS = {"keyValues", "concise", "normalized", "sysAttrs", "simplified", "count", "idsOnly"}  # ignored

SCHEMA = """
CREATE TABLE IF NOT EXISTS ngsild_entity_maps (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    entity_map TEXT NOT NULL,
    linked_maps TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX IF NOT EXISTS ngsild_entity_maps_expiry ON ngsild_entity_maps (tenant, expires_at)
"""


@dataclasses.dataclass
class EntityMap:
    id: str
    expires_at: str  # UTC, YYYY-MM-DDTHH:MM:SS.mmmZ (compares as text)
    entity_map: dict[str, list[str]]  # entity id -> where it is held, in the order of the query's answer
    linked_maps: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def location(self) -> str:
        return f"{PREFIX}/entityMaps/{self.id}"


class EntityMaps:
    """The maps of every tenant, in the store's database."""

    def __init__(self, store):
        self._tables = FeatureTables(store, SCHEMA)

    def get(self, tenant: str, map_id: str) -> EntityMap | None:
        """The live map, or None (unknown, or expired: then its row goes)."""
        row = self._tables.db.execute(
            "SELECT expires_at, entity_map, linked_maps FROM ngsild_entity_maps WHERE tenant=? AND id=?",
            (tenant, map_id)).fetchone()
        if row is None:
            return None
        if row[0] <= now_iso():
            self.delete(tenant, map_id)
            return None
        return EntityMap(map_id, row[0], orjson.loads(row[1]), orjson.loads(row[2]))

    def put(self, tenant: str, entity_map: EntityMap) -> None:
        db = self._tables.db
        with atomic(db):
            db.execute("DELETE FROM ngsild_entity_maps WHERE tenant=? AND expires_at<=?", (tenant, now_iso()))
            db.execute("INSERT INTO ngsild_entity_maps (tenant, id, expires_at, entity_map, linked_maps) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (tenant, entity_map.id, entity_map.expires_at, orjson.dumps(entity_map.entity_map).decode(),
                        orjson.dumps(entity_map.linked_maps).decode()))

    def set_expiry(self, tenant: str, map_id: str, expires_at: str) -> None:
        db = self._tables.db
        with atomic(db):
            db.execute("UPDATE ngsild_entity_maps SET expires_at=? WHERE tenant=? AND id=?",
                       (expires_at, tenant, map_id))

    def delete(self, tenant: str, map_id: str) -> None:
        db = self._tables.db
        with atomic(db):
            db.execute("DELETE FROM ngsild_entity_maps WHERE tenant=? AND id=?", (tenant, map_id))


def _maps(request: Request) -> EntityMaps:
    return attached(request.app.state.toshi.store, EntityMaps)


# -- lifetimes ---------------------------------------------------------------------------------------

def _lifetime(params: QueryParams) -> timedelta:
    """`entityMapLifetime` (a positive ISO 8601 duration; else 400), bounded by MAX_LIFETIME."""
    raw = params.get("entityMapLifetime")
    if raw is None:
        return DEFAULT_LIFETIME
    try:
        duration = parse_duration(raw)
    except BadRequestData:
        raise BadRequestData(f"entityMapLifetime must be an ISO 8601 duration such as PT1H, got {raw!r}") from None
    lifetime = timedelta(days=30 * duration.months, milliseconds=duration.ms)
    if lifetime <= timedelta(0):
        raise BadRequestData(f"entityMapLifetime must be a positive duration, got {raw!r}")
    return min(lifetime, MAX_LIFETIME)


def _bounded(expires_at: str) -> str:
    """A requested expiry (UTC text) no later than MAX_LIFETIME from now."""
    latest = format_instant(datetime.now(UTC) + MAX_LIFETIME)
    return min(expires_at, latest)


# -- making maps -------------------------------------------------------------------------------------

async def _mapped_ids(request: Request, tenant: str, query, ordering) -> list[str]:
    """The ids of every local entity the query matches, as the reader may see them, in answer order
    (the query's `ordering` when given, else creation order). They are judged, not handed over: a map shows ids."""
    store = request.app.state.toshi.store
    everything = dataclasses.replace(query, limit=ALL, offset=0, count=False, extra=list(query.extra))
    await hide_expired(store, tenant, everything)
    mark = judging.set(True)
    try:
        found, _ = await store.query_entities(tenant, everything)
    finally:
        judging.reset(mark)
    if ordering is not None:
        found = ordering.sort(found)
    if len(found) > MAX_ENTRIES:
        raise TooManyResults(f"The query matches more than {MAX_ENTRIES} entities, more than an entity map holds")
    return [entity["id"] for entity in found]


def _new_map(ids: list[str], lifetime: timedelta) -> EntityMap:
    return EntityMap(f"urn:ngsi-ld:EntityMap:{uuid.uuid4()}", format_instant(datetime.now(UTC) + lifetime),
                     {entity_id: [LOCAL] for entity_id in ids})


def _referenced_id(header: str) -> str:
    """The map id an NGSILD-EntityMap header names: its resource URI (relative or absolute) or the id."""
    value = header.strip()
    marker = "/entityMaps/"
    return unquote(value.rsplit(marker, 1)[1]) if marker in value else value


@dataclasses.dataclass(frozen=True)
class InUse:
    """The map a query or retrieve used: its location, and whether this request made it."""

    location: str
    created: bool

    def mark(self, response: Response, *, created_status: int = 200) -> Response:
        """The answer with the map's location (NGSILD-EntityMap), and `created_status` if made now."""
        response.headers[HEADER] = self.location
        if self.created:
            response.status_code = created_status
        return response


async def for_query(request: Request, tenant: str, query, ordering) -> InUse | None:
    """Query Entities with entity maps (5.7.2.4, Table 6.4.3.2-1/-2): None when the request asks for
    none; else the map in use: a live one named by the header, `query` then narrowed to its entities,
    or a new one of this query (whose answer is left as it is: context sources still contribute)."""
    asked = _asked(request, tenant)
    if asked is None:
        return None
    if asked.live is None:  # made of this very query: its answer is the map's entities already
        return asked.make(await _mapped_ids(request, tenant, query, ordering))
    _narrow(query, list(asked.live.entity_map))
    return InUse(asked.live.location, False)


async def for_temporal_query(request: Request, tenant: str, query, values) -> InUse | None:
    """Query Temporal Evolution of Entities with entity maps, as Query Entities has them (5.7.2.4): the
    map an EntityMap of a temporal query (5.14.5) is made for. None when the request asks for none; a
    live map named by the header narrows `query` to its entities; else (entityMap=true, or a map
    unknown or expired) a new map of this temporal query (`values`: its temporal query; 400 without
    one, as for /temporal/entityMaps), whose answer is left as it is."""
    asked = _asked(request, tenant)
    if asked is None:
        return None
    if asked.live is None:
        ids = temporal_candidates(request.app.state.toshi.store, tenant, query, values)
        if len(ids) > MAX_ENTRIES:
            raise TooManyResults(f"The query matches more than {MAX_ENTRIES} entities, more than an entity map holds")
        return asked.make(ids)
    _narrow(query, list(asked.live.entity_map))
    return InUse(asked.live.location, False)


def for_purge(request: Request, tenant: str, query) -> InUse | None:
    """Purge Entities with an NGSILD-EntityMap header: only the live map's entities (of them, those the
    query's filters match) are purged. A map unknown or expired is 404 and nothing is purged (a new map
    would not say which entities the client meant); None without the header."""
    header = request.headers.get(HEADER)
    if header is None:
        return None
    live = _maps(request).get(tenant, _referenced_id(header))
    if live is None:
        raise ResourceNotFound(f"EntityMap {header.strip()} not found (nothing purged)")
    _narrow(query, list(live.entity_map))
    return InUse(live.location, False)


def _narrow(query, ids: list[str]) -> None:
    """Only the mapped entities (and, of them, those the query still matches)."""
    if query.ids is not None:
        asked = set(query.ids)
        ids = [i for i in ids if i in asked]
    if len(ids) <= IN_LIST:
        query.ids = ids
    else:
        mapped = frozenset(ids)
        query.ids = None
        query.extra = [*query.extra, lambda entity: entity["id"] in mapped]


async def for_retrieve(request: Request, tenant: str, entity: dict | None) -> InUse | None:
    """Retrieve Entity with entity maps (5.7.1.4, Table 6.5.3.1-2): the live map the header names, else
    (entityMap=true, or a map unknown or expired) a new one holding the entity when it is held here."""
    asked = _asked(request, tenant)
    if asked is None:
        return None
    if asked.live is not None:
        return InUse(asked.live.location, False)
    return asked.make([entity["id"]] if entity is not None else [])


@dataclasses.dataclass
class _Asked:
    """What a query or retrieve asks of entity maps: the live map its header names (None: a map is to
    be made, of `lifetime`, in `tenant`)."""

    maps: EntityMaps
    tenant: str
    live: EntityMap | None
    lifetime: timedelta

    def make(self, ids: list[str]) -> InUse:
        made = _new_map(ids, self.lifetime)
        self.maps.put(self.tenant, made)
        return InUse(made.location, True)


def _asked(request: Request, tenant: str) -> _Asked | None:
    """None when the request neither sends the NGSILD-EntityMap header nor asks entityMap=true."""
    header = request.headers.get(HEADER)
    wanted = bool_param(request.query_params, "entityMap")
    lifetime = _lifetime(request.query_params)
    if header is None and not wanted:
        return None
    maps = _maps(request)
    live = maps.get(tenant, _referenced_id(header)) if header is not None else None
    return _Asked(maps, tenant, live, lifetime)


# -- the /entityMaps resources -----------------------------------------------------------------------

def _query_object(data) -> None:
    """400 unless the payload of a map made from a Query body is a Query object."""
    if not isinstance(data, dict) or data.get("type") != "Query":
        raise BadRequestData('The payload must be a Query object ({"type": "Query", ...})')


def _ignored(params: QueryParams) -> QueryParams:
    """The parameters without those 5.14.4.3 says are ignored in creating a map (the page's limit)."""
    return QueryParams([(k, v) for k, v in params.multi_items() if k not in ("limit", "offset", "count")])


async def create_for_query(request: Request) -> Response:
    """GET /entityMaps (6.34.3.1): Create EntityMap for Query Entities from URL parameters."""
    tenant = await http.existing_tenant(request)
    media = http.negotiate(request)
    ctx = await http.context_for(request)
    params = request.query_params
    options_of(params, CREATE_OPTIONS)
    query = entity_query(_ignored(params), ctx, request.app.state.toshi.settings)  # too wide: 400 (5.14.4.4)
    return await _created(request, tenant, query, ctx, media, ordering=ordering_of(params, ctx))


async def create_for_query_body(request: Request) -> Response:
    """POST /entityMaps (6.34.3.2): Create EntityMap for Query Entities from a Query."""
    tenant = await http.existing_tenant(request)
    media = http.negotiate(request)
    body = await http.read_body(request)
    _query_object(body.data)
    if body.data.get("temporalQ") is not None:
        raise BadRequestData("temporalQ belongs to a temporal query")
    ctx = await http.context_for(request, body.context, from_link=False)
    params = request.query_params
    options_of(params, CREATE_OPTIONS)
    query = query_from_body(body.data, ctx, request.app.state.toshi.settings, _ignored(params))  # too wide: 400
    return await _created(request, tenant, query, ctx, media, ordering=body_ordering(body.data, params, ctx))


async def create_for_temporal_query(request: Request) -> Response:
    """GET /temporal/entityMaps (6.35.3.1): Create EntityMap for Query Temporal Evolution of Entities
    (5.14.5) from URL parameters; a temporal query is required."""
    tenant = await http.existing_tenant(request)
    media = http.negotiate(request)
    ctx = await http.context_for(request)
    params = request.query_params
    query = entity_query(_ignored(params), ctx, request.app.state.toshi.settings)  # too wide: 400 (5.14.5)
    ids = temporal_candidates(request.app.state.toshi.store, tenant, query, params)
    return await _created(request, tenant, query, ctx, media, ids)


async def create_for_temporal_query_body(request: Request) -> Response:
    """POST /temporal/entityMaps (6.35.3.2): the same from a Query whose temporalQ holds the temporal query."""
    tenant = await http.existing_tenant(request)
    media = http.negotiate(request)
    body = await http.read_body(request)
    _query_object(body.data)
    temporal_q = body.data.get("temporalQ") or {}
    if not isinstance(temporal_q, dict):
        raise BadRequestData("temporalQ must be an object")
    ctx = await http.context_for(request, body.context, from_link=False)
    params = request.query_params
    query = query_from_body(body.data, ctx, request.app.state.toshi.settings, _ignored(params))
    ids = temporal_candidates(request.app.state.toshi.store, tenant, query, {**dict(params), **temporal_q})
    return await _created(request, tenant, query, ctx, media, ids)


async def _created(request: Request, tenant: str, query, ctx, media: str, ids: list[str] | None = None,
                   ordering=None) -> Response:
    if ids is None:
        ids = await _mapped_ids(request, tenant, query, ordering)
    elif len(ids) > MAX_ENTRIES:
        raise TooManyResults(f"The query matches more than {MAX_ENTRIES} entities, more than an entity map holds")
    made = _new_map(ids, _lifetime(request.query_params))
    _maps(request).put(tenant, made)
    return await http.json_response(request, _rendered(made), status=201, media=media, ctx=ctx,
                                    headers={HEADER: made.location})


def _map_id(request: Request) -> str:
    return http.uri_param(request, "map_id", "EntityMap id")


def _live(request: Request, tenant: str, map_id: str) -> EntityMap:
    found = _maps(request).get(tenant, map_id)
    if found is None:
        raise ResourceNotFound(f"EntityMap {map_id} not found")
    return found


def _rendered(entity_map: EntityMap) -> dict:
    return {"id": entity_map.id, "type": "EntityMap", "expiresAt": entity_map.expires_at,
            "entityMap": entity_map.entity_map, "linkedMaps": entity_map.linked_maps}


async def _seen(request: Request, tenant: str, entity_map: EntityMap) -> EntityMap:
    """The map as the current reader may see it: only ids of entities the read path shows them (judged,
    not handed over); a reader with no restriction sees the map as made."""
    if sight() is None:
        return entity_map
    store = request.app.state.toshi.store
    shown: dict[str, list[str]] = {}
    mark = judging.set(True)
    try:
        for entity_id, places in entity_map.entity_map.items():
            entity = await store.get_entity(tenant, entity_id)
            if entity is not None and not is_expired(entity) and visible(entity) is not None:
                shown[entity_id] = places
    finally:
        judging.reset(mark)
    return dataclasses.replace(entity_map, entity_map=shown)


async def retrieve_map(request: Request) -> Response:
    """GET /entityMaps/{id} (5.14.1, 6.32.3.1)."""
    tenant = http.tenant_of(request)
    map_id = _map_id(request)
    media = http.negotiate(request)
    ctx = await http.context_for(request)
    options_of(request.query_params, set())
    found = await _seen(request, tenant, _live(request, tenant, map_id))
    return await http.json_response(request, _rendered(found), media=media, ctx=ctx)


async def update_map(request: Request) -> Response:
    """PATCH /entityMaps/{id} (5.14.2, 6.32.3.2): a fragment; `expiresAt` is what a client may change
    (bounded by MAX_LIFETIME), output-only members are ignored, any other member is 400."""
    tenant = http.tenant_of(request)
    map_id = _map_id(request)
    body = await http.read_body(request, allowed=(http.JSON, http.LD_JSON, http.MERGE_PATCH))
    options_of(request.query_params, set())
    if not isinstance(body.data, dict):
        raise BadRequestData("The payload must be an EntityMap fragment (a JSON object)")
    unknown = set(body.data) - OUTPUT_ONLY - {"expiresAt"}
    if unknown:
        raise BadRequestData(f"An EntityMap has no member {', '.join(sorted(unknown))}")
    expires_at = None
    if "expiresAt" in body.data:
        expires_at = _bounded(utc_datetime(body.data["expiresAt"], "expiresAt"))
    _live(request, tenant, map_id)
    if expires_at is not None:
        _maps(request).set_expiry(tenant, map_id, expires_at)
    return http.no_content()


async def delete_map(request: Request) -> Response:
    """DELETE /entityMaps/{id} (5.14.3, 6.32.3.3)."""
    tenant = http.tenant_of(request)
    map_id = _map_id(request)
    options_of(request.query_params, set())
    _live(request, tenant, map_id)
    _maps(request).delete(tenant, map_id)
    return http.no_content()


def routes() -> list[Route]:
    return [
        Route(f"{PREFIX}/entityMaps", create_for_query, methods=["GET"]),
        Route(f"{PREFIX}/entityMaps", create_for_query_body, methods=["POST"]),
        Route(f"{PREFIX}/entityMaps/{{map_id}}", retrieve_map, methods=["GET"]),
        Route(f"{PREFIX}/entityMaps/{{map_id}}", update_map, methods=["PATCH"]),
        Route(f"{PREFIX}/entityMaps/{{map_id}}", delete_map, methods=["DELETE"]),
        Route(f"{PREFIX}/temporal/entityMaps", create_for_temporal_query, methods=["GET"]),
        Route(f"{PREFIX}/temporal/entityMaps", create_for_temporal_query_body, methods=["POST"]),
    ]
