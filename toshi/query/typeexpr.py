"""Entity type selection (ETSI GS CIM 009 v1.8, clause 4.17): the `type` parameter.

`,` and `|` mean or, `;` means and, parentheses group. The spec's grammar is a disjunction of types or
of parenthesised conjunctions, e.g. `(Building;Shelter)|Park`; this parser accepts any nesting, with `;`
binding tighter than `,` and `|`. Type names are expanded with the caller's `expand`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from toshi.core.errors import BadRequestData, TooComplexQuery

MAX_LENGTH = 4000
MAX_DEPTH = 32
_NAME_RE = re.compile(r'[^\s,;|()"]+')


class TypeExpr:
    """A parsed type selection."""

    def matches(self, types: list[str]) -> bool:
        """Whether an entity with these (expanded) types is selected."""
        raise NotImplementedError

    def simple_names(self) -> list[str] | None:
        """The expanded names when the expression only ORs type names (an index can serve it), else None."""
        raise NotImplementedError


@dataclass(frozen=True)
class TypeName(TypeExpr):
    name: str

    def matches(self, types: list[str]) -> bool:
        return self.name in types

    def simple_names(self) -> list[str] | None:
        return [self.name]


@dataclass(frozen=True)
class AllOf(TypeExpr):
    children: tuple[TypeExpr, ...]

    def matches(self, types: list[str]) -> bool:
        return all(child.matches(types) for child in self.children)

    def simple_names(self) -> list[str] | None:
        return None


@dataclass(frozen=True)
class AnyOf(TypeExpr):
    children: tuple[TypeExpr, ...]

    def matches(self, types: list[str]) -> bool:
        return any(child.matches(types) for child in self.children)

    def simple_names(self) -> list[str] | None:
        names: list[str] = []
        for child in self.children:
            child_names = child.simple_names()
            if child_names is None:
                return None
            names += child_names
        return list(dict.fromkeys(names))


def parse_type_expr(text: str, expand: Callable[[str], str]) -> TypeExpr:
    """Parse a type selection; BadRequestData if malformed, TooComplexQuery if nested too deeply."""
    if not isinstance(text, str) or not text.strip():
        raise BadRequestData("Invalid type selection: it is empty")
    if len(text) > MAX_LENGTH:
        raise BadRequestData(
            f"Invalid type selection: too long ({len(text)} characters, at most {MAX_LENGTH})"
        )
    return _Parser(text, expand).parse()


class _Parser:
    def __init__(self, text: str, expand: Callable[[str], str]):
        self.text = text
        self.pos = 0
        self.expand = expand

    def parse(self) -> TypeExpr:
        expr = self._any(0)
        if self._peek():
            self._fail(f"unexpected '{self._peek()}'")
        return expr

    def _any(self, depth: int) -> TypeExpr:
        children = [self._all(depth)]
        while self._peek() in (",", "|"):
            self.pos += 1
            children.append(self._all(depth))
        return children[0] if len(children) == 1 else AnyOf(tuple(children))

    def _all(self, depth: int) -> TypeExpr:
        children = [self._atom(depth)]
        while self._peek() == ";":
            self.pos += 1
            children.append(self._atom(depth))
        return children[0] if len(children) == 1 else AllOf(tuple(children))

    def _atom(self, depth: int) -> TypeExpr:
        if self._peek() != "(":
            return self._name()
        if depth >= MAX_DEPTH:
            raise TooComplexQuery(f"Type selection nests parentheses more than {MAX_DEPTH} levels deep")
        self.pos += 1
        expr = self._any(depth + 1)
        if self._peek() != ")":
            self._fail("missing ')'")
        self.pos += 1
        return expr

    def _name(self) -> TypeName:
        self._peek()
        m = _NAME_RE.match(self.text, self.pos)
        if not m:
            self._fail("expected an entity type name")
        self.pos = m.end()
        return TypeName(self.expand(m[0]))

    def _peek(self) -> str:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _fail(self, problem: str) -> NoReturn:
        raise BadRequestData(f"Invalid type selection: {problem} (at position {self.pos})")
