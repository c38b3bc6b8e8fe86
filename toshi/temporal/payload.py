"""Temporal entity payloads (clause 5.6.11, 5.6.12): each attribute an array of instances.

Instances of one attribute may share a datasetId (they are points of its history); each is parsed like
an attribute of an ordinary payload and stamped with `now` as createdAt/modifiedAt. A single instance
may be given without the array.
"""

from __future__ import annotations

from typing import Any

from toshi.core.errors import BadRequestData
from toshi.formats.ngsild_parse import ENTITY_KEYS, expand_name, parse_attribute, parse_entity, parse_fragment


def parse_temporal_entity(payload: Any, ctx, *, now: str) -> dict:
    """A whole temporal entity: {"id", "type", "scope"?, "attrs": {IRI: [instances]}}."""
    head = parse_entity(_head(payload), ctx, now=now)
    head["attrs"] = parse_temporal_attrs(payload, ctx, now=now)
    return head


def parse_temporal_fragment(payload: Any, ctx, *, now: str) -> dict:
    """Attributes to append: {"id"?, "type"?, "scope"?, "attrs": {IRI: [instances]}}."""
    head = parse_fragment(_head(payload), ctx, now=now)
    head["attrs"] = parse_temporal_attrs(payload, ctx, now=now)
    return head


def parse_temporal_attrs(payload: dict, ctx, *, now: str) -> dict[str, list[dict]]:
    attrs: dict[str, list[dict]] = {}
    for name, value in payload.items():
        if name in ENTITY_KEYS:
            continue
        iri = expand_name(name, ctx)
        if iri in attrs:
            raise BadRequestData(f"attribute {name!r} is given twice (as {iri})")
        items = value if isinstance(value, list) else [value]
        if not items:
            raise BadRequestData(f"attribute {name!r} has no instances")
        attrs[iri] = [inst for item in items for inst in parse_attribute(name, item, ctx, now=now)]
    return attrs


def _head(payload: Any) -> dict:
    if not isinstance(payload, dict):
        raise BadRequestData("The payload must be a JSON object")
    return {key: value for key, value in payload.items() if key in ENTITY_KEYS}
