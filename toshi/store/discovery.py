"""Entity types and attributes of a tenant (the NGSI-LD discovery endpoints), the same on both
databases but for the two statements that take an entity document apart."""

from __future__ import annotations

from toshi.core.access import read_guard
from toshi.store.reading import visible_attribute_details, visible_type_details


class SqlDiscovery:
    """Mixed into a store that has `db`; the store names its dialect's statements:
    ATTRIBUTE_KINDS gives the distinct (entity type, attribute, attribute kind) of a tenant's entities,
    ATTRIBUTE_COUNTS (attribute, entities having it)."""

    ATTRIBUTE_KINDS: str
    ATTRIBUTE_COUNTS: str

    async def entity_types(self, tenant: str) -> list[str]:
        rows = self.db.execute("SELECT DISTINCT type FROM entity_types WHERE tenant=? ORDER BY type", (tenant,))
        guard = read_guard()
        return [r[0] for r in rows if guard is None or guard.type_visible(r[0])]

    async def type_details(self, tenant: str) -> dict[str, dict]:
        """{type: {"count": n, "attrs": {attr IRI: set of attribute kinds}}}."""
        details = {type_: {"count": count, "attrs": {}} for type_, count in self.db.execute(
            "SELECT type, count(*) FROM entity_types WHERE tenant=? GROUP BY type", (tenant,))}
        for type_, attr, kind in self.db.execute(self.ATTRIBUTE_KINDS, (tenant,)):
            details[type_]["attrs"].setdefault(attr, set()).add(kind)
        return visible_type_details(details, read_guard())

    async def attribute_details(self, tenant: str) -> dict[str, dict]:
        """{attr IRI: {"count": entities having it, "types": entity types, "kinds": attribute kinds}}."""
        details: dict[str, dict] = {}
        for type_, attr, kind in self.db.execute(self.ATTRIBUTE_KINDS, (tenant,)):
            entry = details.setdefault(attr, {"count": 0, "types": set(), "kinds": set()})
            entry["types"].add(type_)
            entry["kinds"].add(kind)
        for attr, count in self.db.execute(self.ATTRIBUTE_COUNTS, (tenant,)):
            details[attr]["count"] = count
        return visible_attribute_details(details, read_guard())
