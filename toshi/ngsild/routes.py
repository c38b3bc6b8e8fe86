"""The NGSI-LD API's routes under /ngsi-ld/v1."""

from __future__ import annotations

from starlette.routing import Route

from toshi.core.routing import SegmentRoute
from toshi.ngsild import batch, discovery, entities, identity

PREFIX = "/ngsi-ld/v1"


def routes() -> list[Route]:
    e = entities
    table = [
        ("/entities", e.query_entities, ["GET"]),
        ("/entities", e.create_entity, ["POST"]),
        ("/entities", e.purge_entities, ["DELETE"]),
        ("/entities/{entity_id}", e.retrieve_entity, ["GET"]),
        ("/entities/{entity_id}", e.replace_entity, ["PUT"]),
        ("/entities/{entity_id}", e.merge_entity, ["PATCH"]),
        ("/entities/{entity_id}", e.delete_entity, ["DELETE"]),
        ("/entities/{entity_id}/attrs", e.append_attrs, ["POST"]),
        ("/entities/{entity_id}/attrs", e.update_attrs, ["PATCH"]),
        ("/entities/{entity_id}/attrs/{attr_id}", e.update_attribute, ["PATCH"]),
        ("/entities/{entity_id}/attrs/{attr_id}", e.replace_attribute, ["PUT"]),
        ("/entities/{entity_id}/attrs/{attr_id}", e.delete_attribute, ["DELETE"]),
        ("/entityOperations/create", batch.batch_create, ["POST"]),
        ("/entityOperations/upsert", batch.batch_upsert, ["POST"]),
        ("/entityOperations/update", batch.batch_update, ["POST"]),
        ("/entityOperations/delete", batch.batch_delete, ["POST"]),
        ("/entityOperations/merge", batch.batch_merge, ["POST"]),
        ("/entityOperations/query", batch.batch_query, ["POST"]),
        ("/types", discovery.list_types, ["GET"]),
        ("/types/{type}", discovery.type_info, ["GET"]),
        ("/attributes", discovery.list_attributes, ["GET"]),
        ("/attributes/{attr_id}", discovery.attribute_info, ["GET"]),
        ("/info/sourceIdentity", identity.source_identity, ["GET"]),
    ]
    # Starlette tries every route and only falls back to a path-only match (405) when no method fits;
    # an id, a type or an attribute name may be an IRI whose slashes the client encoded (%2F).
    return [SegmentRoute(PREFIX + path, endpoint, methods=methods) for path, endpoint, methods in table]
