"""Context source registrations (ETSI GS CIM 009 v1.8 clauses 5.2.9, 5.2.10, 4.3.6): validation, the
stored form and rendering.

Stored form: the registration as the client sent it, with entity types and attribute names expanded
(full IRIs), `mode` and `operations` always present (defaults inclusive / federationOps), system
members createdAt/modifiedAt, and the registration's own additional properties (kept for `csf`)
under `extra` with expanded names. Rendering compacts with the reader's @context, as for entities.
"""

from __future__ import annotations

import uuid
from typing import Any

from toshi.core.errors import BadRequestData, NgsiError
from toshi.core.times import is_datetime, parse_duration, utc_datetime
from toshi.formats.ngsild_parse import check_name, check_uri, expand_name, parse_scope
from toshi.query.geo import validate_geometry
from toshi.query.regex import compile_pattern

TYPE = "ContextSourceRegistration"
MODES = ("inclusive", "exclusive", "redirect", "auxiliary")

# Table 4.20-1 (v1.8): the single operations and the operation groups that stand for several.
RETRIEVE = ("retrieveEntity", "queryEntity", "queryBatch", "retrieveEntityTypes", "retrieveEntityTypeDetails",
            "retrieveEntityTypeInfo", "retrieveAttrTypes", "retrieveAttrTypeDetails", "retrieveAttrTypeInfo",
            "retrieveTemporal", "queryTemporal", "retrieveEntityMap")
SUBSCRIPTION = ("createSubscription", "updateSubscription", "retrieveSubscription", "querySubscription",
                "deleteSubscription")
WRITE = ("createEntity", "updateEntity", "appendAttrs", "updateAttrs", "deleteAttrs", "deleteEntity",
         "createBatch", "upsertBatch", "updateBatch", "deleteBatch", "mergeEntity", "mergeBatch",
         "replaceEntity", "replaceAttrs", "upsertTemporal", "appendAttrsTemporal", "deleteAttrsTemporal",
         "updateAttrsTemporal", "deleteAttrInstanceTemporal", "deleteTemporal",
         "purgeEntity")  # Purge Entities (v1.9 5.6.21)
OPERATIONS = frozenset(RETRIEVE + SUBSCRIPTION + WRITE)
GROUPS = {
    "federationOps": ("retrieveEntity", "queryEntity", "queryBatch", "retrieveEntityTypes",
                      "retrieveEntityTypeDetails", "retrieveEntityTypeInfo", "retrieveAttrTypes",
                      "retrieveAttrTypeDetails", "retrieveAttrTypeInfo", *SUBSCRIPTION),
    "updateOps": ("updateEntity", "updateAttrs", "replaceEntity", "replaceAttrs"),
    "retrieveOps": ("retrieveEntity", "queryEntity"),
    "redirectionOps": ("createEntity", "updateEntity", "appendAttrs", "updateAttrs", "deleteAttrs",
                       "deleteEntity", "mergeEntity", "replaceEntity", "replaceAttrs", "retrieveEntity",
                       "queryEntity", "retrieveEntityTypes", "retrieveEntityTypeDetails",
                       "retrieveEntityTypeInfo", "retrieveAttrTypes", "retrieveAttrTypeDetails",
                       "retrieveAttrTypeInfo"),
}
AUXILIARY_ALLOWED = frozenset(RETRIEVE + SUBSCRIPTION)  # an auxiliary source is never written to

MANAGEMENT = {"localOnly": bool, "cacheDuration": str, "timeout": (int, float), "cooldown": (int, float)}
SYSTEM = ("createdAt", "modifiedAt", "status", "timesSent", "timesFailed", "lastSuccess", "lastFailure")
GEO_MEMBERS = ("location", "observationSpace", "operationSpace")
INTERVALS = ("observationInterval", "managementInterval")
STRINGS = ("registrationName", "description", "tenant")
KNOWN = frozenset(("id", "type", "information", "endpoint", "mode", "operations", "management",
                   "contextSourceInfo", "expiresAt", "scope", "refreshRate", *GEO_MEMBERS, *INTERVALS,
                   *STRINGS))
SECRET_KEYS = frozenset({"authorization", "x-auth-token", "proxy-authorization"})
MASK = "********"


class Conflict(NgsiError):
    """409: the operation conflicts with the current state (overlapping exclusive registrations)."""

    kind, status, title = "Conflict", 409, "Conflict"


def new_id() -> str:
    return f"urn:ngsi-ld:ContextSourceRegistration:{uuid.uuid4()}"


def operations_of(registration: dict) -> frozenset[str]:
    """The single operations a registration supports (its groups expanded)."""
    found: set[str] = set()
    for name in registration["operations"]:
        found.update(GROUPS.get(name, (name,)))
    return frozenset(found)


def parse_registration(data: Any, ctx, now: str) -> dict:
    """A new registration (POST body without its @context) in its stored form, or BadRequestData."""
    if not isinstance(data, dict):
        raise BadRequestData("A context source registration must be a JSON object")
    for key in SYSTEM:
        if key in data:
            raise BadRequestData(f"{key} is set by the broker and cannot be given")
    if data.get("type") != TYPE:
        raise BadRequestData(f"type must be {TYPE!r}, got {data.get('type')!r}")
    out: dict[str, Any] = {"id": check_uri(data["id"], "id") if "id" in data else new_id(), "type": TYPE}
    if "information" not in data:
        raise BadRequestData("information is mandatory")
    if "endpoint" not in data:
        raise BadRequestData("endpoint is mandatory")
    out.update(_members(data, ctx))
    out.setdefault("mode", "inclusive")
    out.setdefault("operations", ["federationOps"])
    if "expiresAt" in out and out["expiresAt"] <= now:
        raise BadRequestData(f"expiresAt {data['expiresAt']} is not in the future")
    check_mode(out)
    out["createdAt"] = out["modifiedAt"] = now
    return out


def merge_update(existing: dict, data: Any, ctx, now: str) -> dict:
    """The registration after a PATCH (5.9.3: the given members replace the stored ones; null removes
    an optional one), validated as a whole."""
    if not isinstance(data, dict) or not data:
        raise BadRequestData("The update must be a non-empty JSON object")
    for key in ("id", "type", *SYSTEM):
        if key in data and not (key == "type" and data[key] == TYPE) and not (key == "id" and data[key] == existing["id"]):
            raise BadRequestData(f"{key} cannot be changed")
    data = {k: v for k, v in data.items() if k not in ("id", "type")}
    updated = {**existing, "extra": dict(existing.get("extra", {}))}
    for key, value in data.items():
        if value is None or value == "urn:ngsi-ld:null":
            if key in ("information", "endpoint"):
                raise BadRequestData(f"{key} is mandatory and cannot be removed")
            updated.pop(key, None)
            updated["extra"].pop(ctx.expand_term(key) if key not in KNOWN else key, None)
    kept = {k: v for k, v in data.items() if v is not None and v != "urn:ngsi-ld:null"}
    members = _members(kept, ctx)
    updated["extra"].update(members.pop("extra", {}))
    updated.update(members)
    updated.setdefault("mode", "inclusive")
    updated.setdefault("operations", ["federationOps"])
    if not updated["extra"]:
        updated.pop("extra")
    if "expiresAt" in kept and updated["expiresAt"] <= now:
        raise BadRequestData(f"expiresAt {kept['expiresAt']} is not in the future")
    check_mode(updated)
    updated["modifiedAt"] = now
    return updated


def _members(data: dict, ctx) -> dict:
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("id", "type"):
            continue
        if key == "information":
            out[key] = _information(value, ctx)
        elif key == "endpoint":
            out[key] = _endpoint(value)
        elif key == "mode":
            if value not in MODES:
                raise BadRequestData(f"mode must be one of {', '.join(MODES)}, got {value!r}")
            out[key] = value
        elif key == "operations":
            out[key] = _operations(value)
        elif key == "management":
            out[key] = _management(value)
        elif key == "contextSourceInfo":
            out[key] = _key_values(value, key)
        elif key == "expiresAt":
            out[key] = utc_datetime(value, "expiresAt")
        elif key == "scope":
            out[key] = parse_scope(value)
        elif key == "refreshRate":
            _duration(value, key)
            out[key] = value
        elif key in GEO_MEMBERS:
            validate_geometry(value, where=key)
            out[key] = value
        elif key in INTERVALS:
            out[key] = _interval(value, key)
        elif key in STRINGS:
            if not isinstance(value, str) or not value:
                raise BadRequestData(f"{key} must be a non-empty string")
            out[key] = value
        else:  # an additional property of the registration (csf queries compare them)
            extra[expand_name(key, ctx)] = value
    if extra:
        out["extra"] = extra
    return out


def _endpoint(value: Any) -> str:
    if not isinstance(value, str) or not value.lower().startswith(("http://", "https://")):
        raise BadRequestData(f"endpoint must be an http(s) URI, got {value!r}")
    return check_uri(value, "endpoint")


def _information(value: Any, ctx) -> list[dict]:
    if not isinstance(value, list) or not value:
        raise BadRequestData("information must be a non-empty array of RegistrationInfo")
    return [_registration_info(item, ctx) for item in value]


def _registration_info(item: Any, ctx) -> dict:
    if not isinstance(item, dict):
        raise BadRequestData("each RegistrationInfo must be a JSON object")
    unknown = set(item) - {"entities", "propertyNames", "relationshipNames"}
    if unknown:
        raise BadRequestData(f"unknown member(s) of RegistrationInfo: {', '.join(sorted(unknown))}")
    if not item:
        raise BadRequestData("a RegistrationInfo needs entities, propertyNames or relationshipNames")
    out: dict[str, Any] = {}
    if "entities" in item:
        entities = item["entities"]
        if not isinstance(entities, list) or not entities:
            raise BadRequestData("entities must be a non-empty array of EntityInfo")
        out["entities"] = [_entity_info(e, ctx) for e in entities]
    for key in ("propertyNames", "relationshipNames"):
        if key in item:
            names = item[key]
            if not isinstance(names, list) or not names:
                raise BadRequestData(f"{key} must be a non-empty array of attribute names")
            out[key] = list(dict.fromkeys(expand_name(n, ctx) for n in names))
    return out


def _entity_info(item: Any, ctx) -> dict:
    if not isinstance(item, dict):
        raise BadRequestData("each EntityInfo must be a JSON object")
    unknown = set(item) - {"id", "idPattern", "type"}
    if unknown:
        raise BadRequestData(f"unknown member(s) of EntityInfo: {', '.join(sorted(unknown))}")
    if "type" not in item:
        raise BadRequestData("an EntityInfo must have a type")
    names = item["type"] if isinstance(item["type"], list) and item["type"] else [item["type"]]
    out: dict[str, Any] = {"type": [ctx.expand_term(check_name(n, "entity type")) for n in names]}
    if "id" in item:
        out["id"] = check_uri(item["id"], "EntityInfo id")
    if "idPattern" in item:
        if not isinstance(item["idPattern"], str):
            raise BadRequestData("idPattern must be a string")
        compile_pattern(item["idPattern"])
        out["idPattern"] = item["idPattern"]
    return out


def _operations(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadRequestData("operations must be a non-empty array of operation names")
    unknown = [v for v in value if v not in OPERATIONS and v not in GROUPS]
    if unknown:
        raise BadRequestData(f"unknown operation(s): {', '.join(unknown)}")
    return list(dict.fromkeys(value))


def _management(value: Any) -> dict:
    if not isinstance(value, dict):
        raise BadRequestData("management must be a JSON object")
    for key, item in value.items():
        kind = MANAGEMENT.get(key)
        if kind is None:
            raise BadRequestData(f"unknown member of management: {key}")
        if not isinstance(item, kind) or (kind is not bool and isinstance(item, bool)):
            raise BadRequestData(f"management.{key} has the wrong type: {item!r}")
        if key in ("timeout", "cooldown") and item <= 0:
            raise BadRequestData(f"management.{key} must be a positive number of milliseconds")
        if key == "cacheDuration":
            _duration(item, "management.cacheDuration")
    return dict(value)


def _duration(value: Any, what: str) -> None:
    try:
        parse_duration(value)
    except BadRequestData:
        raise BadRequestData(f"{what} must be an ISO 8601 duration such as PT1M, got {value!r}") from None


def _key_values(value: Any, what: str) -> list[dict]:
    if not isinstance(value, list):
        raise BadRequestData(f"{what} must be an array of {{key, value}} objects")
    for item in value:
        if not (isinstance(item, dict) and set(item) == {"key", "value"}
                and isinstance(item["key"], str) and item["key"] and isinstance(item["value"], str)):
            raise BadRequestData(f"{what}: each item must be {{\"key\": string, \"value\": string}}")
    return [dict(item) for item in value]


def _interval(value: Any, what: str) -> dict:
    if not isinstance(value, dict) or "startAt" not in value or set(value) - {"startAt", "endAt"}:
        raise BadRequestData(f"{what} must be {{startAt[, endAt]}}")
    for key, item in value.items():
        if not is_datetime(item):
            raise BadRequestData(f"{what}.{key} must be a DateTime")
    if "endAt" in value and utc_datetime(value["endAt"], "endAt") < utc_datetime(value["startAt"], "startAt"):
        raise BadRequestData(f"{what}: endAt is before startAt")
    return dict(value)


# -- the rules of the modes (4.3.6.2 – 4.3.6.5) ----------------------------------------------------

def check_mode(registration: dict) -> None:
    """An exclusive registration names entity ids and attributes; an auxiliary one supports only
    retrieval (and subscription) operations; a redirect or exclusive one names entities."""
    mode = registration["mode"]
    if mode == "auxiliary":
        writes = sorted(operations_of(registration) - AUXILIARY_ALLOWED)
        if writes:
            raise BadRequestData(f"an auxiliary registration supports only retrieval operations, not {', '.join(writes)}")
    if mode == "exclusive":
        for info in registration["information"]:
            if not info.get("entities") or any("id" not in e for e in info["entities"]):
                raise BadRequestData("an exclusive registration must name the entity id of every entity it registers")
            if not info.get("propertyNames") and not info.get("relationshipNames"):
                raise BadRequestData("an exclusive registration must name the attributes it registers")
    if mode == "redirect" and any(not info.get("entities") for info in registration["information"]):
        raise BadRequestData("a redirect registration must name the entities (at least their type) it registers")


def _attrs_of(info: dict) -> set[str] | None:
    names = set(info.get("propertyNames", ())) | set(info.get("relationshipNames", ()))
    return names or None  # None: every attribute


def _entities_overlap(a: dict, b: dict) -> bool:
    if set(a["type"]).isdisjoint(b["type"]):
        return False
    if "id" in a and "id" in b:
        return a["id"] == b["id"]
    for one, other in ((a, b), (b, a)):
        if "id" in one and "idPattern" in other:
            return bool(compile_pattern(other["idPattern"]).search(one["id"]))
    return True  # type only, or two patterns: they may select the same entities


def _infos_overlap(a: dict, b: dict) -> bool:
    attrs_a, attrs_b = _attrs_of(a), _attrs_of(b)
    if attrs_a is not None and attrs_b is not None and attrs_a.isdisjoint(attrs_b):
        return False
    ents_a, ents_b = a.get("entities"), b.get("entities")
    if not ents_a or not ents_b:
        return True
    return any(_entities_overlap(x, y) for x in ents_a for y in ents_b)


def check_overlap(registration: dict, others: list[dict]) -> None:
    """Conflict (409) when an exclusive registration would overlap another exclusive or a redirect
    one, or a redirect registration an exclusive one (the same entity and attribute would have two
    owners)."""
    mode = registration["mode"]
    if mode not in ("exclusive", "redirect"):
        return
    rivals = ("exclusive", "redirect") if mode == "exclusive" else ("exclusive",)
    for other in others:
        if other["id"] == registration["id"] or other["mode"] not in rivals:
            continue
        if any(_infos_overlap(a, b) for a in registration["information"] for b in other["information"]):
            raise Conflict(f"registration {other['id']} ({other['mode']}) already covers these entities and attributes")


# -- rendering ------------------------------------------------------------------------------------

def render(registration: dict, ctx, *, sys_attrs: bool = False, statistics: dict | None = None) -> dict:
    out: dict[str, Any] = {}
    for key, value in registration.items():
        if key in ("createdAt", "modifiedAt") and not sys_attrs:
            continue
        if key == "information":
            out[key] = [_render_info(info, ctx) for info in value]
        elif key == "contextSourceInfo":
            out[key] = [{"key": i["key"], "value": MASK if i["key"].lower() in SECRET_KEYS else i["value"]}
                        for i in value]
        elif key == "extra":
            out.update({ctx.compact_iri(name): item for name, item in value.items()})
        else:
            out[key] = value
    if statistics:
        out.update(statistics)
    return out


def _render_info(info: dict, ctx) -> dict:
    out: dict[str, Any] = {}
    if "entities" in info:
        out["entities"] = []
        for entity in info["entities"]:
            types = [ctx.compact_iri(t) for t in entity["type"]]
            shown = {"type": types[0] if len(types) == 1 else types}
            shown.update({k: entity[k] for k in ("id", "idPattern") if k in entity})
            out["entities"].append(shown)
    for key in ("propertyNames", "relationshipNames"):
        if key in info:
            out[key] = [ctx.compact_iri(n) for n in info[key]]
    return out
