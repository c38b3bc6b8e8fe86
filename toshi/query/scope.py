"""Scopes (ETSI GS CIM 009 v1.8, clause 4.18) and the `scopeQ` query (clause 4.19).

A scope is '/' followed by levels separated by '/', e.g. `/Osaka/Toyono`. In a scopeQ term `+` stands
for exactly one level, a final `/#` for the scope itself and all its descendants, and `/#` alone for
any scope. Terms combine with `;` (and), `|` or `,` (or) and parentheses, `;` binding tighter.
An entity without scopes matches no scopeQ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NoReturn

from toshi.core.errors import BadRequestData, TooComplexQuery

MAX_LENGTH = 4000
MAX_DEPTH = 32
MAX_SCOPE_LENGTH = 1024
# Characters with a meaning in scopeQ, or that would make a scope ambiguous in a URL or a header.
_RESERVED = frozenset('#+;|,()"')
_TERM_RE = re.compile(r"[^\s,;|()]+")


def validate_scope(scope: str) -> str:
    """Return `scope` if it is a valid scope value for an entity, else raise BadRequestData."""
    if not isinstance(scope, str):
        raise BadRequestData(f"Invalid scope {scope!r}: a scope must be a string")
    problem = _scope_problem(scope)
    if problem:
        raise BadRequestData(f"Invalid scope {scope!r}: {problem}")
    return scope


def _scope_problem(scope: str) -> str | None:
    if len(scope) > MAX_SCOPE_LENGTH:
        return f"longer than {MAX_SCOPE_LENGTH} characters"
    if not scope.startswith("/"):
        return "a scope starts with '/'"
    for level in scope[1:].split("/"):
        problem = _level_problem(level)
        if problem:
            return problem
    return None


def _level_problem(level: str) -> str | None:
    if not level:
        return "empty level (a scope has no '//' and does not end with '/')"
    bad = next((ch for ch in level if ch in _RESERVED or ch.isspace() or not ch.isprintable()), None)
    return f"{bad!r} is not allowed in a scope level" if bad else None


def _pattern_level_problem(level: str) -> str | None:
    if "#" in level:
        return "'#' may only end a pattern, as '/#'"
    if "+" in level:
        return "'+' must be a whole level, as in /a/+/c"
    return _level_problem(level)


class ScopeQuery:
    """A parsed scopeQ."""

    def matches(self, scopes: list[str]) -> bool:
        """Whether an entity with these scopes is selected."""
        raise NotImplementedError


@dataclass(frozen=True)
class ScopePattern(ScopeQuery):
    levels: tuple[str, ...]  # "+" matches any one level
    descendants: bool = False  # the pattern ended with "/#"

    def matches(self, scopes: list[str]) -> bool:
        return any(self._matches_scope(scope) for scope in scopes or ())

    def _matches_scope(self, scope: str) -> bool:
        if not isinstance(scope, str) or not scope.startswith("/"):
            return False
        parts = scope[1:].split("/")
        if len(parts) < len(self.levels) or (len(parts) > len(self.levels) and not self.descendants):
            return False
        return all(level in ("+", part) for level, part in zip(self.levels, parts))


@dataclass(frozen=True)
class ScopeAnd(ScopeQuery):
    children: tuple[ScopeQuery, ...]

    def matches(self, scopes: list[str]) -> bool:
        return all(child.matches(scopes) for child in self.children)


@dataclass(frozen=True)
class ScopeOr(ScopeQuery):
    children: tuple[ScopeQuery, ...]

    def matches(self, scopes: list[str]) -> bool:
        return any(child.matches(scopes) for child in self.children)


def parse_scope_q(text: str) -> ScopeQuery:
    """Parse a scopeQ; BadRequestData if malformed, TooComplexQuery if nested too deeply."""
    if not isinstance(text, str) or not text.strip():
        raise BadRequestData("Invalid scopeQ: it is empty")
    if len(text) > MAX_LENGTH:
        raise BadRequestData(f"Invalid scopeQ: too long ({len(text)} characters, at most {MAX_LENGTH})")
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def parse(self) -> ScopeQuery:
        query = self._or(0)
        if self._peek():
            self._fail(f"unexpected '{self._peek()}'")
        return query

    def _or(self, depth: int) -> ScopeQuery:
        children = [self._and(depth)]
        while self._peek() in (",", "|"):
            self.pos += 1
            children.append(self._and(depth))
        return children[0] if len(children) == 1 else ScopeOr(tuple(children))

    def _and(self, depth: int) -> ScopeQuery:
        children = [self._atom(depth)]
        while self._peek() == ";":
            self.pos += 1
            children.append(self._atom(depth))
        return children[0] if len(children) == 1 else ScopeAnd(tuple(children))

    def _atom(self, depth: int) -> ScopeQuery:
        if self._peek() != "(":
            return self._pattern()
        if depth >= MAX_DEPTH:
            raise TooComplexQuery(f"scopeQ nests parentheses more than {MAX_DEPTH} levels deep")
        self.pos += 1
        query = self._or(depth + 1)
        if self._peek() != ")":
            self._fail("missing ')'")
        self.pos += 1
        return query

    def _pattern(self) -> ScopePattern:
        self._peek()
        start = self.pos
        m = _TERM_RE.match(self.text, self.pos)
        if not m:
            self._fail("expected a scope such as /Osaka/Toyono, /Osaka/# or /#")
        self.pos = m.end()
        term = m[0]
        if term == "/#":
            return ScopePattern((), descendants=True)
        if not term.startswith("/"):
            self._fail(f"'{term}' does not start with '/'", start)
        levels = term[1:].split("/")
        descendants = levels[-1] == "#"
        if descendants:
            levels.pop()
        for level in levels:
            problem = None if level == "+" else _pattern_level_problem(level)
            if problem:
                self._fail(f"'{term}': {problem}", start)
        return ScopePattern(tuple(levels), descendants)

    def _peek(self) -> str:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _fail(self, problem: str, at: int | None = None) -> NoReturn:
        raise BadRequestData(f"Invalid scopeQ: {problem} (at position {self.pos if at is None else at})")
