"""The SQL that q compiles to: a q tree (toshi.query.qtree) as an SQLite JSON1 expression over a TEXT
column `doc` holding the internal entity as JSON, true exactly for the entities `QNode.matches` accepts
(tests/query/test_q.py checks the equivalence on generated entities and queries).

SQLite 3.40 matches path labels against the raw key text of the JSON, so names containing characters
a serialiser escapes (quote, backslash, control characters) are not translated; non-ASCII keys must be
stored unescaped (orjson does so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toshi.query.qeval import VALUE_FIELDS
from toshi.query.qtree import EQUALITY_OPS, And, Comparison, Exists, Literal, Match, Or, Path, QNode

# Larger expressions are not translated: SQLite's parser stack (about 100 entries) limits nesting.
MAX_SQL_TERMS = 64
MAX_SQL_DEPTH = 6  # nested groups of ';' and '|'


def to_sqlite(node: QNode, *, regexp: str | None = None) -> tuple[str, list] | None:
    """A boolean SQLite expression over the JSON column `doc`, true exactly when `node.matches()`.

    `regexp` names a SQL function the connection defines as `compile_pattern(pattern).search(text)`
    (regexp(pattern, text)); without it `~=` and `!~=` are not translated. None when some part cannot
    be translated exactly (regular expressions without `regexp`, integers beyond 64 bits, names with
    quotes, backslashes or control characters, very large or deeply nested expressions).
    """
    if not _translatable_size(node):
        return None
    frag = _exact(node, _function_name(regexp))
    return None if frag is None else (frag.sql, list(frag.params))


def to_sqlite_prefilter(node: QNode, *, regexp: str | None = None) -> tuple[str, list] | None:
    """A SQLite expression true for at least every entity `node` matches; None when none can be given.

    Use it to narrow a scan when to_sqlite() returns None, then filter the rows with `node.matches()`.
    """
    if not _translatable_size(node):
        return None
    frag = _prefilter(node, _function_name(regexp))
    return None if frag is None else (frag.sql, list(frag.params))


# ---------------------------------------------------------------------------------------------------
# The nodes


def _exact(node: QNode, regexp: str | None) -> Frag | None:
    """An exactly equivalent SQLite expression, or None."""
    if isinstance(node, And):
        parts = [_exact(child, regexp) for child in node.children]
        return None if None in parts else _join(" AND ", parts)
    if isinstance(node, Or):
        parts = [_exact(child, regexp) for child in node.children]
        return None if None in parts else _join(" OR ", parts)
    if isinstance(node, Exists):
        if not _sql_safe(node.path):
            return None
        found = _instances_sql(node.path.attr, _has_path_sql(node.path))
        return _fmt("NOT {}", found) if node.negated else found
    if isinstance(node, Comparison):
        return _term(node, _comparison_test(node), {literal.kind for literal in node.values},
                     not_relationship=node.is_ordering)
    if isinstance(node, Match):
        return _term(node, _match_test(node, regexp), set())
    return None  # another kind of node (NGSI-v2's EntityTime): evaluated in Python only


def _prefilter(node: QNode, regexp: str | None) -> Frag | None:
    """A SQLite expression true for every entity that matches (None: no restriction)."""
    if isinstance(node, And):
        parts = [part for child in node.children if (part := _prefilter(child, regexp)) is not None]
        return _join(" AND ", parts) if parts else None
    if isinstance(node, Or):
        parts = [_prefilter(child, regexp) for child in node.children]
        return None if None in parts else _join(" OR ", parts)
    return _exact(node, regexp)


def _term(node: Comparison | Match, test: Frag | None, kinds: set[str], *,
          not_relationship: bool = False) -> Frag | None:
    if test is None or not _sql_safe(node.path):
        return None
    return _term_sql(node.path, test, node.negated, kinds, not_relationship)


def _comparison_test(node: Comparison) -> Frag | None:
    """Condition on a candidate row `c` (columns v, t and, for temporal literals, ki / kt)."""
    if node.is_range:
        parts = [_literal_sql(node.values[0], ">="), _literal_sql(node.values[1], "<=")]
        return None if None in parts else _join(" AND ", parts)
    op = "=" if node.op in EQUALITY_OPS else node.op
    parts = [_literal_sql(literal, op) for literal in node.values]
    return None if None in parts else _join(" OR ", parts)


def _match_test(node: Match, regexp: str | None) -> Frag | None:
    if regexp is None:
        return None  # SQLite has no RE2 of its own
    return _fmt(f"(c.t = 'text' AND {regexp}({{}}, c.v))", _param(node.source))


# ---------------------------------------------------------------------------------------------------
# SQL fragments


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


def _term_sql(path: Path, test: Frag, negated: bool, kinds: set[str], not_relationship: bool = False) -> Frag:
    """Some instance of the attribute has a candidate value passing `test` (has the value but none
    passes, if negated); with `not_relationship` (ordering operators) the value may not be a
    Relationship's object (qeval.is_relationship_target)."""
    lets = _fmt("json_each(json_array({})) AS x", _value_path_sql(path))
    language = not (path.meta or path.keys)
    if language:
        flag = _fmt("json_extract(i.value, {}) IS 'LanguageProperty'", _param(_instance_path(path) + ".type"))
        lets = _fmt("{}, json_each(json_array({})) AS y", lets, flag)
    rows = _LANGUAGE_OR_VALUE_ROWS if language else _VALUE_ROWS
    hit = _fmt(f"EXISTS (SELECT 1 FROM ({_with_keys(rows, kinds)}) AS c WHERE {{}})", test)
    if negated:
        hit = _fmt("(json_type(i.value, x.value) IS NOT NULL AND NOT {})", hit)
    if not_relationship and not (path.meta or path.keys):
        hit = _fmt("(COALESCE(json_extract(i.value, {}), '') NOT IN ('Relationship', 'ListRelationship') AND {})",
                   _param(_instance_path(path) + ".type"), hit)
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
    """Condition `c <op> literal` on a candidate row, with the same type rules as qeval.compare()."""
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
    return node.term_count() <= MAX_SQL_TERMS and node.depth() <= MAX_SQL_DEPTH


def _function_name(name: str | None) -> str | None:
    if name is not None and not name.isidentifier():
        raise ValueError(f"not a SQL function name: {name!r}")
    return name
