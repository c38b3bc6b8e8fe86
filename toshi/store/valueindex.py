"""An index of attribute values, so that `q` comparisons need not read every entity.

A store keeps, for every top-level attribute, the scalar values a `q` comparison would compare
(`index_values`). `index_terms` turns the comparisons of a q expression into conditions on those
values. The values are exactly the numbers and strings `QNode.matches` compares, so a term is an
exact filter for its comparison, and a q made only of such terms (joined by `;`) needs no other check.

SQL relies on SQLite's ordering of values in a column without affinity: numbers sort before all
text, so `val < ''` keeps numbers only and `val >= ''` keeps text only. Text compares byte-wise in
UTF-8, which is code point order, the same as Python's string comparison.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from toshi.query.qeval import candidates, resolve
from toshi.query.qtree import And, Comparison, Path, QNode

INT64 = 2**63
PLAIN_PATH = ("subs", "meta", "keys")


@dataclass(frozen=True)
class IndexTerm:
    attr: str
    sql: str        # SQLite condition on column `val`
    params: tuple
    op: str = "in"  # "in" (any of params), "range" (between the two params), or <, <=, >, >= the one param


def index_values(instances: list[dict]) -> list:
    """The distinct numbers and strings a q comparison on this attribute compares."""
    values = []
    path = Path(attr="")
    for inst in instances:
        if inst.get("type") == "Property" and type(inst.get("value")) in (int, float, str):  # the common case
            value = inst["value"]
            if _indexable(value) and value not in values:
                values.append(value)
            continue
        target = resolve(inst, path)
        if target is None:
            continue
        for value in candidates(*target):
            if _indexable(value) and value not in values:
                values.append(value)
    return values


def changed_values(entity: dict, before: dict | None) -> Iterator[tuple[str, bool, list]]:
    """For each attribute whose instances a write changed: its name, whether it had index rows to
    remove (it existed before), and the values to index now (none when it is gone)."""
    old = before["attrs"] if before is not None else {}
    new = entity["attrs"]
    for name in old.keys() | new.keys():
        instances = new.get(name)
        if instances is not old.get(name) and instances != old.get(name):  # untouched attributes keep their list
            yield name, name in old, index_values(instances) if instances else []


def geo_unchanged(entity: dict, before: dict) -> bool:
    """Whether a write left every GeoProperty as it was (each attribute it did not touch keeps its
    list of instances), so the geometry index needs no work."""
    old, new = before["attrs"], entity["attrs"]
    for name in old.keys() | new.keys():
        instances, previous = new.get(name), old.get(name)
        if instances is previous:
            continue
        if any(i.get("type") == "GeoProperty" for i in (*(instances or ()), *(previous or ()))):
            return False
    return True


def _indexable(value) -> bool:
    if type(value) is int:
        return -INT64 <= value < INT64
    return type(value) in (float, str)


def index_terms(node: QNode) -> tuple[list[IndexTerm], bool]:
    """Index conditions implied by `node` (all must hold), and whether they alone decide `node`."""
    if isinstance(node, Comparison):
        term = _term(node)
        # an ordering on a string may meet a Relationship's object, which only QNode.matches excludes
        decides = not (node.is_ordering and node.values[0].kind == "string")
        return ([term], decides) if term else ([], False)
    if isinstance(node, And):
        terms, exact = [], True
        for child in node.children:
            found, child_exact = index_terms(child)
            terms.extend(found)
            exact = exact and child_exact
        return terms, exact and bool(terms)
    return [], False


def _term(node: Comparison) -> IndexTerm | None:
    if node.negated or any(getattr(node.path, part) for part in PLAIN_PATH):
        return None
    kinds = {literal.kind for literal in node.values}
    if not kinds <= {"number", "string"} or not all(_indexable(lit.value) for lit in node.values):
        return None
    if node.is_range:
        if len(kinds) != 1:
            return None
        return IndexTerm(node.path.attr, "val >= ? AND val <= ?", (node.values[0].value, node.values[1].value), "range")
    if node.op in ("==", "="):
        marks = ",".join("?" * len(node.values))
        return IndexTerm(node.path.attr, f"val IN ({marks})", tuple(lit.value for lit in node.values))
    if len(node.values) != 1:
        return None
    literal = node.values[0]
    return IndexTerm(node.path.attr, _ordering_sql(node.op, literal.kind), (literal.value,), node.op)


def _ordering_sql(op: str, kind: str) -> str:
    upward = op in (">", ">=")
    if kind == "number":
        return f"val {op} ? AND val < ''" if upward else f"val {op} ?"
    return f"val {op} ?" if upward else f"val {op} ? AND val >= ''"
