"""Which registrations match a discovery query (5.10.2) or a distributed operation's target (4.3.6).

A RegistrationInfo matches when its entities match (by id, idPattern or type) and its attributes
(propertyNames + relationshipNames; none listed = every attribute) meet the requested ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from toshi.core.times import to_ms
from toshi.query.regex import compile_pattern

GEO_KEY = "https://uri.etsi.org/ngsi-ld/location"


@dataclass
class Target:
    """What an operation or a discovery asks about (expanded names); None = not restricted."""

    ids: list[str] | None = None
    id_pattern: str | None = None
    types: set[str] | None = None
    type_expr: Any = None        # toshi.query.typeexpr.TypeExpr (a query's type selection)
    attrs: set[str] | None = None
    geo: Any = None              # toshi.query.geo.GeoQuery
    scope: Any = None            # toshi.query.scope.ScopeQuery
    csf: Any = None              # toshi.query.qtree node over the registration's own properties
    interval: tuple[str, int | None, int | None] | None = None  # (member, from ms, until ms): a temporal query
    extra: dict = field(default_factory=dict)


def _entity_matches(info: dict, target: Target) -> bool:
    if target.types is not None and target.types.isdisjoint(info["type"]):
        return False
    if target.type_expr is not None and not target.type_expr.matches(info["type"]):
        return False
    if target.ids is not None:
        if "id" in info:
            return info["id"] in target.ids
        if "idPattern" in info:
            pattern = compile_pattern(info["idPattern"])
            return any(pattern.search(i) for i in target.ids)
        return True
    if target.id_pattern is not None and "id" in info:
        return bool(compile_pattern(target.id_pattern).search(info["id"]))
    return True


def info_matches(info: dict, target: Target) -> bool:
    entities = info.get("entities")
    if entities and not any(_entity_matches(e, target) for e in entities):
        return False
    provided = provided_attrs(info)
    return target.attrs is None or provided is None or not provided.isdisjoint(target.attrs)


def provided_attrs(info: dict) -> set[str] | None:
    names = set(info.get("propertyNames", ())) | set(info.get("relationshipNames", ()))
    return names or None


def matches(registration: dict, target: Target) -> bool:
    if not any(info_matches(info, target) for info in registration["information"]):
        return False
    if target.geo is not None:
        geometry = registration.get(_short(target.geo.geoproperty))
        if geometry is None or not target.geo.matches(_as_entity(registration, geometry), GEO_KEY):
            return False
    if target.scope is not None and not target.scope.matches(registration.get("scope") or []):
        return False
    if target.interval is not None and not _within(registration, *target.interval):
        return False
    return target.csf is None or target.csf.matches(_properties_entity(registration))


def _within(registration: dict, member: str, start: int | None, end: int | None) -> bool:
    """Whether the registration's observationInterval / managementInterval (startAt, endAt; no endAt:
    open) overlaps the queried times [start, end) (None: unbounded). Without that interval it does
    not match, as an entity without the time property matches no temporal query (4.11)."""
    interval = registration.get(member)
    if not isinstance(interval, dict) or "startAt" not in interval:
        return False
    if end is not None and to_ms(interval["startAt"]) >= end:
        return False
    return start is None or "endAt" not in interval or to_ms(interval["endAt"]) >= start


def _short(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


def _as_entity(registration: dict, geometry: dict) -> dict:
    return {"id": registration["id"], "type": [], "attrs": {GEO_KEY: [{"type": "GeoProperty", "value": geometry}]}}


def _properties_entity(registration: dict) -> dict:
    """The registration as an entity whose Properties are its own members (for csf)."""
    attrs = {}
    for name, value in (registration.get("extra") or {}).items():
        instance = value if isinstance(value, dict) and "type" in value else {"type": "Property", "value": value}
        attrs[name] = [instance]
    for name in ("registrationName", "description", "mode", "endpoint", "tenant"):
        if name in registration:
            attrs[name] = [{"type": "Property", "value": registration[name]}]
    return {"id": registration["id"], "type": [], "attrs": attrs}
