"""The NGSI-v2 Simple Query Language (`q`), parsed into the query tree of `toshi.query.qtree`.

Grammar (Orion manual, "Simple Query Language"):

    q         = statement *(";" statement)               ; all must hold
    statement = path / "!" path / path op value
    path      = token *("." token)                        ; attribute, then keys inside its value
    op        = "==" / ":" / "!=" / ">=" / "<=" / ">" / "<" / "~="
    value     = item / item ".." item / item *("," item)  ; ranges and lists only with == and !=
    token, item: text, or 'text' in single quotes (quotes protect . , ; and force a string)

Unquoted items that read as a number, true / false or an ISO 8601 date-time are compared as such;
everything else is a string. The tree is evaluated (and translated to SQL) as NGSI-LD's q is, so both
APIs share one semantics: a statement holds when the entity has the target property and its value
(or any element of an array value) satisfies it; `!=` needs the property too.

The builtin attributes `dateCreated` / `dateModified` are the entity's creation / modification times
(as in Orion, even when an attribute has that name: `EntityTime`); `dateExpires` is an ordinary
attribute (toshi.ngsiv2.expiry).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from toshi.core.times import instant_key
from toshi.ngsiv2.errors import bad_request
from toshi.query.qtree import And, Comparison, Exists, Literal, Match, Path, QNode
from toshi.query.regex import compile_pattern

OPERATORS = ("==", "!=", ">=", "<=", "~=", ">", "<", ":")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
MAX_LENGTH = 4000
BUILTIN_TIMES = {"dateCreated": "createdAt", "dateModified": "modifiedAt"}  # q name -> entity member


def parse_v2_q(text: str, expand: Callable[[str], str], *, metadata: bool = False) -> QNode:
    """`q` (paths into attribute values) or, with `metadata`, `mq` (paths into metadata)."""
    name = "mq" if metadata else "q"
    if not text.strip():
        raise bad_request(f"Empty {name}")
    if len(text) > MAX_LENGTH:
        raise bad_request(f"{name} is too long (at most {MAX_LENGTH} characters)")
    parse = _metadata_statement if metadata else _q_statement
    nodes = [parse(s, expand) for s in _split(text, ";") if s.strip()]
    if not nodes:
        raise bad_request(f"Empty {name}")
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def parse_v2_mq(text: str, expand: Callable[[str], str]) -> QNode:
    """The metadata query `mq`: `attr.metadata[.key...]` with the operators of q.

    Metadata map as in the v2 mapping: `unitCode` -> the instance's unitCode, `TimeInstant` /
    `observedAt` -> observedAt, `dateCreated` / `dateModified` -> createdAt / modifiedAt, any other
    metadata -> the sub-property of that name (further tokens select keys inside its value)."""
    return parse_v2_q(text, expand, metadata=True)


def _q_statement(text: str, expand: Callable[[str], str]) -> QNode:
    member = BUILTIN_TIMES.get(_subject(text))
    if member is None:
        return _statement(text, expand, _path)
    return EntityTime(member, _statement(text, expand, lambda _text, _expand: Path(member)))


def _metadata_statement(text: str, expand: Callable[[str], str]) -> QNode:
    return _statement(text, expand, _metadata_path)


def _subject(text: str) -> str:
    """The path of a statement, as written (without a leading `!`)."""
    text = text.strip()
    found = _operator(text)
    path = text[:found[0]] if found else text.removeprefix("!")
    return _unquote(path)


@dataclass(frozen=True)
class EntityTime(QNode):
    """A q statement on a builtin time (`dateModified>2026-01-01`): the same statement, evaluated on a
    pseudo attribute holding the entity's createdAt / modifiedAt. Not translated to SQL (the rest of
    the query still narrows the candidates); evaluated on each candidate."""

    member: str
    statement: QNode

    def matches(self, entity: dict) -> bool:
        value = entity.get(self.member)
        attrs = {self.member: [{"type": "Property", "value": value}]} if value is not None else {}
        return self.statement.matches({"attrs": attrs})

    def attribute_names(self) -> set[str]:
        return set()


def _statement(text: str, expand: Callable[[str], str], make_path) -> QNode:
    text = text.strip()
    found = _operator(text)
    if found is None:
        negated = text.startswith("!")
        return Exists(make_path(text[1:] if negated else text, expand), negated=negated)
    at, op = found
    path = make_path(text[:at], expand)
    raw = text[at + len(op):].strip()
    if not raw:
        raise bad_request(f"empty right-hand-side for q-item: {text}")
    op = "==" if op == ":" else op
    if op == "~=":
        pattern = _unquote(raw)
        return Match(path, compile_pattern(pattern), pattern)
    if op in ("==", "!="):
        bounds = _split(raw, "..", limit=1)
        if len(bounds) == 2:
            return Comparison(path, op, (_literal(bounds[0]), _literal(bounds[1])), is_range=True)
        return Comparison(path, op, tuple(_literal(item) for item in _split(raw, ",")))
    if len(_split(raw, "..", limit=1)) == 2:
        raise bad_request("ranges only valid for equal and not equal ops")
    if len(_split(raw, ",")) > 1:
        raise bad_request("lists only valid for equal and not equal ops")
    return Comparison(path, op, (_literal(raw),))


def _operator(text: str) -> tuple[int, str] | None:
    """Position and operator of the first operator outside quotes (longest operators first)."""
    quoted = False
    for i, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        if quoted:
            continue
        for op in OPERATORS:
            longer = op in (">", "<") and text.startswith("=", i + 1)  # >= and <= come first
            if text.startswith(op, i) and not longer and i > 0:
                return i, op
    return None


def _path(text: str, expand: Callable[[str], str]) -> Path:
    tokens = [_unquote(t) for t in _split(text.strip(), ".")]
    if not tokens or any(not t for t in tokens):
        raise bad_request(f"invalid attribute path in q: {text!r}")
    return Path(expand(tokens[0]), keys=tuple(tokens[1:]))


METADATA_FIELDS = {"unitCode": "unitCode", "TimeInstant": "observedAt", "observedAt": "observedAt",
                   "dateCreated": "createdAt", "dateModified": "modifiedAt"}


def _metadata_path(text: str, expand: Callable[[str], str]) -> Path:
    tokens = [_unquote(t) for t in _split(text.strip(), ".")]
    if len(tokens) < 2 or any(not t for t in tokens):
        raise bad_request(f"invalid metadata path in mq (attribute.metadata expected): {text!r}")
    attr, name, keys = tokens[0], tokens[1], tuple(tokens[2:])
    if name in METADATA_FIELDS:
        if keys:
            raise bad_request(f"metadata {name} has no keys to select in mq: {text!r}")
        return Path(expand(attr), meta=METADATA_FIELDS[name])
    return Path(expand(attr), subs=(expand(name),), keys=keys)


def _literal(item: str) -> Literal:
    item = item.strip()
    if len(item) >= 2 and item[0] == item[-1] == "'":
        return Literal("string", item[1:-1])
    if not item:
        raise bad_request("empty value in q")
    if _NUMBER.fullmatch(item):
        number = float(item)
        return Literal("number", int(item) if number.is_integer() and _is_int(item) else number)
    if item in ("true", "false"):
        return Literal("boolean", item == "true")
    if "T" in item and (key := instant_key(item)) is not None:
        return Literal("instant", key)
    return Literal("string", item)


def _is_int(item: str) -> bool:
    return not any(c in item for c in ".eE")


def _unquote(token: str) -> str:
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] == "'":
        return token[1:-1]
    return token


def _split(text: str, separator: str, limit: int = -1) -> list[str]:
    """`text` split on `separator` outside single quotes."""
    parts, start, quoted, i = [], 0, False, 0
    while i < len(text):
        if text[i] == "'":
            quoted = not quoted
        elif not quoted and text.startswith(separator, i) and limit != 0:
            parts.append(text[start:i])
            i += len(separator)
            start = i
            limit -= 1
            continue
        i += 1
    parts.append(text[start:])
    return parts
