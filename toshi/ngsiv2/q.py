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

from toshi.core.errors import BadRequestData
from toshi.core.times import instant_key
from toshi.ngsiv2.dates import canonical_datetime
from toshi.ngsiv2.errors import bad_request
from toshi.query.qtree import And, Comparison, Exists, Literal, Match, Or, Path, QNode
from toshi.query.regex import compile_pattern

_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")  # what strtod reads
MAX_LENGTH = 4000
BUILTIN_TIMES = {"dateCreated": "createdAt", "dateModified": "modifiedAt"}  # q name -> entity member


def parse_v2_q(text: str, expand: Callable[[str], str], *, metadata: bool = False) -> QNode:
    """`q` (paths into attribute values) or, with `metadata`, `mq` (paths into metadata).

    Checked in the order and with the texts of Orion's StringFilter::parse: `empty q`, `empty q-item`
    (two `;` in a row, or one at the end after blanks; a single trailing `;` is dropped), `empty q-item
    (only whitespace)`, then each statement (`_statement`)."""
    name = "mq" if metadata else "q"
    if text in ("", ";"):
        raise bad_request("empty q")
    if ";;" in text:
        raise bad_request("empty q-item")
    if len(text) > MAX_LENGTH:
        raise bad_request(f"{name} is too long (at most {MAX_LENGTH} characters)")
    text = text.removesuffix(";").strip()
    if text.endswith(";"):
        raise bad_request("empty q-item")
    parse = _metadata_statement if metadata else _q_statement
    nodes = []
    for item in text.split(";"):  # Orion splits on every `;` (a `;` in a value is a forbidden character)
        if item == "":
            continue
        if not item.strip():
            raise bad_request("empty q-item (only whitespace)")
        nodes.append(parse(item, expand))
    if not nodes:
        raise bad_request("empty q")
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
        return _statement(text, expand, _path, "q")
    return EntityTime(member, _statement(text, expand, lambda _text, _expand: Path(member), "q"))


MEMBER_METADATA = ("unitCode", "TimeInstant", "observedAt")  # an instance member, or ordinary metadata


def _metadata_statement(text: str, expand: Callable[[str], str]) -> QNode:
    """One mq statement. unitCode / TimeInstant / observedAt are kept as the instance's own member when
    they render back as given, else as ordinary metadata (toshi.ngsiv2.mapping), so a statement on them
    looks at both: either holds, or, for `!A.m`, neither exists."""
    node = _statement(text, expand, _metadata_path, "mq")
    op, lhs, _rhs = _operator(text.strip())
    tokens = [_unquote(t) for t in _split(lhs.strip(), ".")]
    if len(tokens) != 2 or tokens[1] not in MEMBER_METADATA:
        return node
    plain = _statement(text, expand, lambda _text, _expand: Path(expand(tokens[0]), subs=(expand(tokens[1]),)),
                       "mq")
    return And((node, plain)) if op == "!" else Or((node, plain))


def _subject(text: str) -> str:
    """The path of a statement, as written (without a leading `!`)."""
    op, lhs, _rhs = _operator(text.strip())
    return _unquote(lhs.strip())


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


FORBIDDEN = set('<>"\'=;()')  # Orion's forbiddenChars
OP_NAMES = {">": "GreaterThan", ">=": "GreaterThanOrEqual", "<": "LessThan", "<=": "LessThanOrEqual"}


def _forbidden(text: str, allowed: str = "") -> bool:
    return any(c in FORBIDDEN and c not in allowed for c in text)


def _statement(text: str, expand: Callable[[str], str], make_path, name: str) -> QNode:
    """One statement, checked as Orion's StringFilterItem::parse does, with its texts."""
    text = text.strip()
    if not text:
        raise bad_request("empty q-item")
    op, lhs, rhs = _operator(text)
    lhs, rhs = lhs.strip(), rhs.strip()
    unary = op in ("", "!")
    if not lhs and not unary:
        raise bad_request("empty left-hand-side in q-item")
    if _forbidden(lhs, "'"):
        raise bad_request(f"invalid character found in URI param /{name}/")
    if not rhs:
        raise bad_request("empty right-hand-side in q-item")
    if unary:
        if "'" in rhs or '"' in rhs:
            raise bad_request("forbidden characters in String Filter")
        if name == "mq" and len(_split(lhs, ".")) < 2:
            raise bad_request("no metadata in right-hand-side of q-item")
        return Exists(make_path(lhs, expand), negated=op == "!")
    path = make_path(lhs, expand)
    op = "==" if op == ":" else op
    if op == "~=":
        if _forbidden(rhs):
            raise bad_request("forbidden characters in String Filter")
        try:
            pattern = compile_pattern(rhs)
        except BadRequestData:
            raise bad_request(f"error compiling filter regex: '{rhs}'") from None
        return Match(path, pattern, rhs)
    if ".." in rhs:
        return Comparison(path, op, _range(rhs, op), is_range=True)
    if "," in rhs:
        return Comparison(path, op, _list(rhs, op))
    literal = _literal(rhs, op)
    if op in OP_NAMES and literal.kind not in ("number", "instant", "string"):
        kind = "Null" if literal.kind == "null" else "Bool"
        raise bad_request(f"values of type /{kind}/ not supported for operator /{OP_NAMES[op]}/")
    return Comparison(path, op, (_comparable(literal),))


def _range(rhs: str, op: str) -> tuple[Literal, Literal]:
    if op not in ("==", "!="):
        raise bad_request("ranges only valid for equal and not equal ops")
    low, _, high = (part.strip() for part in rhs.partition(".."))
    if not low or not high:
        raise bad_request("empty item in range")
    bounds = []
    for end, item in (("from", low), ("to", high)):
        literal = _literal(item, op)
        if literal.kind not in ("number", "instant", "string"):
            raise bad_request(f"invalid data type for /range-{end}/")
        bounds.append(literal)
    if bounds[0].kind != bounds[1].kind:
        raise bad_request("invalid range: types mixed")
    return bounds[0], bounds[1]


def _list(rhs: str, op: str) -> tuple[Literal, ...]:
    if op not in ("==", "!="):
        raise bad_request("lists only valid for equal and not equal ops")
    items = _split(rhs, ",")
    if items[-1] == "" and len(items) > 1:  # a trailing comma
        raise bad_request("empty item in list")
    literals: list[Literal] = []
    for item in items:
        if not item.strip():
            raise bad_request("empty item in list")
        literal = _literal(item.strip(), op)
        if literal.kind not in ("number", "instant", "string") or (literals and literal.kind != literals[0].kind):
            raise bad_request("invalid JSON value type in list")
        literals.append(literal)
    return tuple(literals)


def _operator(text: str) -> tuple[str, str, str]:
    """(operator, left-hand side, right-hand side) as Orion's opFind reads them: a leading `!` is the
    negated existence; else the first `==`, `~=`, `!=`, `>=`, `<=`, `<`, `>` or `:` outside single
    quotes; none is existence ("" as operator, the whole text on both sides)."""
    if text.startswith("!"):
        return "!", text[1:], text[1:]
    quoted = False
    for i, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif not quoted:
            if text.startswith("=", i + 1) and char in "=~!><":
                return char + "=", text[:i], text[i + 2:]
            if char in "<>:":
                return char, text[:i], text[i + 1:]
    return "", text, text


def _path(text: str, expand: Callable[[str], str]) -> Path:
    tokens = [_unquote(t) for t in _split(text.strip(), ".")]
    if not tokens or any(not t for t in tokens):
        raise bad_request(f"invalid attribute path in q: {text!r}")
    return Path(expand(tokens[0]), keys=tuple(tokens[1:]))


METADATA_FIELDS = {"unitCode": "unitCode", "TimeInstant": "observedAt", "observedAt": "observedAt",
                   "dateCreated": "createdAt", "dateModified": "modifiedAt"}


def _metadata_path(text: str, expand: Callable[[str], str]) -> Path:
    tokens = [_unquote(t) for t in _split(text.strip(), ".")]
    if not tokens[0]:
        raise bad_request("no attribute name - not valid for metadata filters")
    if len(tokens) < 2 or not tokens[1]:
        raise bad_request("no metadata name - not valid for metadata filters")
    if any(not t for t in tokens):
        raise bad_request(f"invalid metadata path in mq (attribute.metadata expected): {text!r}")
    attr, name, keys = tokens[0], tokens[1], tuple(tokens[2:])
    if name in METADATA_FIELDS:
        if keys:
            raise bad_request(f"metadata {name} has no keys to select in mq: {text!r}")
        return Path(expand(attr), meta=METADATA_FIELDS[name])
    return Path(expand(attr), subs=(expand(name),), keys=keys)


def _literal(item: str, op: str) -> Literal:
    """A value as Orion's StringFilterItem::valueGet reads it: a 'forced string', a number, a
    date-time, true / false, null, else a string; a string (but a pattern's) may hold no forbidden
    character. `null` is kind "null" (`_comparable` makes it comparable)."""
    if item.startswith("'"):
        inner = item[1:]
        if not inner.endswith("'"):
            raise bad_request("non-terminated forced string")
        inner = inner[:-1]
        if "'" in inner:
            raise bad_request("quote in forced string")
        literal = Literal("string", inner)
    elif _NUMBER.fullmatch(item):
        number = float(item)
        literal = Literal("number", int(number) if number.is_integer() and _is_int(item) else number)
    elif canonical_datetime(item) is not None and (key := instant_key(canonical_datetime(item))) is not None:
        literal = Literal("instant", key)
    elif item in ("true", "false"):
        literal = Literal("boolean", item == "true")
    elif item == "null":
        literal = Literal("null", None)
    else:
        literal = Literal("string", item)
    if literal.kind == "string" and op != "~=" and _forbidden(literal.value):
        raise bad_request("forbidden characters in String Filter")
    return literal


def _comparable(literal: Literal) -> Literal:
    """The query tree has no null literal: `null` compares as the text it is (as before)."""
    return Literal("string", "null") if literal.kind == "null" else literal


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
