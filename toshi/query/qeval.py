"""What a q path addresses in an internal entity (docs/internals.md), and how a value compares with a
query value; the nodes of toshi.query.qtree evaluate themselves with these.

The term holds when any instance of the attribute satisfies it. The compared value is a Property's
`value`, a Relationship's `object`, a ListRelationship's `objectList`, a JsonProperty's `json`, a
VocabProperty's `vocab`, a ListProperty's `valueList`, each of a LanguageProperty's languageMap
values; a GeoProperty is never compared. `{"@value": ...}` objects compare as their @value, arrays as
any of their elements. Values of another type than the query value never match; `!=` and `!~=` are
the negation of `==` and `~=` for an instance that has the value (ETSI: values of different types
"shall be considered unequal"). Ordering operators never match a Relationship's object. Unquoted DateTime/Date/Time values compare chronologically with
strings holding ISO 8601 values (a Date is midnight UTC).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from toshi.core.times import instant_key, time_key

if TYPE_CHECKING:
    from toshi.query.qtree import Literal, Path

# The member holding the value q compares, by attribute type (default "value"); None: not comparable.
VALUE_FIELDS: dict[str, str | None] = {
    "Relationship": "object",
    "ListRelationship": "objectList",
    "LanguageProperty": "languageMap",
    "JsonProperty": "json",
    "VocabProperty": "vocab",
    "ListProperty": "valueList",
    "GeoProperty": None,
}
# Whether an ordering (compare()'s result) satisfies an operator.
HOLDS: dict[str, Callable[[int], bool]] = {
    "==": lambda r: r == 0,
    ">": lambda r: r > 0,
    ">=": lambda r: r >= 0,
    "<": lambda r: r < 0,
    "<=": lambda r: r <= 0,
}


def instances(entity: dict, attr: str) -> list[dict]:
    attrs = entity.get("attrs")
    found = attrs.get(attr) if isinstance(attrs, dict) else None
    return [inst for inst in found if isinstance(inst, dict)] if isinstance(found, list) else []


def resolve(inst: dict, path: Path) -> tuple[Any, bool] | None:
    """The value `path` addresses in one instance and whether it is a languageMap; None if absent."""
    node = _sub_instance(inst, path.subs)
    if node is None:
        return None
    if path.meta:
        return (node[path.meta], False) if path.meta in node else None
    name = _value_field(node)
    if name is None or name not in node:
        return None
    value = node[name]
    for key in path.keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value, name == "languageMap" and not path.keys


def is_relationship_target(inst: dict, path: Path) -> bool:
    """Whether `path` addresses the object(s) of a Relationship or ListRelationship, which ordering
    operators (<, <=, >, >=) never match."""
    if path.meta or path.keys:
        return False
    node = _sub_instance(inst, path.subs)
    return node is not None and node.get("type") in ("Relationship", "ListRelationship")


def has_path(inst: dict, path: Path) -> bool:
    if path.meta or path.keys:
        return resolve(inst, path) is not None
    return _sub_instance(inst, path.subs) is not None


def candidates(value: Any, language_map: bool) -> list:
    """The values a query value is compared with; containers left in the list never match."""
    if language_map:
        return [_unwrap(item) for member in _members(value) for item in _as_list(member)]
    value = _unwrap(value)
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return [] if isinstance(value, dict) else [value]


def compare(value: Any, literal: Literal) -> int | None:
    """-1, 0 or 1 as `value` sorts before, with or after the literal; None when they do not compare."""
    key = _key(value, literal.kind)
    if key is None:
        return None
    return (key > literal.value) - (key < literal.value)


def between(value: Any, low: Literal, high: Literal) -> bool:
    above, below = compare(value, low), compare(value, high)
    return above is not None and below is not None and above >= 0 and below <= 0


def _sub_instance(inst: dict, subs: tuple[str, ...]) -> dict | None:
    node: Any = inst
    for name in subs:
        sub = node.get("sub")
        node = sub.get(name) if isinstance(sub, dict) else None
        if not isinstance(node, dict):
            return None
    return node


def _value_field(node: dict) -> str | None:
    kind = node.get("type")
    return VALUE_FIELDS.get(kind, "value") if isinstance(kind, str) else "value"


def _unwrap(value: Any) -> Any:
    return value["@value"] if isinstance(value, dict) and "@value" in value else value


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _members(value: Any) -> list:
    return list(value.values()) if isinstance(value, dict) else _as_list(value)


def _key(value: Any, kind: str) -> Any:
    if kind == "number":
        return value if type(value) in (int, float) else None  # bool is not a number here
    if kind == "boolean":
        return value if type(value) is bool else None
    if type(value) is not str:
        return None
    if kind == "string":
        return value
    return instant_key(value) if kind == "instant" else time_key(value)
