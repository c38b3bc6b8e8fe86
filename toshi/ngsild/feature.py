"""The NGSI-LD entity API (entities, attributes, batch, discovery) declared as a feature."""

from __future__ import annotations

from toshi.core.expiry import ExpiryFilter
from toshi.core.feature import Action, Feature, tables_of
from toshi.ngsild import entity_maps, identity, live
from toshi.ngsild.parameters import KnownParameters
from toshi.ngsild.routes import routes
from toshi.ngsild.tenancy import EchoTenant
from toshi.ngsild.transient import Transients

LD = "/ngsi-ld/v1"
POST = frozenset({"POST"})


class NgsiLd(Feature):
    name = "ngsild"
    # the town's identifier (Context Source identity); the entity maps (docs/ngsi-ld.md)
    tables = tables_of([identity.SCHEMA, entity_maps.SCHEMA])
    actions = (
        Action(f"{LD}/entities", "create", methods=POST, exact=True),
        Action(f"{LD}/entityOperations/create", "create", methods=POST, exact=True),
        Action(f"{LD}/entityOperations/delete", "delete", methods=POST, exact=True),
        Action(f"{LD}/entityOperations/query", "read", methods=POST, exact=True),
        Action(f"{LD}/entityMaps", "read", methods=POST, exact=True),  # a query making an entity map
        Action(f"{LD}/temporal/entityMaps", "read", methods=POST, exact=True),
    )

    def __init__(self, services):
        super().__init__(services)
        self.transients = Transients(services)

    def middleware(self) -> list:
        # the tenant named in every answer (6.3.14); unknown URL parameters under /ngsi-ld/v1 are InvalidRequest
        return [(EchoTenant, {}), (KnownParameters, {})]

    def routes(self) -> list:
        return [*routes(), *entity_maps.routes(), *live.routes()]

    def listeners(self) -> list:
        return [self.transients.record]

    # entity maps for the temporal API (another feature: it reaches them as `app.state.ngsild`)
    async def entity_map_of_temporal_query(self, request, tenant: str, query, values):
        return await entity_maps.for_temporal_query(request, tenant, query, values)

    async def entity_map_of_retrieve(self, request, tenant: str, entity: dict | None):
        return await entity_maps.for_retrieve(request, tenant, entity)

    def read_filters(self) -> list:
        return [ExpiryFilter(self.services.store)]  # expired entities and attributes hidden everywhere at once

    def background(self) -> list:
        return [self.transients.sweep_forever]
