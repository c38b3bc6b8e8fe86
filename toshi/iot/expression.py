"""Attribute `expression` and `entityNameExp` of the built-in IoT agent (docs/iot.md): JEXL, as the
FIWARE IoT agents (iotagent-node-lib) read them, through the ground floor's safe evaluator
(toshi.query.jexl, its `full` dialect: unary `-` and `!` included).

Accepted forms: the legacy IoT Agent `${@t * 1.8 + 32}` (the `@` marks a measure) and JEXL
`t * 1.8 + 32`, `t|round`, `(t > 30) ? 'hot' : 'ok'` ... Measures are bound by object_id or
attribute name, numeric text (as UltraLight sends it) as numbers. Nothing is evaluated by Python.

Limits on top of the evaluator's: 256 characters; the result must be a finite number within
±1e300 or a text of at most 1024 characters (a boolean, null, array or object is refused, as a
measure's value is a number or a text here); a measure the expression names must be present.
"""

from __future__ import annotations

import math
import re
from typing import Any

from toshi.query import jexl

MAX_LENGTH = 256
MAX_STRING = 1024
MAX_ABS = 1e300

_LEGACY = re.compile(r"^\$\{(.*)\}$", re.S)
_AT_NAME = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")


class ExpressionError(ValueError):
    """The expression is not in the language, or failed for these measures."""


def _source(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("an expression is a non-empty string")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    body = text.strip()
    if m := _LEGACY.match(body):
        body = _AT_NAME.sub(r"\1", m[1])
    return body.strip()


def compile_expression(text: Any) -> str:
    """The checked JEXL text of an expression, else ExpressionError (used at provisioning too)."""
    body = _source(text)
    try:
        jexl.compile_expression(body, "full")
    except jexl.JexlError as exc:
        raise ExpressionError(f"invalid expression: {text} ({exc})") from None
    return body


def evaluate(text: str, variables: dict[str, Any]) -> Any:
    """The value of the expression with these measures bound by name."""
    body = compile_expression(text)
    context = {name: _operand(value) for name, value in variables.items()}
    try:
        result = jexl.evaluate(body, context, dialect="full")
    except jexl.JexlError as exc:
        raise ExpressionError(f"expression failed: {exc}") from None
    if result is jexl.UNDEFINED:
        raise ExpressionError(f"unknown measure in expression: {text}")
    return _checked(result)


def _checked(result: Any) -> Any:
    if isinstance(result, str):
        if len(result) > MAX_STRING:
            raise ExpressionError("string result too long")
        return result
    if isinstance(result, bool) or not isinstance(result, (int, float)):
        raise ExpressionError("an expression gives a number or a text")
    if isinstance(result, float) and (math.isnan(result) or math.isinf(result)):
        raise ExpressionError("expression result is not a finite number")
    if abs(result) > MAX_ABS:
        raise ExpressionError("expression result out of range")
    return result


def _operand(value: Any) -> Any:
    """A measure as an operand: numbers (and numeric text, as UL sends) as numbers, else as it is."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value[:MAX_STRING]
        if math.isfinite(number):
            return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
        return value[:MAX_STRING]
    return value
