"""The parser of the NGSI-LD query language `q` (ETSI GS CIM 009 v1.8, clause 4.9).

`parse_q` turns the text into a tree of toshi.query.qtree nodes.

Accepted grammar (blanks between tokens are ignored; `;` binds tighter than `|`):

    query  = and *("|" and)
    and    = unary *(";" unary)
    unary  = "(" query ")" / "!" path / path [op value]
    path   = name *("." name) *("[" key *("." key) "]")
    op     = "==" / "!=" / ">" / ">=" / "<" / "<=" / "~=" / "!~="
    value  = item / item ".." item / item 1*("," item)     ; ranges and lists only with == and !=
    item   = "quoted string" / number / true / false / DateTime / Date / Time / URI / term
                                                        ; an unquoted term only after == and !=

In a path the first name is an attribute, the following names are sub-attributes, a final
observedAt/createdAt/modifiedAt/unitCode/datasetId addresses that field of the instance, and keys in
brackets select members of the JSON value. Attribute and sub-attribute names go through `expand`; keys
do not. `!path` is true when no instance has the path. A URI or a term (a word such as `commercial`,
which `expandValues` may expand, v1.9 EXAMPLE 12) may stand unquoted after == and != and compares as a
string; other strings need double quotes. A DateTime with an offset (`+03:00`) compares as the instant.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from typing import NoReturn

from toshi.core.errors import BadRequestData, TooComplexQuery
from toshi.core.times import instant_key, time_key
from toshi.query.qtree import EQUALITY_OPS, And, Comparison, Exists, Linked, Literal, Match, Or, Path, QNode
from toshi.query.regex import compile_pattern

MAX_Q_LENGTH = 4000
MAX_DEPTH = 32  # parentheses
MAX_TERMS = 256

META_FIELDS = frozenset({"observedAt", "createdAt", "modifiedAt", "unitCode", "datasetId"})
ENTITY_MEMBERS = frozenset(
    {"id", "@id", "type", "@type", "scope", "createdAt", "modifiedAt", "deletedAt", "@context"}
)
_OPERATORS = ("==", "!=", "!~=", "~=", ">=", "<=", ">", "<")
# An absolute IRI keeps the dots of its authority (`https://example.org/town/occupancy`); a dot after it
# starts a sub-attribute name, so dots inside its path segments cannot be written in q.
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+-]*://[^/\s\[\]=!<>~;|(),]*(?:[/#][\w:@%~-]*)*|[\w:/#-]+")
_KEY_RE = re.compile(r"[^\[\].]+")
_NUMBER_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_TEMPORAL_RE = re.compile(r"[0-9]{4}-|[0-9]{2}:")
_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
# An unquoted word after == or != : a JSON-LD term (a compact IRI or a relative one), which expandValues
# expands; without it, it is compared as the string it is.
_TERM_RE = re.compile(r"(?:[^\W\d]|@)[\w.@:/#-]*")
_DATETIME_NO_TZ_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?")
_SPACE_OFFSET_RE = re.compile(r" ([0-9]{2}:[0-9]{2})(?![0-9:])")
_VALUE_DELIMITERS = frozenset(',;|()"')
# The entity type hint of a linked-entity subquery, `rel{Building:name}` (a name and a colon, not the
# scheme of an absolute IRI); so a compact IRI cannot be the first name inside the braces.
_TYPE_HINT_RE = re.compile(r"([^\W\d][\w-]*):(?![/:])")


def parse_q(text: str, expand: Callable[[str], str], *, linked: bool = False) -> QNode:
    """Parse an NGSI-LD `q` expression; `expand` maps attribute and sub-attribute names to IRIs.
    `linked`: linked-entity subqueries (`rel{name}==...`) are allowed (where the store resolves them).

    Raises BadRequestData for malformed or oversized input, TooComplexQuery for excessive nesting.
    """
    if not isinstance(text, str) or not text.strip():
        raise BadRequestData("Invalid q: the query is empty")
    if len(text) > MAX_Q_LENGTH:
        raise BadRequestData(
            f"Invalid q: the query is too long ({len(text)} characters, at most {MAX_Q_LENGTH})"
        )
    return _Parser(text, expand, linked).parse()


def expand_values(node: QNode, attrs: set[str], expand_value: Callable[[str], str]) -> QNode:
    """`expandValues` (v1.8 6.4.3.2): the string values compared with the attributes `attrs` are
    expanded as JSON-LD values (so `category=="commercial"` meets a stored IRI)."""
    if isinstance(node, (And, Or)):
        return type(node)(tuple(expand_values(child, attrs, expand_value) for child in node.children))
    if isinstance(node, Comparison) and node.path.attr in attrs:
        values = tuple(Literal("string", expand_value(v.value)) if v.kind == "string" else v for v in node.values)
        return dataclasses.replace(node, values=values)
    if isinstance(node, Linked):
        return dataclasses.replace(node, term=expand_values(node.term, attrs, expand_value))
    return node


def parse_path(text: str, expand: Callable[[str], str]) -> Path:
    """An attribute path alone (`name`, `name.sub.observedAt`, `address[city]`), as in a q term; for
    orderBy (clause 4.23.3 refers to clause 4.9 for AttrName)."""
    parser = _Parser(text, expand)
    path = parser._path()
    if parser._peek():
        parser._fail(f"unexpected '{parser._peek()}' after the attribute path")
    return path


class _Parser:
    def __init__(self, text: str, expand: Callable[[str], str], linked: bool = False):
        self.text = text
        self.linked = linked
        self.pos = 0
        self.expand = expand
        self.terms = 0
        self._equality = False  # whether the value being read follows == or != (terms may be unquoted)

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
            start = self.pos
            path, hops = self._linked_path()
            if hops:
                self._fail("'!' cannot stand before a linked-entity subquery", start)
            return Exists(path, negated=True)
        path, hops = self._linked_path()
        op = self._operator()
        if op is None:
            node: QNode = Exists(path)
        elif op in ("~=", "!~="):
            node = self._regex_term(path, op == "!~=")
        else:
            node = self._comparison(path, op)
        for rel, entity_type in reversed(hops):
            node = Linked(rel, node, entity_type)
        return node

    def _linked_path(self) -> tuple[Path, list[tuple[Path, str | None]]]:
        """A path, or `rel{[Type:]path}` (nested as deep as wanted): the final path and the
        relationships (with their type hints) followed to reach the entity it is in."""
        hops: list[tuple[Path, str | None]] = []
        start = self.pos
        path = self._path()
        while self.text.startswith("{", self.pos):
            if not self.linked:
                self._fail("linked-entity subqueries (rel{...}) are only supported when querying entities", start)
            if path.meta or path.keys:
                self._fail("only a Relationship can be followed into its entity with {...}", start)
            self.pos += 1
            entity_type = None
            if hint := _TYPE_HINT_RE.match(self.text, self.pos):
                entity_type = self.expand(hint[1])
                self.pos = hint.end()
            hops.append((path, entity_type))
            start = self.pos
            path = self._path()
        for _ in hops:
            if not self.text.startswith("}", self.pos):
                self._fail("missing '}' after a linked-entity subquery")
            self.pos += 1
        return path, hops

    def _regex_term(self, path: Path, negated: bool) -> Match:
        start = self.pos
        source = self._regex()
        try:
            pattern = compile_pattern(source)
        except BadRequestData as exc:
            self._fail(exc.detail[:1].lower() + exc.detail[1:], start)
        return Match(path, pattern, source, negated)

    def _comparison(self, path: Path, op: str) -> Comparison:
        self._equality = op in EQUALITY_OPS
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
        if self._equality and _TERM_RE.fullmatch(token):  # a term (v1.9 4.9 EXAMPLE 12), compared as a string
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
