"""A context source's answer -> internal entities (docs/internals.md), cheaply. A source is asked for the
normalized form, so its entities are checked for that shape (an id, types, every attribute an object of
an attribute type with its value member, or a list of them with distinct datasetIds) and their names
expanded with the client's @context, without the validating parser of clients' payloads
(toshi/formats/ngsild_parse.py), which costs several times more. An entity of another shape (the
concise form, which some sources answer with) goes through that parser: what it refuses is refused.
As that parser does, the system times are those of the read (`now`), not the source's.

`Readings` keeps the entities of the last answers by their bytes and @context: a source answering what
it answered before gives the same (never mutated) objects again, so they are neither read nor rendered
again (RenderCache keys renderings by the entity object); their system times are then those of the
first read.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson

from toshi.formats.ngsild_parse import (
    ENTITY_KEYS,
    GEOMETRY_TYPES,
    MAX_DEPTH,
    PRINCIPAL,
    PRINCIPAL_KEYS,
    SYSTEM_KEYS,
    is_uri,
    parse_entity,
    parse_scope,
)

KEPT_ANSWERS = 16
KEPT_BYTES = 256_000  # a larger answer is read every time
KEPT = frozenset({"datasetId", "observedAt", "unitCode", "expiresAt"})  # members kept as they came


class _Other(Exception):
    """Not the normalized form: the full parser reads it."""


class Readings:
    """The entities of the last answers sources gave, by the answer's bytes and the @context."""

    def __init__(self):
        self._kept: OrderedDict[tuple, tuple[object, list[dict]]] = OrderedDict()  # oldest first

    def entities(self, content: bytes, ctx, now: str) -> list[dict]:
        """The entities of a source's answer (`content`: its JSON), read once while kept."""
        key = (content, id(ctx))
        hit = self._kept.get(key)
        if hit is not None:  # the entry holds ctx, so no other context can have its id
            self._kept.move_to_end(key)
            return hit[1]
        found = entities_of(orjson.loads(content), ctx, now)
        if len(content) <= KEPT_BYTES:
            self._kept[key] = (ctx, found)  # holding ctx keeps its id from being reused
            if len(self._kept) > KEPT_ANSWERS:
                self._kept.popitem(last=False)
        return found


def entities_of(data: Any, ctx, now: str) -> list[dict]:
    """The entities of a source's JSON answer (one entity or a list of them)."""
    return [_entity(item, ctx, now) for item in (data if isinstance(data, list) else [data])]


def _entity(item: Any, ctx, now: str) -> dict:
    if not isinstance(item, dict):
        raise ValueError(f"an entity must be a JSON object, got {type(item).__name__}")
    try:
        return _normalized(item, ctx, now)
    except _Other:
        return parse_entity({k: v for k, v in item.items() if k != "@context"}, ctx, now=now)


def _normalized(item: dict, ctx, now: str) -> dict:
    types = item.get("type")
    types = types if isinstance(types, list) else [types]
    if not is_uri(item.get("id")) or not types or not all(isinstance(t, str) and t for t in types):
        raise _Other
    entity: dict[str, Any] = {"id": item["id"], "type": list(dict.fromkeys(map(ctx.expand_term, types)))}
    if "scope" in item:
        entity["scope"] = parse_scope(item["scope"])
    if "expiresAt" in item:
        if not isinstance(item["expiresAt"], str):
            raise _Other
        entity["expiresAt"] = item["expiresAt"]
    attrs: dict[str, list[dict]] = {}
    for name, value in item.items():
        if name in ENTITY_KEYS:
            continue
        iri = ctx.expand_term(name)
        if name.startswith("@") or iri in attrs:
            raise _Other
        attrs[iri] = _instances(value, ctx, now)
    entity["attrs"] = attrs
    entity["createdAt"] = entity["modifiedAt"] = now
    return entity


def _instances(value: Any, ctx, now: str) -> list[dict]:
    if not isinstance(value, list):
        return [_instance(value, ctx, now, 1)]
    found = [_instance(item, ctx, now, 1) for item in value]
    if not found or len({i.get("datasetId") for i in found}) < len(found):
        raise _Other
    return found


def _instance(value: Any, ctx, now: str, depth: int) -> dict:
    kind = value.get("type") if isinstance(value, dict) else None
    principal = PRINCIPAL.get(kind) if isinstance(kind, str) else None
    if principal is None or principal not in value or depth > MAX_DEPTH:
        raise _Other
    instance: dict[str, Any] = {"type": kind}
    sub: dict[str, dict] = {}
    for key, member in value.items():
        if key == "type" or key in SYSTEM_KEYS:
            continue
        if key == principal:
            instance[key] = _principal(kind, member, ctx)
        elif key in KEPT:
            if not isinstance(member, str) or (depth > 1 and key in ("datasetId", "expiresAt")):
                raise _Other
            instance[key] = member
        elif key == "objectType":
            instance[key] = _expanded(member, ctx.expand_term)
        elif key in PRINCIPAL_KEYS or key.startswith("@") or key in ("id", "scope"):
            raise _Other
        else:
            sub[ctx.expand_term(key)] = _instance(member, ctx, now, depth + 1)
    if sub:
        instance["sub"] = sub
    instance["createdAt"] = instance["modifiedAt"] = now
    return instance


def _principal(kind: str, member: Any, ctx) -> Any:
    """The value member, of the JSON type its attribute type has (what is inside is the source's)."""
    if kind == "VocabProperty":
        return _expanded(member, ctx.expand_value)
    if kind == "ListRelationship" and isinstance(member, list):  # its items may be {"object": uri}
        return [item["object"] if isinstance(item, dict) and list(item) == ["object"] else item for item in member]
    if not isinstance(member, _JSON_TYPE.get(kind, object)):
        raise _Other
    if kind == "GeoProperty" and member.get("type") not in GEOMETRY_TYPES:
        raise _Other
    return member


_JSON_TYPE = {"GeoProperty": dict, "Relationship": (str, list), "LanguageProperty": dict, "ListProperty": list,
              "ListRelationship": list}


def _expanded(names: Any, expand) -> str | list[str]:
    """A name or a list of names (objectType, vocab), expanded."""
    listed = names if isinstance(names, list) else [names]
    if not listed or not all(isinstance(n, str) and n for n in listed):
        raise _Other
    expanded = [expand(n) for n in listed]
    return expanded if isinstance(names, list) else expanded[0]
