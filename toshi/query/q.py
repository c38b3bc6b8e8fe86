"""The NGSI-LD query language `q` (ETSI GS CIM 009 v1.8, clause 4.9).

`parse_q` turns the text into a tree of `QNode`s; `QNode.matches` evaluates it against an internal
entity (docs/internals.md); `to_sqlite` translates it into an equivalent SQLite JSON1 expression
(tests/query/test_q.py checks the equivalence on generated entities and queries).

Accepted grammar (blanks between tokens are ignored; `;` binds tighter than `|`):

    query  = and *("|" and)
    and    = unary *(";" unary)
    unary  = "(" query ")" / "!" path / path [op value]
    path   = name *("." name) *("[" key *("." key) "]")
    op     = "==" / "!=" / ">" / ">=" / "<" / "<=" / "~=" / "!~="
    value  = item / item ".." item / item 1*("," item)     ; ranges and lists only with == and !=
    item   = "quoted string" / number / true / false / DateTime / Date / Time / URI

In a path the first name is an attribute, the following names are sub-attributes, a final
observedAt/createdAt/modifiedAt/unitCode/datasetId addresses that field of the instance, and keys in
brackets select members of the JSON value. Attribute and sub-attribute names go through `expand`; keys
do not. `!path` is true when no instance has the path.

Evaluation: the term holds when any instance of the attribute satisfies it. The compared value is a
Property's `value`, a Relationship's `object`, a ListRelationship's `objectList`, a JsonProperty's
`json`, a VocabProperty's `vocab`, a ListProperty's `valueList`, each of a LanguageProperty's
languageMap values; a GeoProperty is never compared. `{"@value": ...}` objects compare as their
@value, arrays as any of their elements. Values of another type than the query value never match;
`!=` and `!~=` are the negation of `==` and `~=` for an instance that has the value (ETSI: values of
different types "shall be considered unequal"). Unquoted DateTime/Date/Time values compare
chronologically with strings holding ISO 8601 values (a Date is midnight UTC).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from toshi.core.errors import BadRequestData, TooComplexQuery
from toshi.core.times import instant_key, time_key
from toshi.query.regex import Pattern, compile_pattern

MAX_Q_LENGTH = 4000
MAX_DEPTH = 32  # parentheses
MAX_TERMS = 256
# Larger expressions are not translated: SQLite's parser stack (about 100 entries) limits nesting.
MAX_SQL_TERMS = 64
MAX_SQL_DEPTH = 6  # nested groups of ';' and '|'

META_FIELDS = frozenset({"observedAt", "createdAt", "modifiedAt", "unitCode", "datasetId"})
ENTITY_MEMBERS = frozenset(
    {"id", "@id", "type", "@type", "scope", "createdAt", "modifiedAt", "deletedAt", "@context"}
)
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
EQUALITY_OPS = ("==", "!=")
_OPERATORS = ("==", "!=", "!~=", "~=", ">=", "<=", ">", "<")
_HOLDS: dict[str, Callable[[int], bool]] = {
    "==": lambda r: r == 0,
    ">": lambda r: r > 0,
    ">=": lambda r: r >= 0,
    "<": lambda r: r < 0,
    "<=": lambda r: r <= 0,
}


# ---------------------------------------------------------------------------------------------------
# The tree


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

    def _sql(self, regexp: str | None) -> Frag | None:
        """An exactly equivalent SQLite expression, or None."""
        raise NotImplementedError

    def _prefilter(self, regexp: str | None) -> Frag | None:
        """A SQLite expression true for every entity that matches (None: no restriction)."""
        return self._sql(regexp)

    def _term_count(self) -> int:
        return 1

    def _depth(self) -> int:
        return 0


@dataclass(frozen=True)
class And(QNode):
    children: tuple[QNode, ...]

    def matches(self, entity: dict) -> bool:
        return all(child.matches(entity) for child in self.children)

    def attribute_names(self) -> set[str]:
        return set().union(*(child.attribute_names() for child in self.children))

    def _sql(self, regexp: str | None) -> Frag | None:
        parts = [child._sql(regexp) for child in self.children]
        return None if None in parts else _join(" AND ", parts)

    def _prefilter(self, regexp: str | None) -> Frag | None:
        parts = [part for child in self.children if (part := child._prefilter(regexp)) is not None]
        return _join(" AND ", parts) if parts else None

    def _term_count(self) -> int:
        return sum(child._term_count() for child in self.children)

    def _depth(self) -> int:
        return 1 + max(child._depth() for child in self.children)


@dataclass(frozen=True)
class Or(QNode):
    children: tuple[QNode, ...]

    def matches(self, entity: dict) -> bool:
        return any(child.matches(entity) for child in self.children)

    def attribute_names(self) -> set[str]:
        return set().union(*(child.attribute_names() for child in self.children))

    def _sql(self, regexp: str | None) -> Frag | None:
        parts = [child._sql(regexp) for child in self.children]
        return None if None in parts else _join(" OR ", parts)

    def _prefilter(self, regexp: str | None) -> Frag | None:
        parts = [child._prefilter(regexp) for child in self.children]
        return None if None in parts else _join(" OR ", parts)

    def _term_count(self) -> int:
        return sum(child._term_count() for child in self.children)

    def _depth(self) -> int:
        return 1 + max(child._depth() for child in self.children)


@dataclass(frozen=True)
class Exists(QNode):
    """`path` (some instance has it) or, negated, `!path` (no instance has it)."""

    path: Path
    negated: bool = False

    def matches(self, entity: dict) -> bool:
        found = any(_has_path(inst, self.path) for inst in _instances(entity, self.path.attr))
        return found != self.negated

    def attribute_names(self) -> set[str]:
        return {self.path.attr}

    def _sql(self, regexp: str | None) -> Frag | None:
        if not _sql_safe(self.path):
            return None
        found = _instances_sql(self.path.attr, _has_path_sql(self.path))
        return _fmt("NOT {}", found) if self.negated else found


class _Term(QNode):
    """A comparison of the value a path addresses; subclasses say how a candidate value is tested."""

    path: Path
    negated: bool  # holds when the instance has the value but the positive test fails

    def _test(self, candidates: list) -> bool:
        raise NotImplementedError

    def _sql_test(self, regexp: str | None) -> Frag | None:
        """Condition on a candidate row `c` (columns v, t and, for temporal literals, ki / kt)."""
        raise NotImplementedError

    def _kinds(self) -> set[str]:
        return set()

    def matches(self, entity: dict) -> bool:
        return any(self._matches_instance(inst) for inst in _instances(entity, self.path.attr))

    def _matches_instance(self, inst: dict) -> bool:
        target = _resolve(inst, self.path)
        if target is None:
            return False
        return self._test(_candidates(*target)) != self.negated

    def attribute_names(self) -> set[str]:
        return {self.path.attr}

    def _sql(self, regexp: str | None) -> Frag | None:
        test = self._sql_test(regexp)
        if test is None or not _sql_safe(self.path):
            return None
        return _term_sql(self.path, test, self.negated, self._kinds())


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

    def _test(self, candidates: list) -> bool:
        if self.is_range:
            low, high = self.values
            return any(_between(value, low, high) for value in candidates)
        holds = _HOLDS["==" if self.op in EQUALITY_OPS else self.op]
        return any(
            (order := _compare(value, literal)) is not None and holds(order)
            for value in candidates
            for literal in self.values
        )

    def _sql_test(self, regexp: str | None) -> Frag | None:
        if self.is_range:
            parts = [_literal_sql(self.values[0], ">="), _literal_sql(self.values[1], "<=")]
            return None if None in parts else _join(" AND ", parts)
        op = "=" if self.op in EQUALITY_OPS else self.op
        parts = [_literal_sql(literal, op) for literal in self.values]
        return None if None in parts else _join(" OR ", parts)

    def _kinds(self) -> set[str]:
        return {literal.kind for literal in self.values}


@dataclass(frozen=True)
class Match(_Term):
    """`path~=regex` or, negated, `path!~=regex` (RE2, unanchored search)."""

    path: Path
    pattern: Pattern = field(compare=False)
    source: str = ""
    negated: bool = False

    def _test(self, candidates: list) -> bool:
        return any(type(value) is str and self.pattern.search(value) for value in candidates)

    def _sql_test(self, regexp: str | None) -> Frag | None:
        if regexp is None:
            return None  # SQLite has no RE2 of its own
        return _fmt(f"(c.t = 'text' AND {regexp}({{}}, c.v))", _param(self.source))


# ---------------------------------------------------------------------------------------------------
# Evaluation against the internal entity


def _instances(entity: dict, attr: str) -> list[dict]:
    attrs = entity.get("attrs")
    instances = attrs.get(attr) if isinstance(attrs, dict) else None
    return [inst for inst in instances if isinstance(inst, dict)] if isinstance(instances, list) else []


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


def _resolve(inst: dict, path: Path) -> tuple[Any, bool] | None:
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


def _has_path(inst: dict, path: Path) -> bool:
    if path.meta or path.keys:
        return _resolve(inst, path) is not None
    return _sub_instance(inst, path.subs) is not None


def _unwrap(value: Any) -> Any:
    return value["@value"] if isinstance(value, dict) and "@value" in value else value


def _candidates(value: Any, language_map: bool) -> list:
    """The values a query value is compared with; containers left in the list never match."""
    if language_map:
        return [_unwrap(item) for member in _members(value) for item in _as_list(member)]
    value = _unwrap(value)
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return [] if isinstance(value, dict) else [value]


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


def _compare(value: Any, literal: Literal) -> int | None:
    key = _key(value, literal.kind)
    if key is None:
        return None
    return (key > literal.value) - (key < literal.value)


def _between(value: Any, low: Literal, high: Literal) -> bool:
    above, below = _compare(value, low), _compare(value, high)
    return above is not None and below is not None and above >= 0 and below <= 0


# ---------------------------------------------------------------------------------------------------
# Translation to SQLite (JSON1) over a TEXT column `doc` holding the entity as JSON.
#
# SQLite 3.40 matches path labels against the raw key text of the JSON, so names containing characters
# a serialiser escapes (quote, backslash, control characters) are not translated; non-ASCII keys must be
# stored unescaped (orjson does so).


@dataclass(frozen=True)
class Frag:
    sql: str
    params: tuple = ()


def _param(value: Any) -> Frag:
    return Frag("?", (value,))


def _fmt(template: str, *parts: Frag) -> Frag:
    """Put `parts` into the `{}` slots of `template`, keeping parameters in textual order."""
    pieces = template.split("{}")
    assert len(pieces) == len(parts) + 1, template
    sql, params = [pieces[0]], []
    for part, piece in zip(parts, pieces[1:]):
        sql += [part.sql, piece]
        params += part.params
    return Frag("".join(sql), tuple(params))


def _join(separator: str, parts: list) -> Frag:
    return _fmt("(" + separator.join(["{}"] * len(parts)) + ")", *parts)


def _safe_name(name: str) -> bool:
    return '"' not in name and "\\" not in name and all(ord(ch) >= 0x20 for ch in name)


def _sql_safe(path: Path) -> bool:
    return all(_safe_name(name) for name in (path.attr, *path.subs, *path.keys))


def _labels(names: tuple[str, ...]) -> str:
    return "".join(f'."{name}"' for name in names)


def _instance_path(path: Path) -> str:
    return "$" + "".join(f'.sub."{name}"' for name in path.subs)


def _instances_sql(attr: str, condition: Frag, lets: Frag | None = None) -> Frag:
    """Some instance `i` of `attr` satisfies `condition`; `lets` are extra FROM items bound per instance."""
    lets = _fmt(", {}", lets) if lets else Frag("")
    return _fmt(
        "EXISTS (SELECT 1 FROM json_each(doc, {}) AS i{} WHERE i.type = 'object' AND {})",
        _param(f'$.attrs."{attr}"'),
        lets,
        condition,
    )


_FIELD_WHENS = " ".join(
    f"WHEN '{kind}' THEN " + (f"'.{name}'" if name else "NULL") for kind, name in VALUE_FIELDS.items()
)


def _value_path_sql(path: Path) -> Frag:
    """The JSON path (in instance `i`) of the value `path` addresses; NULL for a GeoProperty."""
    base = _instance_path(path)
    if path.meta:
        return _param(f"{base}.{path.meta}")
    return _fmt(
        f"({{}} || CASE json_extract(i.value, {{}}) {_FIELD_WHENS} ELSE '.value' END || {{}})",
        _param(base),
        _param(base + ".type"),
        _param(_labels(path.keys)),
    )


def _has_path_sql(path: Path) -> Frag:
    if path.meta or path.keys:
        return _fmt("json_type(i.value, {}) IS NOT NULL", _value_path_sql(path))
    if path.subs:
        return _fmt("json_type(i.value, {}) = 'object'", _param(_instance_path(path)))
    return Frag("1")


# SQLite's parser stack is small (about twelve nested subqueries), so a term keeps its nesting low: the
# value's path (x.value) and whether it is a languageMap (y.value) are bound per instance with
# `json_each(json_array(expr))`, a one-row table function, instead of a derived table.


def _term_sql(path: Path, test: Frag, negated: bool, kinds: set[str]) -> Frag:
    """Some instance of the attribute has a candidate value passing `test` (has the value but none
    passes, if negated)."""
    lets = _fmt("json_each(json_array({})) AS x", _value_path_sql(path))
    language = not (path.meta or path.keys)
    if language:
        flag = _fmt("json_extract(i.value, {}) IS 'LanguageProperty'", _param(_instance_path(path) + ".type"))
        lets = _fmt("{}, json_each(json_array({})) AS y", lets, flag)
    rows = _LANGUAGE_OR_VALUE_ROWS if language else _VALUE_ROWS
    hit = _fmt(f"EXISTS (SELECT 1 FROM ({_with_keys(rows, kinds)}) AS c WHERE {{}})", test)
    if negated:
        hit = _fmt("(json_type(i.value, x.value) IS NOT NULL AND NOT {})", hit)
    return _instances_sql(path.attr, hit, lets)


def _unwrapped(alias: str) -> str:
    """Columns v (SQL value) and t (JSON type) of a json_each row, @value objects replaced by their @value."""
    obj = f"{alias}.type = 'object'"
    return (
        f"CASE WHEN {obj} THEN json_extract({alias}.value, '$.\"@value\"') ELSE {alias}.value END AS v, "
        f"CASE WHEN {obj} THEN json_type({alias}.value, '$.\"@value\"') ELSE {alias}.type END AS t"
    )


def _rows(only_if: str = "") -> str:
    """Candidate rows of the value at x.value: a scalar itself, an array's elements, an @value's content."""
    wrapped = "x.value || '.\"@value\"'"
    return (
        f"SELECT {_unwrapped('e')} FROM json_each(i.value, x.value) AS e "
        f"WHERE {only_if}json_type(i.value, x.value) <> 'object' "
        f"UNION ALL SELECT {_unwrapped('e')} FROM json_each(i.value, {wrapped}) AS e "
        f"WHERE {only_if}json_type(i.value, {wrapped}) <> 'object'"
    )


_VALUE_ROWS = _rows()
# Or a languageMap's values, each a string or a list of strings.
_LANGUAGE_OR_VALUE_ROWS = (
    f"{_rows('NOT y.value AND ')} "
    f"UNION ALL SELECT {_unwrapped('m')} FROM json_each(i.value, x.value) AS m "
    "WHERE y.value AND m.type <> 'array' "
    f"UNION ALL SELECT {_unwrapped('e')} FROM json_each(i.value, x.value) AS m, "
    "json_each(CASE WHEN m.type = 'array' THEN m.value ELSE '[]' END) AS e WHERE y.value"
)

_GLOB_DATE = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
_GLOB_TIME = "[0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
_SECONDS = "'%Y-%m-%dT%H:%M:%S'"


def _fraction_sql(v: str, dot: int, length: str) -> tuple[str, str]:
    """(validity, 9 digits) of the fraction of `v` starting with '.' at `dot`, `length` long (0: none)."""
    digits = f"substr({v}, {dot + 1}, max({length} - 1, 0))"  # a negative length would count backwards
    valid = (
        f"({length} = 0 OR (substr({v}, {dot}, 1) = '.' AND {length} > 1 AND NOT {digits} GLOB '*[^0-9]*'))"
    )
    return valid, f"substr({digits} || '000000000', 1, 9)"


def _instant_key_sql(v: str) -> str:
    """SQL twin of instant_key() for the text expression `v`, kept shallow for SQLite's parser.

    After the 19 characters of date and time come an optional fraction and an optional zone (Z or +hh:mm);
    SQLite converts to UTC, and the '+0 days' modifier makes it normalise (so invalid dates differ).
    """
    zone = f"(CASE WHEN {v} GLOB '*Z' THEN 1 WHEN {v} GLOB '*[+-][0-9][0-9]:[0-9][0-9]' THEN 6 ELSE 0 END)"
    fraction = f"(length({v}) - 19 - {zone})"
    fraction_valid, digits = _fraction_sql(v, 20, fraction)
    base = f"substr({v}, 1, 19)"
    utc = f"strftime({_SECONDS}, {base} || substr({v}, 20 + {fraction}), '+0 days')"
    valid = (
        f"{v} > '0001' AND strftime({_SECONDS}, {base}, '+0 days') = {base} "
        f"AND {fraction_valid} AND {utc} > '0001'"
    )
    return (
        f"CASE WHEN {v} GLOB '{_GLOB_DATE}' AND {v} > '0001' AND date({v}, '+0 days') = {v} "
        f"THEN {v} || 'T00:00:00000000000' "
        f"WHEN {v} GLOB '{_GLOB_DATE}T{_GLOB_TIME}*' AND {valid} THEN {utc} || {digits} END"
    )


def _time_key_sql(v: str) -> str:
    """SQL twin of time_key() for the text expression `v`."""
    fraction = f"(length({v}) - 8 - (CASE WHEN {v} GLOB '*Z' THEN 1 ELSE 0 END))"
    fraction_valid, digits = _fraction_sql(v, 9, fraction)
    hms = f"substr({v}, 1, 8)"
    valid = f"{v} GLOB '{_GLOB_TIME}*' AND time({hms}, '+0 seconds') = {hms} AND {fraction_valid}"
    return f"CASE WHEN {valid} THEN {hms} || {digits} END"


_INSTANT_KEY_SQL = _instant_key_sql("v")
_TIME_KEY_SQL = _time_key_sql("v")


def _with_keys(rows: str, kinds: set[str]) -> str:
    """Add the temporal sort keys (ki, kt) to candidate rows when the literals need them."""
    columns = ["v", "t"]
    if "instant" in kinds:
        columns.append(f"CASE WHEN t = 'text' THEN {_INSTANT_KEY_SQL} END AS ki")
    if "time" in kinds:
        columns.append(f"CASE WHEN t = 'text' THEN {_TIME_KEY_SQL} END AS kt")
    return f"SELECT {', '.join(columns)} FROM ({rows})" if len(columns) > 2 else rows


def _literal_sql(literal: Literal, op: str) -> Frag | None:
    """Condition `c <op> literal` on a candidate row, with the same type rules as _compare()."""
    value = literal.value
    if literal.kind == "number":
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            return None
        return _fmt(f"(c.t IN ('integer', 'real') AND c.v {op} {{}})", _param(value))
    if literal.kind == "string":
        return _fmt(f"(c.t = 'text' AND c.v {op} {{}})", _param(value))
    if literal.kind == "boolean":
        return Frag("c.t = 'true'" if value else "c.t = 'false'")  # only == and != take booleans
    column = "c.ki" if literal.kind == "instant" else "c.kt"
    return _fmt(f"{column} {op} {{}}", _param(value))


def _translatable_size(node: QNode) -> bool:
    return node._term_count() <= MAX_SQL_TERMS and node._depth() <= MAX_SQL_DEPTH


def to_sqlite(node: QNode, *, regexp: str | None = None) -> tuple[str, list] | None:
    """A boolean SQLite expression over the JSON column `doc`, true exactly when `node.matches()`.

    `regexp` names a SQL function the connection defines as `compile_pattern(pattern).search(text)`
    (regexp(pattern, text)); without it `~=` and `!~=` are not translated. None when some part cannot
    be translated exactly (regular expressions without `regexp`, integers beyond 64 bits, names with
    quotes, backslashes or control characters, very large or deeply nested expressions).
    """
    if not _translatable_size(node):
        return None
    frag = node._sql(_function_name(regexp))
    return None if frag is None else (frag.sql, list(frag.params))


def to_sqlite_prefilter(node: QNode, *, regexp: str | None = None) -> tuple[str, list] | None:
    """A SQLite expression true for at least every entity `node` matches; None when none can be given.

    Use it to narrow a scan when to_sqlite() returns None, then filter the rows with `node.matches()`.
    """
    if not _translatable_size(node):
        return None
    frag = node._prefilter(_function_name(regexp))
    return None if frag is None else (frag.sql, list(frag.params))


def _function_name(name: str | None) -> str | None:
    if name is not None and not name.isidentifier():
        raise ValueError(f"not a SQL function name: {name!r}")
    return name


# ---------------------------------------------------------------------------------------------------
# Parsing

_NAME_RE = re.compile(r"[\w:/#-]+")
_KEY_RE = re.compile(r"[^\[\].]+")
_NUMBER_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_TEMPORAL_RE = re.compile(r"[0-9]{4}-|[0-9]{2}:")
_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_DATETIME_NO_TZ_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?")
_SPACE_OFFSET_RE = re.compile(r" ([0-9]{2}:[0-9]{2})(?![0-9:])")
_VALUE_DELIMITERS = frozenset(',;|()"')


def parse_q(text: str, expand: Callable[[str], str]) -> QNode:
    """Parse an NGSI-LD `q` expression; `expand` maps attribute and sub-attribute names to IRIs.

    Raises BadRequestData for malformed or oversized input, TooComplexQuery for excessive nesting.
    """
    if not isinstance(text, str) or not text.strip():
        raise BadRequestData("Invalid q: the query is empty")
    if len(text) > MAX_Q_LENGTH:
        raise BadRequestData(
            f"Invalid q: the query is too long ({len(text)} characters, at most {MAX_Q_LENGTH})"
        )
    return _Parser(text, expand).parse()


class _Parser:
    def __init__(self, text: str, expand: Callable[[str], str]):
        self.text = text
        self.pos = 0
        self.expand = expand
        self.terms = 0

    def parse(self) -> QNode:
        node = self._or(0)
        if self._peek():
            self._fail(f"unexpected '{self._peek()}'")
        return node

    # -- structure

    def _or(self, depth: int) -> QNode:
        children = [self._and(depth)]
        while self._eat("|"):
            children.append(self._and(depth))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def _and(self, depth: int) -> QNode:
        children = [self._unary(depth)]
        while self._eat(";"):
            children.append(self._unary(depth))
        if self._peek() not in ("", "|", ")"):
            self._fail(f"expected ';', '|' or ')' but found '{self._peek()}'")
        return children[0] if len(children) == 1 else And(tuple(children))

    def _unary(self, depth: int) -> QNode:
        if not self._eat("("):
            return self._term()
        if depth >= MAX_DEPTH:
            raise TooComplexQuery(f"q nests parentheses more than {MAX_DEPTH} levels deep")
        node = self._or(depth + 1)
        if not self._eat(")"):
            self._fail("missing ')'")
        return node

    def _term(self) -> QNode:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise TooComplexQuery(f"q has more than {MAX_TERMS} query terms")
        if self._eat("!"):
            return Exists(self._path(), negated=True)
        path = self._path()
        op = self._operator()
        if op is None:
            return Exists(path)
        if op in ("~=", "!~="):
            return self._regex_term(path, op == "!~=")
        return self._comparison(path, op)

    def _regex_term(self, path: Path, negated: bool) -> Match:
        start = self.pos
        source = self._regex()
        try:
            pattern = compile_pattern(source)
        except BadRequestData as exc:
            self._fail(exc.detail[:1].lower() + exc.detail[1:], start)
        return Match(path, pattern, source, negated)

    def _comparison(self, path: Path, op: str) -> Comparison:
        first = self._value()
        if self._eat(".."):
            return self._range(path, op, first, self._value())
        values = [first]
        while self._eat(","):
            values.append(self._value())
        if op not in EQUALITY_OPS and len(values) > 1:
            self._fail(f"a list of values can only follow == or !=, not {op}")
        if op not in EQUALITY_OPS and first.kind == "boolean":
            self._fail(f"true and false can only follow == or !=, not {op}")
        return Comparison(path, op, tuple(values))

    def _range(self, path: Path, op: str, low: Literal, high: Literal) -> Comparison:
        if op not in EQUALITY_OPS:
            self._fail(f"a range can only follow == or !=, not {op}")
        if low.kind != high.kind or low.kind == "boolean":
            self._fail("a range needs two numbers, strings, DateTimes or Times")
        return Comparison(path, op, (low, high), is_range=True)

    # -- attribute paths

    def _path(self) -> Path:
        self._skip_blanks()
        start = self.pos
        names = [self._match(_NAME_RE, "an attribute name")]
        while self.text.startswith(".", self.pos):
            self.pos += 1
            names.append(self._match(_NAME_RE, "a sub-attribute name after '.'"))
        keys: list[str] = []
        while self.text.startswith("[", self.pos):
            keys += self._bracket()
        return self._make_path(names, keys, start)

    def _bracket(self) -> list[str]:
        self.pos += 1
        keys = [self._match(_KEY_RE, "a key inside [...]")]
        while self.text.startswith(".", self.pos):
            self.pos += 1
            keys.append(self._match(_KEY_RE, "a key after '.' inside [...]"))
        if not self.text.startswith("]", self.pos):
            self._fail("missing ']'")
        self.pos += 1
        return keys

    def _make_path(self, names: list[str], keys: list[str], start: int) -> Path:
        if names[0] in ENTITY_MEMBERS:
            self._fail(
                f"'{names[0]}' is an entity member, not an attribute; q can only test attributes", start
            )
        meta = names.pop() if len(names) > 1 and names[-1] in META_FIELDS else None
        for name in names[1:]:
            if name in META_FIELDS:
                self._fail(f"'{name}' can only be the last name of an attribute path", start)
        if meta and keys:
            self._fail(f"'{meta}' has no members to select with [...]", start)
        subs = tuple(self.expand(name) for name in names[1:])
        return Path(self.expand(names[0]), subs, meta, tuple(keys))

    # -- operators and values

    def _operator(self) -> str | None:
        self._skip_blanks()
        for op in _OPERATORS:
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                return op
        if self._peek() == "=":
            self._fail("'=' is not an operator, use '=='")
        return None

    def _value(self) -> Literal:
        self._skip_blanks()
        start = self.pos
        if self._peek() == '"':
            return Literal("string", self._quoted(keep_escapes=False))
        token = self._bare_value()
        if not token:
            self._fail("expected a value")
        return self._classify(token, start)

    def _bare_value(self) -> str:
        start, text = self.pos, self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in _VALUE_DELIMITERS or ch.isspace() or text.startswith("..", self.pos):
                break
            self.pos += 1
        token = text[start : self.pos]
        # A '+' in a UTC offset turns into a blank when the query string is decoded carelessly.
        if _DATETIME_NO_TZ_RE.fullmatch(token) and (m := _SPACE_OFFSET_RE.match(text, self.pos)):
            token += "+" + m[1]
            self.pos = m.end()
        return token

    def _classify(self, token: str, start: int) -> Literal:
        if token in ("true", "false"):
            return Literal("boolean", token == "true")
        if m := _NUMBER_RE.fullmatch(token):
            return self._number(token, m, start)
        if _TEMPORAL_RE.match(token):
            if key := instant_key(token):
                return Literal("instant", key)
            if key := time_key(token):
                return Literal("time", key)
            self._fail(f"'{token}' is not a valid ISO 8601 DateTime, Date or Time", start)
        if _URI_RE.fullmatch(token):
            return Literal("string", token)
        self._fail(f"'{token}' is not a value; strings must be enclosed in double quotes", start)

    def _number(self, token: str, m: re.Match, start: int) -> Literal:
        if not (m[1] or m[2]):
            return Literal("number", int(token))
        number = float(token)
        if not math.isfinite(number):
            self._fail(f"the number {token} is out of range", start)
        return Literal("number", number)

    def _quoted(self, keep_escapes: bool) -> str:
        """A double-quoted string: \\" is a quote; \\\\ is a backslash unless `keep_escapes` (regexes)."""
        start, text, out = self.pos, self.text, []
        i = start + 1
        while i < len(text):
            ch = text[i]
            if ch == '"':
                self.pos = i + 1
                return "".join(out)
            if ch == "\\" and i + 1 < len(text):
                nxt = text[i + 1]
                out.append(nxt if nxt == '"' or (nxt == "\\" and not keep_escapes) else ch + nxt)
                i += 2
                continue
            out.append(ch)
            i += 1
        self._fail("unterminated string", start)

    def _regex(self) -> str:
        self._skip_blanks()
        if self._peek() == '"':
            return self._quoted(keep_escapes=True)
        start = self.pos
        self.pos = _regex_end(self.text, start)
        source = self.text[start : self.pos].rstrip()
        if not source:
            self._fail("expected a regular expression", start)
        return source

    # -- scanning helpers

    def _skip_blanks(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _peek(self) -> str:
        self._skip_blanks()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _eat(self, token: str) -> bool:
        self._skip_blanks()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def _match(self, pattern: re.Pattern, what: str) -> str:
        m = pattern.match(self.text, self.pos)
        if not m:
            self._fail(f"expected {what}")
        self.pos = m.end()
        return m[0]

    def _fail(self, problem: str, at: int | None = None) -> NoReturn:
        position = self.pos if at is None else at
        raise BadRequestData(f"Invalid q: {problem} (at position {position})")


def _regex_end(text: str, i: int) -> int:
    """End of an unquoted regex: a ';' or '|' outside parentheses, an unmatched ')', or the end.

    A '|' alternative at the top level therefore needs the regex in quotes or parentheses.
    """
    depth = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            i = _class_end(text, i)
            continue
        if ch in ";|" and depth == 0:
            break
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                break
            depth -= 1
        i += 1
    return min(i, len(text))


def _class_end(text: str, i: int) -> int:
    """Index after the character class opening at text[i] (']' first in the class is literal)."""
    i += 1
    if text.startswith("^", i):
        i += 1
    if text.startswith("]", i):
        i += 1
    while i < len(text) and text[i] != "]":
        i += 2 if text[i] == "\\" else 1
    return i + 1
