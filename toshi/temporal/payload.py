"""Temporal entity payloads (clause 5.6.11, 5.6.12): each attribute an array of instances.

Instances of one attribute may share a datasetId (they are points of its history); each is parsed like
an attribute of an ordinary payload and stamped with `now` as createdAt/modifiedAt. A single instance
may be given without the array. An instance whose value is the NGSI-LD Null (`"value":
"urn:ngsi-ld:null"`, `"object": "urn:ngsi-ld:null"`, ...: how clause 4.5.7 represents a deleted
attribute, which clause 5.5.4 allows in a temporal evolution) records a deletion at its observedAt. The Scope may be given plainly (a scope or an array of them) or as its
temporal representation (clause 4.5.6), Property instances whose values are scopes.
"""

from __future__ import annotations

from typing import Any

from toshi.core.errors import BadRequestData
from toshi.core.times import to_ms, utc_datetime, written_datetime
from toshi.formats.ngsild_parse import (
    ENTITY_KEYS,
    check_uri,
    expand_name,
    parse_attribute,
    parse_entity,
    parse_fragment,
    parse_scope,
)
from toshi.temporal.history import NULLS, deletion_of


def parse_temporal_entity(payload: Any, ctx, *, now: str) -> dict:
    """A whole temporal entity: {"id", "type", "scope"?, "scopeHistory"?, "attrs": {IRI: [instances]}}."""
    head, history = _scope_history(_head(payload))
    head = parse_entity(head, ctx, now=now)
    return _with_history(head, history, payload, ctx, now)


def parse_temporal_fragment(payload: Any, ctx, *, now: str) -> dict:
    """Attributes to append: {"id"?, "type"?, "scope"?, "scopeHistory"?, "attrs": {IRI: [instances]}}."""
    head, history = _scope_history(_head(payload))
    head = parse_fragment(head, ctx, now=now)
    return _with_history(head, history, payload, ctx, now)


def _with_history(head: dict, history: list[dict] | None, payload: dict, ctx, now: str) -> dict:
    if history is not None:
        head["scopeHistory"] = history
        head["scope"] = history[-1]["scope"]
    head["attrs"] = parse_temporal_attrs(payload, ctx, now=now)
    return head


def _scope_history(head: dict) -> tuple[dict, list[dict] | None]:
    """The Scope written as its temporal representation (clause 4.5.6: a Property's instances, each a
    scope or an array of them, optionally with observedAt) -> (head without it, the instances in time
    order, each {"scope": [...], "observedAt"?}); a Scope written plainly is left in the head (None)."""
    scope = head.get("scope")
    items = scope if isinstance(scope, list) else [scope]
    if not any(isinstance(item, dict) for item in items):
        return head, None
    if not all(isinstance(item, dict) for item in items) or not items:
        raise BadRequestData("scope must be scopes, or Property instances of scopes, not a mix of both")
    history = []
    for item in items:
        if item.get("type", "Property") != "Property" or "value" not in item:
            raise BadRequestData('a temporal scope instance is a Property: {"type": "Property", "value": "/a/b"}')
        extra = set(item) - {"type", "value", "observedAt", "instanceId", "createdAt", "modifiedAt"}
        if extra:
            raise BadRequestData(f"a scope instance has no member {', '.join(sorted(extra))} (clause 4.5.6)")
        one = {"scope": parse_scope(item["value"])}
        if "observedAt" in item:
            one["observedAt"] = written_datetime(item["observedAt"], "observedAt")
            one["at"] = to_ms(utc_datetime(item["observedAt"], "observedAt"))
        history.append(one)
    history.sort(key=lambda one: one.get("at", float("inf")))  # stable: without observedAt, as given, last
    for one in history:
        one.pop("at", None)
    return {k: v for k, v in head.items() if k != "scope"}, history


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
        attrs[iri] = [inst for item in items for inst in _instances(name, item, ctx, now)]
    return attrs


# Members a deletion instance may carry besides its type and value (the system ones are ignored).
_DELETION_MEMBERS = {"type", "datasetId", "observedAt", "instanceId", "createdAt", "modifiedAt", "deletedAt"}


def _instances(name: str, item: Any, ctx, now: str) -> list[dict]:
    kind = _deleted_kind(item)
    if kind is None:
        return parse_attribute(name, item, ctx, now=now)
    member = NULLS[kind][0]
    extra = set(item) - _DELETION_MEMBERS - {member}
    if extra:
        raise BadRequestData(f"attribute {name!r}: an instance recording a deletion (the NGSI-LD Null) has no "
                             f"member {', '.join(sorted(extra))}")
    marker = {"type": kind}
    if "datasetId" in item:
        marker["datasetId"] = check_uri(item["datasetId"], "datasetId")
    deletion = deletion_of(marker, now)
    if "observedAt" in item:
        deletion["observedAt"] = written_datetime(item["observedAt"], "observedAt")
    return [deletion]


_IMPLIED = {"value": "Property", "object": "Relationship", "languageMap": "LanguageProperty",
            "json": "JsonProperty", "vocab": "VocabProperty", "valueList": "ListProperty",
            "objectList": "ListRelationship"}  # a concise instance's type, told from its value member


def _deleted_kind(item: Any) -> str | None:
    """The attribute type of an instance whose value member is that type's NGSI-LD Null, else None."""
    if not isinstance(item, dict):
        return None
    kind = item.get("type") or next((k for member, k in _IMPLIED.items() if member in item), None)
    if kind not in NULLS:
        return None
    member, null = NULLS[kind]
    return kind if item.get(member) == null else None


def _head(payload: Any) -> dict:
    if not isinstance(payload, dict):
        raise BadRequestData("The payload must be a JSON object")
    return {key: value for key, value in payload.items() if key in ENTITY_KEYS}
