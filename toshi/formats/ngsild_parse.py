"""NGSI-LD payload -> internal entity (docs/internals.md), per ETSI GS CIM 009 v1.8 clauses 4.5, 5.2, 5.6.

Accepts the normalized and the concise representation (and so keyValues-style bare values, which are
concise Properties). Every name is validated, then expanded through the active @context.

Concise inference (type omitted): `value` -> Property (GeoProperty when the attribute is location,
observationSpace or operationSpace and the value is a GeoJSON geometry), `object` -> Relationship,
`languageMap` -> LanguageProperty, `json` -> JsonProperty, `vocab` -> VocabProperty, `valueList` ->
ListProperty, `objectList` -> ListRelationship. An object without any of these keys, or any other JSON
value, is the value of a Property. An object whose `type` is not an attribute type is rejected, except
a bare GeoJSON geometry (a GeoProperty under the three geo names, a Property value elsewhere).

A top-level array is a multi-attribute (several instances told apart by `datasetId`) when every item
looks like an attribute instance; otherwise it is the value of a Property.

Deletion markers (merge-patch, `allow_null=True`): JSON `null` or the NGSI-LD Null (`"urn:ngsi-ld:null"`,
`{"@none": "urn:ngsi-ld:null"}` for a languageMap, `["urn:ngsi-ld:null"]` for lists) as an attribute or
as its value yields the instance `{DELETE: True}`, i.e. `{"null": True}`, plus `datasetId` when one was
given. A deleted sub-attribute is `sub[name] = {DELETE: True}`; a deleted scope is `"scope": None`. Use
`is_delete()`. Outside merge-patch the NGSI-LD Null is rejected (it is not an ordinary value).

With `partial=True` (and in merge-patch) an instance may lack its value member: a partial update of its
metadata or sub-attributes.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from toshi.core.errors import BadRequestData, InvalidRequest
from toshi.core.times import written_datetime

NGSI_LD = "https://uri.etsi.org/ngsi-ld/"
NGSI_LD_NULL = "urn:ngsi-ld:null"
DELETE = "null"  # deletion marker key ({"null": True}, as toshi.core.entity expects); never an instance key
MAX_DEPTH = 16

# Attribute type -> the member holding its value.
PRINCIPAL: dict[str, str] = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "LanguageProperty": "languageMap",
    "JsonProperty": "json",
    "VocabProperty": "vocab",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
}
PRINCIPAL_KEYS = frozenset(PRINCIPAL.values())
# Concise representation: value member -> attribute type (`value` may become GeoProperty).
INFERRED: dict[str, str] = {
    "value": "Property",
    "object": "Relationship",
    "languageMap": "LanguageProperty",
    "json": "JsonProperty",
    "vocab": "VocabProperty",
    "valueList": "ListProperty",
    "objectList": "ListRelationship",
}
GEO_ATTRS = frozenset({NGSI_LD + "location", NGSI_LD + "observationSpace", NGSI_LD + "operationSpace"})
GEOMETRY_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}
)
# Set by the broker; ignored when a client sends them (clause 4.8).
SYSTEM_KEYS = frozenset({"createdAt", "modifiedAt", "deletedAt", "instanceId"})
ENTITY_KEYS = frozenset({"id", "type", "scope", "expiresAt", "@context"}) | SYSTEM_KEYS
INSTANCE_META = frozenset({"datasetId", "observedAt", "unitCode", "objectType"})
PATCH_MEMBERS = INSTANCE_META | {"expiresAt"}  # what a partial update may change of an instance alone
# Core members that can never name an attribute.
RESERVED_NAMES = PRINCIPAL_KEYS | INSTANCE_META | {"id", "type"}

# Orion-LD forbids = [ ] & ? " ' and whitespace in names, and < > ( ) ; in ids and types; we apply the union.
_BAD_NAME_CHAR = re.compile(r"[\s\x00-\x1f\x7f<>\"'=;()\[\]&?]")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f<>\"{}|\\^`]+")
_LANG_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
_SCOPE = re.compile(r"(?:/[^/\s\x00-\x1f\x7f<>\"'=;()#+,]+)+")


class ActiveContextLike(Protocol):
    """What parsing and rendering need from toshi.jsonld.context.ActiveContext."""

    def expand_term(self, term: str) -> str: ...

    def compact_iri(self, iri: str) -> str: ...

    def expand_value(self, term: str) -> str: ...

    def compact_value(self, iri: str) -> str: ...


def parse_entity(
    payload: Any, ctx: ActiveContextLike, *, now: str, require_type: bool = True, max_depth: int = MAX_DEPTH
) -> dict:
    """A whole entity (create, replace, upsert) -> internal entity with system times set to `now`."""
    parser = _Parser(ctx, now, False, False, max_depth)
    entity = parser.entity(payload, require_id=True, require_type=require_type)
    entity["createdAt"] = entity["modifiedAt"] = now
    return entity


def parse_fragment(
    payload: Any,
    ctx: ActiveContextLike,
    *,
    now: str,
    allow_null: bool = False,
    partial: bool = False,
    max_depth: int = MAX_DEPTH,
) -> dict:
    """An entity fragment (append, update, merge): `{"attrs": ...}` plus `id`/`type`/`scope` if sent."""
    parser = _Parser(ctx, now, allow_null, partial or allow_null, max_depth)
    return parser.entity(payload, require_id=False, require_type=False)


def parse_attribute(
    name: str,
    value: Any,
    ctx: ActiveContextLike,
    *,
    now: str,
    allow_null: bool = False,
    partial: bool = False,
    max_depth: int = MAX_DEPTH,
) -> list[dict]:
    """One attribute body (e.g. PATCH .../attrs/{name}) -> its instances. Expand `name` with expand_name()."""
    iri = expand_name(name, ctx)
    parser = _Parser(ctx, now, allow_null, partial or allow_null, max_depth)
    return parser.instances(iri, _without_context(value))


def expand_name(name: Any, ctx: ActiveContextLike) -> str:
    """Validate an attribute name (clause 4.6.2) and expand it."""
    check_name(name, "attribute name")
    if name in RESERVED_NAMES or name.startswith("@"):
        raise BadRequestData(f"{name!r} cannot be used as an attribute name")
    return ctx.expand_term(name)


def check_name(name: Any, what: str) -> str:
    """A type or attribute name: a non-empty string without forbidden characters."""
    if not isinstance(name, str) or not name:
        raise BadRequestData(f"{what} must be a non-empty string, got {_show(name)}")
    bad = _BAD_NAME_CHAR.search(name)
    if bad:
        raise BadRequestData(f"invalid character {bad.group()!r} in {what} {name!r}")
    return name


def is_uri(value: Any) -> bool:
    """An absolute URI (scheme ':' rest), e.g. urn:ngsi-ld:Shelter:001 or https://example.org/a."""
    return isinstance(value, str) and _URI.fullmatch(value) is not None


def check_uri(value: Any, what: str) -> str:
    """`value` if is_uri(value), else BadRequestData naming `what`."""
    if not is_uri(value):
        raise BadRequestData(f"{what} must be a URI, got {_show(value)}")
    return value


def is_delete(instance: dict) -> bool:
    """True for a deletion marker (see the module docstring)."""
    return DELETE in instance


def parse_scope(value: Any) -> list[str]:
    """`scope`: a scope string or a non-empty list of them, each like /Osaka/Toyono (clause 4.18)."""
    scopes = value if isinstance(value, list) and value else [value]
    for scope in scopes:
        if not isinstance(scope, str) or not _SCOPE.fullmatch(scope):
            raise BadRequestData(f"invalid scope {_show(scope)}: expected /level/level...")
    return list(dict.fromkeys(scopes))


class _Parser:
    __slots__ = ("allow_null", "ctx", "max_depth", "now", "partial")

    def __init__(self, ctx: ActiveContextLike, now: str, allow_null: bool, partial: bool, max_depth: int):
        self.ctx = ctx
        self.now = now
        self.allow_null = allow_null
        self.partial = partial
        self.max_depth = max_depth

    def entity(self, payload: Any, *, require_id: bool, require_type: bool) -> dict:
        if not isinstance(payload, dict):
            raise InvalidRequest(f"an entity must be a JSON object, got {_show(payload)}")
        out: dict[str, Any] = {}
        if "id" in payload:
            out["id"] = check_uri(payload["id"], "entity id")
        elif require_id:
            raise BadRequestData("the entity has no 'id'")
        if "type" in payload:
            out["type"] = self.types(payload["type"])
        elif require_type:
            raise BadRequestData("the entity has no 'type'")
        if "scope" in payload:
            scope = payload["scope"]
            out["scope"] = None if self.allow_null and _is_null(scope) else parse_scope(scope)
        if "expiresAt" in payload:  # a transient entity (v1.9 clause 4.x): gone at that instant
            expires = payload["expiresAt"]
            out["expiresAt"] = None if self.allow_null and _is_null(expires) else \
                written_datetime(expires, "expiresAt")
        attrs: dict[str, list[dict]] = {}
        for name, value in payload.items():
            if name in ENTITY_KEYS:
                continue
            iri = expand_name(name, self.ctx)
            if iri in attrs:
                raise BadRequestData(f"attribute {name!r} is given twice (as {iri})")
            attrs[iri] = self.instances(iri, value)
        out["attrs"] = attrs
        return out

    def types(self, value: Any) -> list[str]:
        names = value if isinstance(value, list) and value else [value]
        expanded = [self.ctx.expand_term(check_name(name, "entity type")) for name in names]
        return list(dict.fromkeys(expanded))

    def instances(self, iri: str, value: Any) -> list[dict]:
        if not (isinstance(value, list) and value and all(_looks_like_instance(item) for item in value)):
            return [self.instance(iri, value, 1)]
        found = [self.instance(iri, item, 1) for item in value]
        seen: set[str | None] = set()
        for inst in found:
            dataset = inst.get("datasetId")
            if dataset in seen:
                which = f"datasetId {dataset!r}" if dataset else "the default instance (no datasetId)"
                raise BadRequestData(f"attribute {iri}: {which} is given more than once")
            seen.add(dataset)
        return found

    def instance(self, iri: str, value: Any, depth: int) -> dict:
        if depth > self.max_depth:
            raise BadRequestData(f"attribute {iri}: sub-attributes nested deeper than {self.max_depth}")
        if _is_null(value):
            return self.deletion(iri, None)
        if not isinstance(value, dict):
            return self.stamp({"type": "Property", "value": value})
        kind = self.kind(iri, value)
        if kind is None and self.partial and not self.allow_null and value and PATCH_MEMBERS.issuperset(value):
            return self.members_only(iri, value, depth)
        if kind is None:  # a bare JSON object is a Property value; a bare geometry may be a GeoProperty
            if iri in GEO_ATTRS and _is_geometry(value):
                return self.stamp({"type": "GeoProperty", "value": _geometry(value, iri)})
            return self.stamp({"type": "Property", "value": value})
        return self.typed(iri, kind, value, depth)

    def kind(self, iri: str, value: dict) -> str | None:
        """The attribute type given or inferred, None when `value` is a bare JSON object."""
        if "type" in value:
            kind = value["type"]
            if _str_in(kind, PRINCIPAL):
                return kind
            if _str_in(kind, GEOMETRY_TYPES) and PRINCIPAL_KEYS.isdisjoint(value):
                return None
            raise BadRequestData(f"attribute {iri}: invalid attribute type {_show(kind)}")
        members = [key for key in INFERRED if key in value]
        if len(members) > 1:
            raise BadRequestData(f"attribute {iri}: cannot tell the type, it has {' and '.join(members)}")
        if not members:
            return None
        if members[0] == "value" and iri in GEO_ATTRS and _is_geometry(value["value"]):
            return "GeoProperty"
        return INFERRED[members[0]]

    def typed(self, iri: str, kind: str, body: dict, depth: int) -> dict:
        principal = PRINCIPAL[kind]
        if principal in body and _is_null_value(kind, body[principal]):
            return self.deletion(iri, body.get("datasetId"), depth)
        inst: dict[str, Any] = {"type": kind}
        sub: dict[str, dict] = {}
        for key, value in body.items():
            if key == "type" or key in SYSTEM_KEYS:
                continue
            if key == principal:
                inst[key] = self.principal(iri, kind, value)
            elif key in PRINCIPAL_KEYS:
                raise BadRequestData(f"attribute {iri}: a {kind} cannot have {key!r}")
            elif key in INSTANCE_META:
                inst[key] = self.meta(iri, key, value, depth)
            elif key == "expiresAt":  # a transient attribute (v1.9.1 clause 4.22): gone at that instant
                inst[key] = self.expiry(iri, value, depth)
            else:
                name = self.sub_name(iri, key)
                if name in sub:
                    raise BadRequestData(f"attribute {iri}: sub-attribute {key!r} is given twice")
                sub[name] = self.instance(name, value, depth + 1)
        if principal not in inst and not self.partial:
            raise BadRequestData(f"attribute {iri}: a {kind} needs {principal!r}")
        if sub:
            inst["sub"] = sub
        return self.stamp(inst)

    def principal(self, iri: str, kind: str, value: Any) -> Any:
        if kind == "Property" or kind == "JsonProperty":
            return value
        if kind == "GeoProperty":
            return _geometry(value, iri)
        if kind == "Relationship":
            return _object(value, iri)
        if kind == "ListRelationship":
            return _object_list(value, iri)
        if kind == "ListProperty":
            if not isinstance(value, list):
                raise BadRequestData(f"attribute {iri}: valueList must be an array, got {_show(value)}")
            return value
        if kind == "LanguageProperty":
            return _language_map(value, iri)
        return self.vocab(iri, value)

    def vocab(self, iri: str, value: Any) -> str | list[str]:
        words = value if isinstance(value, list) and value else [value]
        for word in words:
            if not isinstance(word, str) or not word:
                raise BadRequestData(f"attribute {iri}: vocab must be a string or strings, got {_show(word)}")
        expanded = [self.ctx.expand_value(word) for word in words]
        return expanded if isinstance(value, list) else expanded[0]

    def meta(self, iri: str, key: str, value: Any, depth: int) -> Any:
        if key == "observedAt":
            return written_datetime(value, f"attribute {iri}: observedAt")
        if key == "unitCode":
            if not isinstance(value, str) or not value:
                raise BadRequestData(f"attribute {iri}: unitCode must be a string, got {_show(value)}")
            return value
        if key == "datasetId":
            if depth > 1:
                raise BadRequestData(f"sub-attribute {iri} cannot have a datasetId")
            return check_uri(value, f"attribute {iri}: datasetId")
        names = value if isinstance(value, list) and value else [value]
        expanded = [self.ctx.expand_term(check_name(name, f"attribute {iri}: objectType")) for name in names]
        return expanded if isinstance(value, list) else expanded[0]

    def members_only(self, iri: str, value: dict, depth: int) -> dict:
        """A partial attribute update of an instance's members alone (`{"observedAt": …}`,
        `{"expiresAt": …}`): merged into the existing instance, whatever its type."""
        inst = {key: self.expiry(iri, member, depth) if key == "expiresAt" else self.meta(iri, key, member, depth)
                for key, member in value.items()}
        return self.stamp(inst)

    def expiry(self, iri: str, value: Any, depth: int) -> str:
        if depth > 1:
            raise BadRequestData(f"sub-attribute {iri} cannot have an expiresAt")
        return written_datetime(value, f"attribute {iri}: expiresAt")

    def sub_name(self, iri: str, key: str) -> str:
        check_name(key, f"sub-attribute name of {iri}")
        if key == "id" or key == "scope" or key.startswith("@"):
            raise BadRequestData(f"attribute {iri}: {key!r} cannot be used as a sub-attribute name")
        return self.ctx.expand_term(key)

    def deletion(self, iri: str, dataset: Any, depth: int = 1) -> dict:
        if not self.allow_null:
            raise BadRequestData(f"attribute {iri}: null is not a valid value (only in merge-patch)")
        marker: dict[str, Any] = {DELETE: True}
        if dataset is not None:
            marker["datasetId"] = self.meta(iri, "datasetId", dataset, depth)
        return marker

    def stamp(self, inst: dict) -> dict:
        inst["createdAt"] = inst["modifiedAt"] = self.now
        return inst


def _is_null(value: Any) -> bool:
    return value is None or value == NGSI_LD_NULL


def _is_null_value(kind: str, value: Any) -> bool:
    """The NGSI-LD Null in the form this attribute type uses for its value (clause 4.5.x, merge-patch)."""
    if _is_null(value):
        return True
    if kind == "LanguageProperty":
        return isinstance(value, dict) and len(value) == 1 and _is_null(value.get("@none", 0))
    if kind == "ListProperty" or kind == "ListRelationship":
        return isinstance(value, list) and len(value) == 1 and (
            _is_null(value[0]) or (isinstance(value[0], dict) and _is_null(value[0].get("object", 0)))
        )
    return False


def _looks_like_instance(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    return _str_in(item.get("type"), PRINCIPAL) or not PRINCIPAL_KEYS.isdisjoint(item)


def _is_geometry(value: Any) -> bool:
    return isinstance(value, dict) and _str_in(value.get("type"), GEOMETRY_TYPES)


def _str_in(value: Any, names: frozenset[str] | dict[str, str]) -> bool:
    return isinstance(value, str) and value in names


def _geometry(value: Any, iri: str) -> dict:
    from toshi.query.geo import check_geometry  # lazy: the geo module pulls in shapely

    check_geometry(value, where=f"attribute {iri}: value")
    return value


def _object(value: Any, iri: str) -> str | list[str]:
    if isinstance(value, list):
        if not value:
            raise BadRequestData(f"attribute {iri}: object must not be an empty array")
        return [check_uri(item, f"attribute {iri}: object") for item in value]
    return check_uri(value, f"attribute {iri}: object")


def _object_list(value: Any, iri: str) -> list[str]:
    if not isinstance(value, list):
        raise BadRequestData(f"attribute {iri}: objectList must be an array, got {_show(value)}")
    what = f"attribute {iri}: objectList item"
    return [check_uri(item["object"] if isinstance(item, dict) and len(item) == 1 and "object" in item
                      else item, what) for item in value]


def _language_map(value: Any, iri: str) -> dict:
    if not isinstance(value, dict) or not value:
        raise BadRequestData(f"attribute {iri}: languageMap must be a non-empty object, got {_show(value)}")
    for tag, text in value.items():
        if tag != "@none" and not _LANG_TAG.fullmatch(tag):
            raise BadRequestData(f"attribute {iri}: {tag!r} is not a language tag")
        texts = text if isinstance(text, list) and text else [text]
        if not all(isinstance(item, str) for item in texts):
            raise BadRequestData(f"attribute {iri}: languageMap[{tag!r}] must be a string or strings")
    return value


def _without_context(value: Any) -> Any:
    """Drop the @context of an application/ld+json attribute body (it was processed by the caller)."""
    if isinstance(value, dict) and "@context" in value:
        return {key: item for key, item in value.items() if key != "@context"}
    if isinstance(value, list):
        return [_without_context(item) for item in value]
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
