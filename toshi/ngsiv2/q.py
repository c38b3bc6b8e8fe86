"""The NGSI-v2 Simple Query Language (`q`), parsed into the query tree of `toshi.query.q`.

Grammar (Orion manual, "Simple Query Language"):

    q         = statement *(";" statement)               ; all must hold
    statement = path / "!" path / path op value
    path      = token *("." token)                        ; attribute, then keys inside its value
    op        = "==" / ":" / "!=" / ">=" / "<=" / ">" / "<" / "~="
    value     = item / item ".." item / item *("," item)  ; ranges and lists only with == and !=
    token, item: text, or 'text' in single quotes (quotes protect . , ; and force a string)

Unquoted items that read as a number, true / false or an ISO 8601 date-time are compared as such;
everything else is a string. The tree is evaluated (and translated to SQL) by toshi.query.q, so both
APIs share one semantics: a statement holds when the entity has the target property and its value
(or any element of an array value) satisfies it; `!=` needs the property too.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from toshi.ngsiv2.errors import bad_request
from toshi.query.q import And, Comparison, Exists, Literal, Match, Path, QNode, instant_key
from toshi.query.regex import compile_pattern

OPERATORS = ("==", "!=", ">=", "<=", "~=", ">", "<", ":")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
MAX_LENGTH = 4000


def parse_v2_q(text: str, expand: Callable[[str], str]) -> QNode:
    if not text.strip():
        raise bad_request("Empty q")
    if len(text) > MAX_LENGTH:
        raise bad_request(f"q is too long (at most {MAX_LENGTH} characters)")
    nodes = [_statement(s, expand) for s in _split(text, ";") if s.strip()]
    if not nodes:
        raise bad_request("Empty q")
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def _statement(text: str, expand: Callable[[str], str]) -> QNode:
    text = text.strip()
    found = _operator(text)
    if found is None:
        negated = text.startswith("!")
        return Exists(_path(text[1:] if negated else text, expand), negated=negated)
    at, op = found
    path = _path(text[:at], expand)
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
