"""The tree of a q expression (NGSI-LD, ETSI GS CIM 009 v1.8 clause 4.9; NGSI-v2 maps onto it too).

toshi.query.qparse builds it from NGSI-LD text, toshi.ngsiv2.q from NGSI-v2 text; `QNode.matches` is
the reference semantics (toshi.query.qeval); toshi.store.q_sql translates a tree into SQL that selects
exactly the entities it matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from toshi.query.qeval import (
    HOLDS,
    between,
    candidates,
    compare,
    has_path,
    instances,
    is_relationship_target,
    resolve,
)
from toshi.query.regex import Pattern

EQUALITY_OPS = ("==", "!=")


@dataclass(frozen=True)
class Path:
    attr: str  # expanded attribute name
    subs: tuple[str, ...] = ()  # expanded sub-attribute names
    meta: str | None = None  # observedAt, createdAt, modifiedAt, unitCode or datasetId
    keys: tuple[str, ...] = ()  # members selected inside the value, never expanded


@dataclass(frozen=True)
class Literal:
    kind: str  # "number", "string", "boolean", "instant" (DateTime or Date) or "time"
    value: Any  # the number, string or bool; the sortable key for instants and times


class QNode:
    """A node of a parsed q expression."""

    def matches(self, entity: dict) -> bool:
        raise NotImplementedError

    def attribute_names(self) -> set[str]:
        """The expanded names of the attributes the expression refers to."""
        raise NotImplementedError

    def term_count(self) -> int:
        """How many terms (leaves) the expression has."""
        return 1

    def depth(self) -> int:
        """How deeply groups of ';' and '|' nest (0 for a single term)."""
        return 0


@dataclass(frozen=True)
class And(QNode):
    children: tuple[QNode, ...]

    def matches(self, entity: dict) -> bool:
        return all(child.matches(entity) for child in self.children)

    def attribute_names(self) -> set[str]:
        return set().union(*(child.attribute_names() for child in self.children))

    def term_count(self) -> int:
        return sum(child.term_count() for child in self.children)

    def depth(self) -> int:
        return 1 + max(child.depth() for child in self.children)


@dataclass(frozen=True)
class Or(QNode):
    children: tuple[QNode, ...]

    def matches(self, entity: dict) -> bool:
        return any(child.matches(entity) for child in self.children)

    def attribute_names(self) -> set[str]:
        return set().union(*(child.attribute_names() for child in self.children))

    def term_count(self) -> int:
        return sum(child.term_count() for child in self.children)

    def depth(self) -> int:
        return 1 + max(child.depth() for child in self.children)


@dataclass(frozen=True)
class Exists(QNode):
    """`path` (some instance has it) or, negated, `!path` (no instance has it)."""

    path: Path
    negated: bool = False

    def matches(self, entity: dict) -> bool:
        found = any(has_path(inst, self.path) for inst in instances(entity, self.path.attr))
        return found != self.negated

    def attribute_names(self) -> set[str]:
        return {self.path.attr}


class _Term(QNode):
    """A comparison of the value a path addresses; subclasses say how a candidate value is tested."""

    path: Path
    negated: bool  # holds when the instance has the value but the positive test fails

    def _test(self, values: list) -> bool:
        raise NotImplementedError

    def matches(self, entity: dict) -> bool:
        return any(self._matches_instance(inst) for inst in instances(entity, self.path.attr))

    def _matches_instance(self, inst: dict) -> bool:
        target = resolve(inst, self.path)
        if target is None:
            return False
        return self._test(candidates(*target)) != self.negated

    def attribute_names(self) -> set[str]:
        return {self.path.attr}


@dataclass(frozen=True)
class Comparison(_Term):
    """`path op value`; for a range `values` is (low, high), for a value list all the listed values."""

    path: Path
    op: str
    values: tuple[Literal, ...]
    is_range: bool = False

    @property
    def negated(self) -> bool:
        return self.op == "!="

    @property
    def is_ordering(self) -> bool:
        return self.op not in EQUALITY_OPS

    def _matches_instance(self, inst: dict) -> bool:
        if self.is_ordering and is_relationship_target(inst, self.path):
            return False
        return super()._matches_instance(inst)

    def _test(self, values: list) -> bool:
        if self.is_range:
            low, high = self.values
            return any(between(value, low, high) for value in values)
        holds = HOLDS["==" if self.op in EQUALITY_OPS else self.op]
        return any(
            (order := compare(value, literal)) is not None and holds(order)
            for value in values
            for literal in self.values
        )


@dataclass(frozen=True)
class Match(_Term):
    """`path~=regex` or, negated, `path!~=regex` (RE2, unanchored search)."""

    path: Path
    pattern: Pattern = field(compare=False)
    source: str = ""
    negated: bool = False

    def _test(self, values: list) -> bool:
        return any(type(value) is str and self.pattern.search(value) for value in values)


@dataclass(frozen=True)
class Linked(QNode):
    """`rel{term}` or `rel{Type:term}` (v1.9 clause 4.9, EXAMPLE 13 / 14): some entity the Relationship
    `rel` points to (of type `entity_type`, when given) satisfies `term`, a term over that entity.

    One entity alone cannot say: the node is resolved before the query runs (toshi.store.linked_q),
    into a comparison of `rel` with the ids of the linked entities that match."""

    rel: Path
    term: QNode
    entity_type: str | None = None  # expanded

    def matches(self, entity: dict) -> bool:
        raise RuntimeError("a linked-entity subquery is matched only after the store has resolved it")

    def attribute_names(self) -> set[str]:
        return {self.rel.attr}

    def term_count(self) -> int:
        return 1 + self.term.term_count()


def has_linked(node: QNode) -> bool:
    """Whether the expression holds a linked-entity subquery."""
    return linked_depth(node) > 0


def linked_depth(node: QNode) -> int:
    """How many relationships deep the expression's linked-entity subqueries reach (0: none)."""
    if isinstance(node, (And, Or)):
        return max(linked_depth(child) for child in node.children)
    return 1 + linked_depth(node.term) if isinstance(node, Linked) else 0
