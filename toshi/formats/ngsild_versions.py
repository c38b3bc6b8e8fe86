"""The version preference `Prefer: ngsi-ld=<major.minor>` (clause 4.3.6.8, 6.3.6; RFC 7240).

Toshi answers NGSI-LD 1.8. A client preferring an older version gets the rendered entities amended to
what that version knows (the backwards-compatibility fallbacks of clause 4.3.6.8): attribute types
newer than the version become the Property / Relationship they specialise, with their principal
member as `value` / `object`, and `objectType` (1.8) is left out. `Preference-Applied` names the
version the answer conforms to; 203 Non-Authoritative Information says the entities were amended.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

NATIVE = (1, 8)
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.\d+)?")
# attribute type -> (version introducing it, type it falls back to, principal member, fallback member)
_FALLBACKS = {
    "LanguageProperty": ((1, 4), "Property", "languageMap", "value"),
    "JsonProperty": ((1, 8), "Property", "json", "value"),
    "VocabProperty": ((1, 8), "Property", "vocab", "value"),
    "ListProperty": ((1, 8), "Property", "valueList", "value"),
    "ListRelationship": ((1, 8), "Relationship", "objectList", "object"),
}
_BY_MEMBER = {member: kind for kind, (_, _, member, _) in _FALLBACKS.items()}
_CONTENT = {"value", "object", *_BY_MEMBER}  # an attribute's content, never amended inside
_ENTITY_MEMBERS = {"id", "type", "scope", "@context", "createdAt", "modifiedAt", "expiresAt"}


def versioned(request: Request, response: Response, *, key_values: bool) -> Response:
    """The answer of a retrieve or query for the request's version preference (a JSON body of one
    entity or a list of them; other answers and GeoJSON pass unchanged, without Preference-Applied)."""
    version = preferred_version(request.headers.get("prefer", ""))
    if version is None or response.status_code != 200 or response.media_type == "application/geo+json":
        return response
    response.headers["Preference-Applied"] = applied(version)
    if version >= NATIVE:
        return response
    body = orjson.loads(response.body)
    entities = [e for e in (body if isinstance(body, list) else [body]) if isinstance(e, dict)]
    if not amend_entities(entities, version, key_values):
        return response
    amended = Response(orjson.dumps(body), status_code=203, media_type=response.media_type)
    for name, value in response.headers.items():
        if name not in ("content-length", "content-type"):
            amended.headers.append(name, value)
    return amended


def preferred_version(header: str) -> tuple[int, int] | None:
    """The `ngsi-ld` preference of a Prefer header (names are case-insensitive; parameters after `;`
    are ignored); None when there is none or its value is not a version (then it is ignored)."""
    for preference in header.split(","):
        name, _, value = preference.split(";")[0].partition("=")
        if name.strip().lower() == "ngsi-ld":
            match = _VERSION.fullmatch(value.strip().strip('"'))
            return (int(match[1]), int(match[2])) if match else None
    return None


def applied(version: tuple[int, int]) -> str:
    """The Preference-Applied value: the version the answer conforms to."""
    major, minor = min(version, NATIVE)
    return f"ngsi-ld={major}.{minor}"


def amend_entities(entities: list[dict], version: tuple[int, int], key_values: bool) -> bool:
    """Amend rendered entities in place for `version`; whether anything changed."""
    changed = False
    for entity in entities:
        for name, attribute in entity.items():
            if name in _ENTITY_MEMBERS:
                continue
            if key_values:
                entity[name], amended = _amend_simple(attribute, version)
                changed |= amended
            else:
                changed |= _amend_attribute(attribute, version)
    return changed


def _amend_attribute(attribute: Any, version: tuple[int, int]) -> bool:
    if isinstance(attribute, list):
        return any([_amend_attribute(instance, version) for instance in attribute])
    if not isinstance(attribute, dict):
        return False
    changed = False
    kind = attribute.get("type") or next((_BY_MEMBER[m] for m in attribute if m in _BY_MEMBER), None)
    if kind in _FALLBACKS and version < _FALLBACKS[kind][0]:
        _, fallback, member, principal = _FALLBACKS[kind]
        content = attribute.pop(member)
        if kind == "ListRelationship":  # normalized objectList items are {"object": uri}
            content = [item["object"] if isinstance(item, dict) else item for item in content]
        attribute["type"] = fallback
        attribute[principal] = content
        changed = True
    if version < (1, 8) and attribute.pop("objectType", None) is not None:
        changed = True
    for member in list(attribute):
        if isinstance(attribute[member], dict | list) and member not in _CONTENT:
            changed |= _amend_attribute(attribute[member], version)
    return changed


def _amend_simple(value: Any, version: tuple[int, int]) -> tuple[Any, bool]:
    """keyValues: `{"languageMap": …}`, `{"json": …}`, `{"vocab": …}` become the bare content."""
    if isinstance(value, dict) and len(value) == 1:
        (member, content), = value.items()
        kind = _BY_MEMBER.get(member)
        if kind is not None and version < _FALLBACKS[kind][0]:
            return content, True
    return value, False
