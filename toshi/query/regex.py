"""User-supplied regular expressions (idPattern, the `~=` / `!~=` operators of `q`).

Patterns are compiled with RE2, whose matching time is linear in the input, so a hostile pattern such as
`(a+)+b` cannot stall the server. RE2 has no backreferences or look-around; such patterns are rejected
as bad request data rather than silently falling back to a backtracking engine.
"""

from __future__ import annotations

import functools
from typing import Protocol

import re2

from toshi.core.errors import BadRequestData

MAX_PATTERN_LENGTH = 1000
# RE2 is linear in the input, but the constant grows with the compiled program: `(.*){1000}` (10k
# instructions) needs ~20 us per input character once its DFA cache overflows. Realistic patterns
# compile to a few dozen instructions.
MAX_PROGRAM_SIZE = 2000
_MAX_MEM = 8 << 20  # RE2's own cap on one program's memory; beyond it compilation fails


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a bad user pattern is not a server error; keep the log clean
    options.max_mem = _MAX_MEM
    return options


_OPTIONS = _options()


class Pattern(Protocol):
    """What callers may rely on: RE2's `search` (unanchored) and `fullmatch`."""

    @property
    def programsize(self) -> int: ...

    def search(self, text: str) -> object | None: ...

    def fullmatch(self, text: str) -> object | None: ...


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> Pattern:
    return re2.compile(pattern, _OPTIONS)


def compile_pattern(pattern: str) -> Pattern:
    """Compile `pattern` with RE2, or raise BadRequestData. Use `.search()` for unanchored matching."""
    if not isinstance(pattern, str):
        raise BadRequestData("Regular expression must be a string")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise BadRequestData(
            f"Regular expression is too long ({len(pattern)} characters, at most {MAX_PATTERN_LENGTH})"
        )
    try:
        compiled = _compile(pattern)
    except (re2.error, UnicodeError) as exc:
        raise BadRequestData(f"Invalid regular expression {pattern!r}: {_reason(exc)}") from None
    if compiled.programsize > MAX_PROGRAM_SIZE:
        raise BadRequestData(f"Regular expression {pattern!r} is too complex (expands to too many states)")
    return compiled


def _reason(exc: Exception) -> str:
    reason = exc.args[0] if isinstance(exc, re2.error) and exc.args else exc
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
