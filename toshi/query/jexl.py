"""A small, safe JEXL evaluator: the expression language of Orion's custom notifications and
`jexlExpression` conditions (Orion manual, "JEXL support in custom notifications") and of the FIWARE
IoT agents' attribute expressions.

Grammar (TomFrost's JEXL, as Orion's tcjexl/pyjexl reads it), parsed by a Pratt parser into a tree of
tuples and walked by `evaluate`; nothing is handed to Python's `eval`:

* literals: numbers (`1`, `2.5`), strings (`'a'`, `"b"`; `\\'`, `\\"` and `\\\\` are escapes), `true`,
  `false`, `null`; arrays `[1, 'a']`; objects `{a: 1, 'b c': x}`
* identifiers from the context, `a.b` and `a['b']` / `a[0]` access, filters `list[.x > 1]`
* binary operators, loosest first: `?:` (ternary); `||` `&&`; `==` `!=` `<` `<=` `>` `>=` `in`;
  `+` `-`; `*` `/` `//` `%`; `^` (power); then transforms `value|name(args)` and member access
* transforms: the functions Orion documents (`uppercase` ... `getTime`, see TRANSFORMS)

Values behave as in Orion, which evaluates JEXL in Python: `+` adds numbers or joins two strings (a
number plus a string fails), `/` divides exactly, `==` compares like Python, truthiness is Python's.
An identifier the context lacks is *undefined*: `||`, `&&` and `?:` treat it as false and `!=` as
null, any other operation on it fails (the manual's failsafe cases). The `orion` dialect (default) has
Orion's known limitations: no unary `-` and no `!` (both are syntax errors, so the expression fails to
null); the `full` dialect (the IoT agent's JavaScript JEXL) has both.

Limits: MAX_LENGTH characters of text, MAX_DEPTH levels of nesting, MAX_NODES nodes, MAX_STEPS
evaluation steps and MAX_SECONDS of evaluation time, MAX_STRING characters in any string built, and
regular expressions through RE2 (toshi.query.regex). Past any of them the expression fails.

`evaluate` raises JexlError; `evaluate_or_none` is the failsafe form (None on any failure, undefined
included), which is what Orion does with a failing expression.
"""

from __future__ import annotations

import functools
import math
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from toshi.core.errors import BadRequestData
from toshi.query.regex import compile_pattern

MAX_LENGTH = 4096
MAX_DEPTH = 48
MAX_NODES = 2000
MAX_STEPS = 100_000
MAX_SECONDS = 0.05
MAX_STRING = 1 << 20
MAX_LIST = 100_000

DIALECTS = ("orion", "full")


class JexlError(ValueError):
    """The expression is not JEXL, or failed on this context."""


class _Undefined:
    """What an identifier the context lacks evaluates to."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED = _Undefined()

# -- lexer ----------------------------------------------------------------------------------------

_OPERATORS = frozenset(("//", "==", "!=", ">=", "<=", "&&", "||", "+", "-", "*", "/", "%", "^", "<", ">", "!",
                        "?", ":", ".", "[", "]", "(", ")", "{", "}", ",", "|"))
_KEYWORDS = {"true": True, "false": False, "null": None}


def _is_ident_start(ch: str) -> bool:
    return ch.isalpha() or ch in "_$"


def _is_ident_part(ch: str) -> bool:
    return ch.isalnum() or ch in "_$"


def _tokens(text: str) -> list[tuple[str, Any]]:
    """(kind, value) pairs: kind `num`, `str`, `id`, `lit` (true/false/null), `op`, `end`."""
    out: list[tuple[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch.isdigit():
            j = i
            while j < n and text[j].isdigit():
                j += 1
            if j < n and text[j] == "." and j + 1 < n and text[j + 1].isdigit():
                j += 1
                while j < n and text[j].isdigit():
                    j += 1
                out.append(("num", float(text[i:j])))
            else:
                out.append(("num", int(text[i:j])))
            i = j
        elif ch in "'\"":
            j, chars = i + 1, []
            while j < n and text[j] != ch:
                if text[j] == "\\" and j + 1 < n and text[j + 1] in "'\"\\":
                    chars.append(text[j + 1])
                    j += 2
                else:
                    chars.append(text[j])
                    j += 1
            if j >= n:
                raise JexlError("unterminated string")
            out.append(("str", "".join(chars)))
            i = j + 1
        elif _is_ident_start(ch):
            j = i + 1
            while j < n and _is_ident_part(text[j]):
                j += 1
            word = text[i:j]
            if word in _KEYWORDS:
                out.append(("lit", _KEYWORDS[word]))
            elif word == "in":
                out.append(("op", "in"))
            else:
                out.append(("id", word))
            i = j
        elif text[i:i + 2] in _OPERATORS:
            out.append(("op", text[i:i + 2]))
            i += 2
        elif ch in _OPERATORS:
            out.append(("op", ch))
            i += 1
        else:
            raise JexlError(f"unexpected character {ch!r}")
    out.append(("end", None))
    return out


# -- parser (Pratt) -------------------------------------------------------------------------------

_BINARY = {"||": 10, "&&": 10, "==": 20, "!=": 20, "<": 20, "<=": 20, ">": 20, ">=": 20, "in": 20,
           "+": 30, "-": 30, "*": 40, "/": 40, "//": 40, "%": 40, "^": 50}
_TERNARY = 5
_UNARY = 60
_POSTFIX = 80  # `|`, `.`, `[`


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]], dialect: str):
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.nodes = 0
        self.dialect = dialect
        self.relative = 0  # inside a filter `[...]`: `.name` is relative to the item

    def peek(self) -> tuple[str, Any]:
        return self.tokens[self.pos]

    def next(self) -> tuple[str, Any]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, op: str) -> None:
        if self.next() != ("op", op):
            raise JexlError(f"expected {op!r}")

    def node(self, *parts: Any) -> tuple:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise JexlError("expression too complex")
        return parts

    def expression(self, rbp: int = 0) -> tuple:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise JexlError("expression nested too deeply")
        left = self.prefix(self.next())
        while True:
            kind, value = self.peek()
            if kind != "op":
                break
            if value == "?" and rbp < _TERNARY:
                self.next()
                then = self.expression(0)
                self.expect(":")
                otherwise = self.expression(_TERNARY - 1)
                left = self.node("cond", left, then, otherwise)
            elif value in _BINARY and _BINARY[value] > rbp:
                self.next()
                right = self.expression(_BINARY[value])
                left = self.node("bin", value, left, right)
            elif value in ("|", ".", "[") and rbp < _POSTFIX:
                left = self.postfix(left)
            else:
                break
        self.depth -= 1
        return left

    def postfix(self, left: tuple) -> tuple:
        _, op = self.next()
        if op == ".":
            kind, name = self.next()
            if kind not in ("id", "lit") and not (kind == "op" and name == "in"):
                raise JexlError("expected a property name after '.'")
            name = name if kind != "lit" else {True: "true", False: "false", None: "null"}[name]
            return self.node("get", left, self.node("lit", name))
        if op == "|":
            kind, name = self.next()
            if kind != "id":
                raise JexlError("expected a transform name after '|'")
            args = []
            if self.peek() == ("op", "("):
                self.next()
                args = self.items(")")
            return self.node("transform", name, left, tuple(args))
        # "["
        if self.peek() == ("op", "."):
            self.relative += 1
            test = self.expression(0)
            self.relative -= 1
            self.expect("]")
            return self.node("filter", left, test)
        key = self.expression(0)
        self.expect("]")
        return self.node("get", left, key)

    def items(self, close: str) -> list[tuple]:
        out: list[tuple] = []
        if self.peek() == ("op", close):
            self.next()
            return out
        while True:
            out.append(self.expression(0))
            kind, value = self.next()
            if (kind, value) == ("op", close):
                return out
            if (kind, value) != ("op", ","):
                raise JexlError(f"expected ',' or {close!r}")

    def prefix(self, token: tuple[str, Any]) -> tuple:
        kind, value = token
        if kind in ("num", "str", "lit"):
            return self.node("lit", value)
        if kind == "id":
            return self.node("var", value)
        if kind == "op":
            if value == "(":
                inner = self.expression(0)
                self.expect(")")
                return inner
            if value == "[":
                return self.node("array", tuple(self.items("]")))
            if value == "{":
                return self.node("object", tuple(self.pairs()))
            if value == "." and self.relative:
                name_kind, name = self.next()
                if name_kind != "id":
                    raise JexlError("expected a property name after '.'")
                return self.node("get", self.node("item"), self.node("lit", name))
            if value in ("-", "+", "!") and self.dialect == "full":
                return self.node("unary", value, self.expression(_UNARY))
        raise JexlError("unexpected " + ("end of expression" if kind == "end" else repr(value)))

    def pairs(self) -> list[tuple[str, tuple]]:
        out: list[tuple[str, tuple]] = []
        if self.peek() == ("op", "}"):
            self.next()
            return out
        while True:
            kind, key = self.next()
            if kind == "lit":
                key = {True: "true", False: "false", None: "null"}[key]
            elif kind not in ("id", "str"):
                raise JexlError("expected an object key")
            self.expect(":")
            out.append((key, self.expression(0)))
            kind, value = self.next()
            if (kind, value) == ("op", "}"):
                return out
            if (kind, value) != ("op", ","):
                raise JexlError("expected ',' or '}'")


@functools.lru_cache(maxsize=512)
def compile_expression(text: str, dialect: str = "orion") -> tuple:
    """The syntax tree of `text`, else JexlError (cached: subscriptions evaluate the same texts)."""
    if not isinstance(text, str):
        raise JexlError("an expression is a string")
    if dialect not in DIALECTS:
        raise JexlError(f"unknown JEXL dialect {dialect!r}")
    if len(text) > MAX_LENGTH:
        raise JexlError(f"expression longer than {MAX_LENGTH} characters")
    parser = _Parser(_tokens(text), dialect)
    tree = parser.expression(0)
    if parser.peek()[0] != "end":
        raise JexlError(f"unexpected {parser.peek()[1]!r}")
    return tree


# -- evaluation -----------------------------------------------------------------------------------

class _Run:
    def __init__(self, context: dict):
        self.context = context
        self.steps = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise JexlError("expression takes too many steps")
        if self.steps % 256 == 0 and time.monotonic() > self.deadline:
            raise JexlError("expression takes too long")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _defined(value: Any, what: str) -> Any:
    if value is UNDEFINED:
        raise JexlError(f"undefined value in {what}")
    return value


def _checked_string(value: str) -> str:
    if len(value) > MAX_STRING:
        raise JexlError("string result too long")
    return value


def _number_result(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise JexlError("result is not a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1024:
        raise JexlError("result out of range")
    return value


def _power(base: Any, exponent: Any) -> Any:
    if isinstance(base, int) and isinstance(exponent, int) and 0 <= exponent <= 64 and abs(base) < 1 << 32:
        return base ** exponent
    try:
        return math.pow(base, exponent)
    except (OverflowError, ValueError):
        raise JexlError("power out of range") from None


def _arith(op: str, left: Any, right: Any) -> Any:
    left, right = _defined(left, op), _defined(right, op)
    if op == "+":
        if isinstance(left, str) and isinstance(right, str):
            return _checked_string(left + right)
        if isinstance(left, list) and isinstance(right, list):
            if len(left) + len(right) > MAX_LIST:
                raise JexlError("list result too long")
            return left + right
    if not (isinstance(left, (int, float)) and isinstance(right, (int, float))):
        raise JexlError(f"{op} applies to numbers")
    try:
        if op == "+":
            result = left + right
        elif op == "-":
            result = left - right
        elif op == "*":
            result = left * right
        elif op == "/":
            result = left / right
        elif op == "//":
            result = left // right
        elif op == "%":
            result = left % right
        else:
            result = _power(left, right)
    except (ZeroDivisionError, OverflowError):
        raise JexlError("arithmetic error") from None
    return _number_result(result)


def _compare(op: str, left: Any, right: Any) -> bool:
    left, right = _defined(left, op), _defined(right, op)
    if not ((_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str))):
        raise JexlError(f"{op} compares two numbers or two strings")
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _contains(needle: Any, haystack: Any) -> bool:
    needle, haystack = _defined(needle, "in"), _defined(haystack, "in")
    if isinstance(haystack, str):
        if not isinstance(needle, str):
            raise JexlError("in: a string contains strings")
        return needle in haystack
    if isinstance(haystack, (list, dict)):
        return any(_equal(needle, item) for item in haystack)
    raise JexlError("in applies to strings, arrays and objects")


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return left == right


def _member(subject: Any, key: Any) -> Any:
    subject = _defined(subject, "property access")
    key = _defined(key, "property access")
    if isinstance(subject, dict):
        if not isinstance(key, str):
            return UNDEFINED
        return subject.get(key, UNDEFINED)
    if isinstance(subject, (list, str)):
        if isinstance(key, bool) or not isinstance(key, (int, float)) or int(key) != key:
            return UNDEFINED
        index = int(key)
        if -len(subject) <= index < len(subject):
            return subject[index]
        return UNDEFINED
    raise JexlError("property access on a value without properties")


def _eval(node: tuple, run: _Run, item: Any = UNDEFINED) -> Any:
    run.tick()
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "var":
        return run.context.get(node[1], UNDEFINED)
    if kind == "item":
        return item
    if kind == "get":
        return _member(_eval(node[1], run, item), _eval(node[2], run, item))
    if kind == "bin":
        op = node[1]
        left = _eval(node[2], run, item)
        if op == "||":
            return left if left else _eval(node[3], run, item)
        if op == "&&":
            return _eval(node[3], run, item) if left else left
        right = _eval(node[3], run, item)
        if op == "==":
            return _equal(_defined(left, op), _defined(right, op))
        if op == "!=":
            return not _equal(None if left is UNDEFINED else left, None if right is UNDEFINED else right)
        if op in ("<", "<=", ">", ">="):
            return _compare(op, left, right)
        if op == "in":
            return _contains(left, right)
        return _arith(op, left, right)
    if kind == "cond":
        return _eval(node[2] if _eval(node[1], run, item) else node[3], run, item)
    if kind == "unary":
        value = _eval(node[2], run, item)
        if node[1] == "!":
            return not value
        value = _defined(value, "unary " + node[1])
        if not _is_number(value):
            raise JexlError(f"unary {node[1]} applies to numbers")
        return -value if node[1] == "-" else value
    if kind == "array":
        return [_defined(_eval(part, run, item), "array") for part in node[1]]
    if kind == "object":
        out = {}
        for key, part in node[1]:
            value = _eval(part, run, item)
            if value is not UNDEFINED:
                out[key] = value
        return out
    if kind == "filter":
        subject = _defined(_eval(node[1], run, item), "filter")
        if isinstance(subject, dict):
            subject = [subject]
        if not isinstance(subject, list):
            raise JexlError("a filter applies to arrays")
        return [element for element in subject if _eval(node[2], run, element)]
    if kind == "transform":
        function = TRANSFORMS.get(node[1])
        if function is None:
            raise JexlError(f"unknown transform {node[1]!r}")
        value = _defined(_eval(node[2], run, item), "transform " + node[1])
        args = [_defined(_eval(arg, run, item), "transform " + node[1]) for arg in node[3]]
        try:
            return function(value, *args)
        except JexlError:
            raise
        except (TypeError, ValueError, AttributeError, ArithmeticError, KeyError, IndexError,
                OverflowError, RecursionError):
            raise JexlError(f"transform {node[1]} failed") from None
    raise JexlError(f"unknown node {kind}")  # pragma: no cover - the parser makes no other


def evaluate(text: str, context: dict[str, Any], *, dialect: str = "orion") -> Any:
    """The value of the expression over `context` (a JSON-like dict); UNDEFINED for an identifier
    (or property) the context lacks; JexlError when it is not JEXL or fails."""
    tree = compile_expression(text, dialect)
    try:
        return _eval(tree, _Run(context))
    except RecursionError:
        raise JexlError("expression nested too deeply") from None


def evaluate_or_none(text: str, context: dict[str, Any], *, dialect: str = "orion") -> Any:
    """Orion's failsafe: the value as JSON (integral floats as integers, like Orion's numbers), or
    None when the expression is not JEXL, fails, or is undefined."""
    try:
        value = evaluate(text, context, dialect=dialect)
    except JexlError:
        return None
    return None if value is UNDEFINED else as_json(value)


def as_json(value: Any) -> Any:
    """A result as Orion renders it: numbers are doubles (integral ones print as integers; 15
    significant digits, so 84.4/100 is 0.844); undefined parts of arrays become null."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        value = float(f"{value:.15g}")
        return int(value) if value.is_integer() and abs(value) < 1e18 else value
    if isinstance(value, int):
        return value
    if isinstance(value, list):
        return [None if v is UNDEFINED else as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items() if v is not UNDEFINED}
    return None


# -- transforms (Orion manual, "Available Transformations") ---------------------------------------

def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise JexlError(f"{what} applies to strings")
    return value


def _numbers(value: Any, *, empty_ok: bool = False) -> list | None:
    """The array when it holds only numbers (and is not empty unless `empty_ok`), else None."""
    if not isinstance(value, list) or (not value and not empty_ok):
        return None
    return value if all(_is_number(v) for v in value) else None


def _number(value: Any, what: str) -> float | int:
    if not _is_number(value):
        raise JexlError(f"{what} applies to numbers")
    return value


def _index_of(value: Any, needle: Any) -> int | None:
    position = _string(value, "indexOf").find(_string(needle, "indexOf"))
    return None if position < 0 else position


def _substring(value: Any, start: Any, end: Any) -> str | None:
    text = _string(value, "substring")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
        return None
    if start < 0 or end > len(text) or end < start:
        return None
    return text[start:end]


def _is_nan(value: Any) -> bool:
    if _is_number(value):
        return isinstance(value, float) and math.isnan(value)
    if isinstance(value, str):
        try:
            return math.isnan(float(value))
        except ValueError:
            return True
    return True


def _parse_int(value: Any) -> int:
    if _is_number(value):
        return int(value)
    return int(_string(value, "parseInt").strip())


def _parse_float(value: Any) -> float:
    if _is_number(value):
        return float(value)
    number = float(_string(value, "parseFloat").strip())
    if not math.isfinite(number):
        raise JexlError("parseFloat: not a finite number")
    return number


def _type_of(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if _is_number(value):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    return "Object"


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    return _checked_string(orjson.dumps(as_json(value)).decode())


def _to_json(value: Any) -> Any:
    try:
        return orjson.loads(_string(value, "toJson"))
    except orjson.JSONDecodeError:
        return None


def _math(function):
    def apply(value: Any) -> Any:
        return _number_result(function(_number(value, "a math transform")))
    return apply


def _to_fixed(value: Any, digits: Any) -> float:
    if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= 100:
        raise JexlError("toFixed takes a number of digits")
    return round(_number(value, "toFixed"), digits)


def _replace_str(value: Any, old: Any, new: Any) -> str:
    text, old, new = _string(value, "replaceStr"), _string(old, "replaceStr"), _string(new, "replaceStr")
    count = text.count(old) if old else len(text) + 1
    if len(text) + count * (len(new) - len(old)) > MAX_STRING:  # refused before it is built
        raise JexlError("string result too long")
    return text.replace(old, new)


def _regex(pattern: Any):
    try:
        return compile_pattern(_string(pattern, "a regular expression"))
    except BadRequestData:
        return None


def _matches(compiled, text: str):
    """The matches of a pattern, given up once the evaluation's time is over (the RE2 binding spends
    tens of microseconds per match, so a string of many matches is a cost to bound)."""
    deadline = time.monotonic() + MAX_SECONDS
    for n, match in enumerate(compiled.finditer(text)):
        if n % 64 == 63 and time.monotonic() > deadline:
            raise JexlError("regular expression takes too long")
        yield match


def _replace_regex(value: Any, pattern: Any, replacement: Any) -> str | None:
    text, replacement = _string(value, "replaceRegex"), _string(replacement, "replaceRegex")
    compiled = _regex(pattern)
    if compiled is None:
        return None
    parts, at, size = [], 0, len(text)
    try:
        for match in _matches(compiled, text):
            piece = match.expand(replacement)
            size += len(piece) - (match.end() - match.start())
            if size > MAX_STRING:
                raise JexlError("string result too long")
            parts += [text[at:match.start()], piece]
            at = match.end()
    except JexlError:
        raise
    except Exception:  # noqa: BLE001 - RE2 refuses the replacement (a bad group reference)
        return None
    parts.append(text[at:])
    return "".join(parts)


def _match_regex(value: Any, pattern: Any) -> list | None:
    text = _string(value, "matchRegex")
    compiled = _regex(pattern)
    if compiled is None:
        return None
    return [m.group(0) for m in _matches(compiled, text)]


def _mapper(value: Any, values: Any, choices: Any) -> Any:
    if not isinstance(value, str) or not isinstance(values, list) or not isinstance(choices, list):
        return None
    if len(values) != len(choices) or not all(isinstance(v, str) for v in values) or value not in values:
        return None
    return choices[values.index(value)]


def _n_mapper(value: Any, values: Any, choices: Any) -> Any:
    if not _is_number(value) or _numbers(values) is None or not isinstance(choices, list):
        return None
    if len(values) != len(choices):
        return None
    wanted = round(value)
    for candidate, choice in zip(values, choices):
        if round(candidate) == wanted:
            return choice
    return None


def _th_mapper(value: Any, values: Any, choices: Any) -> Any:
    if not _is_number(value) or _numbers(values) is None or not isinstance(choices, list):
        return None
    if len(choices) != len(values) + 1:
        return None
    for index, threshold in enumerate(values):
        if value < threshold:
            return choices[index]
    return choices[-1]


def _values(value: Any) -> list | None:
    return list(value.values()) if isinstance(value, dict) else None


def _keys(value: Any) -> list | None:
    return list(value.keys()) if isinstance(value, dict) else None


def _aggregate(function):
    def apply(value: Any) -> Any:
        numbers = _numbers(value)
        return None if numbers is None else _number_result(function(numbers))
    return apply


def _arr_sort(value: Any) -> list | None:
    numbers = _numbers(value, empty_ok=True)
    return None if numbers is None else sorted(numbers)


def _arr_reverse(value: Any) -> list | None:
    return list(reversed(value)) if isinstance(value, list) else None


def _now(value: Any) -> int | float:
    return int(time.time()) + _number(value, "now")


def _to_iso_string(value: Any) -> str:
    return datetime.fromtimestamp(_number(value, "toIsoString"), UTC).isoformat()


def _get_time(value: Any) -> int | float:
    moment = datetime.fromisoformat(_string(value, "getTime"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


TRANSFORMS = {
    "uppercase": lambda v: _string(v, "uppercase").upper(),
    "lowercase": lambda v: _string(v, "lowercase").lower(),
    "split": lambda v, sep: _string(v, "split").split(_string(sep, "split")),
    "indexOf": _index_of,
    "len": lambda v: len(_string(v, "len")),
    "trim": lambda v: _string(v, "trim").strip(),
    "substring": _substring,
    "includes": lambda v, s: _string(s, "includes") in _string(v, "includes"),
    "isNaN": _is_nan,
    "parseInt": _parse_int,
    "parseFloat": _parse_float,
    "typeOf": _type_of,
    "toString": _to_string,
    "toJson": _to_json,
    "floor": _math(math.floor),
    "ceil": _math(math.ceil),
    "round": _math(round),
    "toFixed": _to_fixed,
    "log": _math(math.log),
    "log10": _math(math.log10),
    "log2": _math(math.log2),
    "sqrt": _math(math.sqrt),
    "replaceStr": lambda v, a, b: _replace_str(v, a, b),
    "replaceRegex": _replace_regex,
    "matchRegex": _match_regex,
    "mapper": _mapper,
    "nMapper": _n_mapper,
    "thMapper": _th_mapper,
    "values": _values,
    "keys": _keys,
    "arrSum": _aggregate(sum),
    "arrAvg": _aggregate(lambda xs: sum(xs) / len(xs)),
    "arrMax": _aggregate(max),
    "arrMin": _aggregate(min),
    "arrMed": _aggregate(statistics.median),
    "arrSort": _arr_sort,
    "arrReverse": _arr_reverse,
    "now": _now,
    "toIsoString": _to_iso_string,
    "getTime": _get_time,
}
