"""What an entity query asks for, independent of any API syntax or store.

Both HTTP layers (NGSI-LD, NGSI-v2) build an `EntityQuery`; every store answers it. `matches()` is
the reference semantics: a store may narrow candidates in its own query language but must return
exactly the entities for which `matches()` is true.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EntityQuery:
    ids: list[str] | None = None
    id_pattern: str | None = None
    types: Any = None            # toshi.query.typeexpr.TypeExpr
    attrs: set[str] | None = None  # expanded names; an entity must have at least one of them
    q: Any = None                # toshi.query.qtree.QNode
    geo: Any = None              # toshi.query.geo.GeoQuery
    scope: Any = None            # toshi.query.scope.ScopeQuery
    limit: int = 20
    offset: int = 0
    count: bool = False
    extra: list = field(default_factory=list)  # further predicates entity -> bool (e.g. access control)
    # Keyset paging (a full scan in linear time): `after` is a position a store handed back in
    # `next_after` (the position of the last entity of its page; None when the page is empty); the
    # page then starts after that entity, in the same (creation) order, as if `offset` counted from
    # there. Positions are opaque and stay valid when the entity itself is deleted meanwhile.
    after: int | None = None
    next_after: int | None = None

    def matches(self, entity: dict) -> bool:
        from toshi.query.regex import compile_pattern

        if self.ids is not None and entity["id"] not in self.ids:
            return False
        if self.id_pattern is not None and not compile_pattern(self.id_pattern).search(entity["id"]):
            return False
        return self.matches_residual(entity, types=True, attrs=True, q=True)

    def matches_residual(self, entity: dict, *, types: bool, attrs: bool, q: bool) -> bool:
        """The conditions a store could not evaluate itself (flags say which still need checking)."""
        if types and self.types is not None and not self.types.matches(entity["type"]):
            return False
        if attrs and self.attrs is not None and not self.attrs.intersection(entity["attrs"]):
            return False
        if q and self.q is not None and not self.q.matches(entity):
            return False
        if self.geo is not None and not self.geo.matches(entity):
            return False
        if self.scope is not None and not self.scope.matches(entity.get("scope") or []):
            return False
        return all(predicate(entity) for predicate in self.extra)
