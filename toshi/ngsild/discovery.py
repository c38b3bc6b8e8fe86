"""NGSI-LD discovery: /types, /types/{type}, /attributes, /attributes/{attrId} (clause 6.25–6.28),
with what registered context sources answer merged in (toshi/csources/discovery.py)."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from toshi import csources
from toshi.core.errors import ResourceNotFound
from toshi.formats import ngsild_http as http
from toshi.formats.ngsild_params import bool_param


async def _setup(request: Request):
    tenant = await http.existing_tenant(request)
    media = http.negotiate(request)
    ctx = await http.context_for(request)
    return tenant, media, ctx, request.app.state.toshi.store


def _warned(federated) -> dict[str, str]:
    """The NGSILD-Warning header of an answer some context sources failed to contribute to (6.3.18)."""
    warnings = federated[1].warnings() if federated else []
    return {"NGSILD-Warning": ", ".join(warnings)} if warnings else {}


async def list_types(request: Request) -> Response:
    tenant, media, ctx, store = await _setup(request)
    federated = await csources.type_details(request, tenant, ctx)
    if bool_param(request.query_params, "details") or federated:
        details = await store.type_details(tenant)
        if federated:
            details = csources.merged_types(details, federated[0])
    if bool_param(request.query_params, "details"):
        body = [{"id": t, "type": "EntityType", "typeName": ctx.compact_iri(t),
                 "attributeNames": sorted(ctx.compact_iri(a) for a in info["attrs"])}
                for t, info in sorted(details.items())]
    else:
        types = details if federated else await store.entity_types(tenant)
        body = {"id": f"urn:ngsi-ld:EntityTypeList:{uuid.uuid4()}", "type": "EntityTypeList",
                "typeList": sorted(ctx.compact_iri(t) for t in types)}
    return await http.json_response(request, body, media=media, ctx=ctx, headers=_warned(federated))


async def type_info(request: Request) -> Response:
    tenant, media, ctx, store = await _setup(request)
    type_iri = ctx.expand_term(request.path_params["type"])
    info = (await store.type_details(tenant)).get(type_iri)
    federated = await csources.type_details(request, tenant, ctx, type_iri)
    if federated:
        info = csources.merged_types({type_iri: info} if info else {}, federated[0]).get(type_iri)
        if info is None and federated[1].failures:
            raise federated[1].error()
    if info is None:
        raise ResourceNotFound(f"No entities of type {request.path_params['type']}")
    body = {
        "id": type_iri, "type": "EntityTypeInfo", "typeName": ctx.compact_iri(type_iri),
        "entityCount": info["count"],
        "attributeDetails": [
            {"id": a, "type": "Attribute", "attributeName": ctx.compact_iri(a), "attributeTypes": sorted(kinds)}
            for a, kinds in sorted(info["attrs"].items())],
    }
    return await http.json_response(request, body, media=media, ctx=ctx, headers=_warned(federated))


async def list_attributes(request: Request) -> Response:
    tenant, media, ctx, store = await _setup(request)
    details = await store.attribute_details(tenant)
    federated = await csources.attribute_details(request, tenant, ctx)
    if federated:
        details = csources.merged_attributes(details, federated[0])
    if bool_param(request.query_params, "details"):
        body = [_attribute(a, info, ctx, counts=False) for a, info in sorted(details.items())]
    else:
        body = {"id": f"urn:ngsi-ld:AttributeList:{uuid.uuid4()}", "type": "AttributeList",
                "attributeList": sorted(ctx.compact_iri(a) for a in details)}
    return await http.json_response(request, body, media=media, ctx=ctx, headers=_warned(federated))


async def attribute_info(request: Request) -> Response:
    tenant, media, ctx, store = await _setup(request)
    attr_iri = ctx.expand_term(request.path_params["attr_id"])
    info = (await store.attribute_details(tenant)).get(attr_iri)
    federated = await csources.attribute_details(request, tenant, ctx, attr_iri)
    if federated:
        info = csources.merged_attributes({attr_iri: info} if info else {}, federated[0]).get(attr_iri)
        if info is None and federated[1].failures:
            raise federated[1].error()
    if info is None:
        raise ResourceNotFound(f"No attribute {request.path_params['attr_id']}")
    return await http.json_response(request, _attribute(attr_iri, info, ctx, counts=True), media=media, ctx=ctx,
                                    headers=_warned(federated))


def _attribute(attr_iri: str, info: dict, ctx, *, counts: bool) -> dict:
    body = {"id": attr_iri, "type": "Attribute", "attributeName": ctx.compact_iri(attr_iri)}
    if counts:
        body["attributeCount"] = info["count"]
        body["attributeTypes"] = sorted(info["kinds"])
    body["typeNames"] = sorted(ctx.compact_iri(t) for t in info["types"])
    return body
