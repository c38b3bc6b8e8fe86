"""A small, safe expression language for attribute `expression` (docs/iot.md).

Accepted forms: the legacy IoT Agent `${@t * 1.8 + 32}` and a JEXL-like bare `t * 1.8 + 32`.
Numbers, strings, + - * / %, unary + -, parentheses, and measures by object_id or attribute name.
The text is parsed with `ast` and only a whitelist of node types is walked: nothing is ever
evaluated by Python (no eval/exec, no attribute access, calls, subscripts, comprehensions).
"""

from __future__ import annotations

import ast
import math
import operator
import re
from typing import Any

MAX_LENGTH = 256
MAX_NODES = 64
MAX_STRING = 1024
MAX_ABS = 1e300

_LEGACY = re.compile(r"^\$\{(.*)\}$", re.S)
_AT_NAME = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Mod: operator.mod}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}


class ExpressionError(ValueError):
    """The expression is not in the language, or failed for these measures."""


def compile_expression(text: Any) -> ast.Expression:
    """The checked syntax tree of an expression, else ExpressionError (used at provisioning too)."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("an expression is a non-empty string")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    body = text.strip()
    if m := _LEGACY.match(body):
        body = m[1]
    body = _AT_NAME.sub(r"\1", body)
    try:
        tree = ast.parse(body.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ExpressionError(f"invalid expression: {text}") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ExpressionError("expression too complex")
    for node in nodes:
        if isinstance(node, (ast.Expression, ast.Load)) or type(node) in _BINOPS or type(node) in _UNARY:
            continue
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            continue
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            continue
        if isinstance(node, ast.Name):
            continue
        if isinstance(node, ast.Constant) and type(node.value) in (int, float, str):
            continue
        raise ExpressionError(f"not allowed in an expression: {type(node).__name__}")
    return tree


def evaluate(text_or_tree: str | ast.Expression, variables: dict[str, Any]) -> Any:
    """The value of the expression with these measures bound by name."""
    tree = text_or_tree if isinstance(text_or_tree, ast.Expression) else compile_expression(text_or_tree)
    return _eval(tree.body, variables)


def _eval(node: ast.AST, variables: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in variables:
            raise ExpressionError(f"unknown measure in expression: {node.id}")
        return _operand(variables[node.id])
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, variables)
        if not _is_number(value):
            raise ExpressionError("unary + and - apply to numbers only")
        return _UNARY[type(node.op)](value)
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, variables), _eval(node.right, variables)
        if isinstance(left, str) or isinstance(right, str):
            if isinstance(node.op, ast.Add) and isinstance(left, str) and isinstance(right, str):
                if len(left) + len(right) > MAX_STRING:
                    raise ExpressionError("string result too long")
                return left + right
            raise ExpressionError("strings can only be joined with +")
        try:
            result = _BINOPS[type(node.op)](left, right)
        except (ZeroDivisionError, OverflowError, ArithmeticError):
            raise ExpressionError("arithmetic error in expression") from None
        if isinstance(result, float) and (math.isnan(result) or math.isinf(result)):
            raise ExpressionError("expression result is not a finite number")
        if abs(result) > MAX_ABS:
            raise ExpressionError("expression result out of range")
        return result
    raise ExpressionError(f"not allowed in an expression: {type(node).__name__}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _operand(value: Any) -> Any:
    """A measure as an operand: numbers (and numeric text, as UL sends) as numbers, else text."""
    if _is_number(value):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value[:MAX_STRING]
        if math.isfinite(number):
            return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
        return value[:MAX_STRING]
    raise ExpressionError("measure is neither a number nor a text")
