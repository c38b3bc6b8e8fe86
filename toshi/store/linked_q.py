"""Linked-entity subqueries of q (`rel{name}=="x"`, `rel{Building:name}=="x"`; v1.9 clause 4.9,
EXAMPLE 13 / 14), resolved before a query runs (by the caller that let q hold them, before it hands
the query to the store): each `Linked` node of the tree becomes a comparison
of the Relationship with the ids of the entities it may point to, so the SQL q compiles to
(toshi.store.q_sql) handles what is left as any other term.

The linked entities are found with a query of their own on the same store, tenant and read path (an
entity the reader may not see, or whose attribute is hidden, links to nothing); nested subqueries
resolve the same way, innermost first.
"""

from __future__ import annotations

from toshi.core.access import judging
from toshi.core.errors import TooComplexQuery
from toshi.core.expiry import not_expired
from toshi.query.planner import EntityQuery
from toshi.query.qtree import And, Comparison, Exists, Linked, Literal, Or, Path, QNode, has_linked
from toshi.query.typeexpr import TypeName

MAX_LINKED = 10_000  # entities one subquery may match


async def resolve_linked(store, tenant: str, query: EntityQuery) -> None:
    """Replace the linked-entity subqueries of `query.q` (in place) by what they select."""
    if query.q is not None and has_linked(query.q):
        query.q = await _resolved(store, tenant, query.q)


async def _resolved(store, tenant: str, node: QNode) -> QNode:
    if isinstance(node, (And, Or)):
        return type(node)(tuple([await _resolved(store, tenant, child) for child in node.children]))
    if not isinstance(node, Linked):
        return node
    term = await _resolved(store, tenant, node.term)  # nested subqueries first
    sub = EntityQuery(types=TypeName(node.entity_type) if node.entity_type else None, q=term,
                      limit=MAX_LINKED + 1, extra=[not_expired])
    mark = judging.set(True)  # read to decide the match, not handed over
    try:
        found, _ = await store.query_entities(tenant, sub)
    finally:
        judging.reset(mark)
    if len(found) > MAX_LINKED:
        raise TooComplexQuery(f"a linked-entity subquery of q matches more than {MAX_LINKED} entities")
    ids = sorted({entity["id"] for entity in found if entity is not None})
    if not ids:  # no entity to link to: a term that never holds
        rel = Path(node.rel.attr, node.rel.subs)
        return And((Exists(rel), Exists(rel, negated=True)))
    return Comparison(node.rel, "==", tuple(Literal("string", entity_id) for entity_id in ids))
