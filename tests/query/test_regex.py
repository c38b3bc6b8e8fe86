"""User regular expressions compiled with RE2."""

import time

import pytest

from toshi.core.errors import BadRequestData
from toshi.query.regex import MAX_PATTERN_LENGTH, compile_pattern


def test_compiles_and_searches():
    pattern = compile_pattern("^urn:ngsi-ld:Vehicle:")
    assert pattern.search("urn:ngsi-ld:Vehicle:A4567")
    assert not pattern.search("urn:ngsi-ld:Car:1")
    assert compile_pattern("(?i)bob").search("Hi BOB!")
    assert compile_pattern("豊能").search("大阪府豊能町")
    assert compile_pattern("a.c").fullmatch("abc")


def test_compiled_patterns_are_cached():
    assert compile_pattern("x+y") is compile_pattern("x+y")


@pytest.mark.parametrize(
    "pattern",
    [r"(a+)+b", r"(a|aa)+b", r"(a*)*b", r"((a+)+)+b", r"(.*a){20}b", r"(x+x+)+y"],
)
def test_hostile_patterns_return_promptly(pattern):
    subject = "a" * 100_000 + "c"
    compiled = compile_pattern(pattern)
    start = time.monotonic()
    assert compiled.search(subject) is None
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(a", "missing )"),
        ("a)", "unexpected )"),
        ("[a", "missing ]"),
        ("*a", "no argument for repetition operator"),
        (r"(a)\1", "invalid escape sequence"),  # no backreferences in RE2
        ("(?=a)", "invalid perl operator"),  # no look-around either
        ("a{1001}", "invalid repetition size"),
        ("\ud800", "surrogates"),
    ],
)
def test_invalid_patterns(pattern, message):
    with pytest.raises(BadRequestData) as raised:
        compile_pattern(pattern)
    assert raised.value.status == 400
    assert message in raised.value.detail
    assert "Invalid regular expression" in raised.value.detail


@pytest.mark.parametrize("pattern", [r"(.*){1000}", r"[\p{L}\p{N}]{1000}", r"(a|b|c|d|e|f|g|h)*.{500}z"])
def test_patterns_too_large_to_run_cheaply_are_refused(pattern):
    with pytest.raises(BadRequestData, match="too complex|too large"):
        compile_pattern(pattern)


def test_length_limit():
    assert compile_pattern("a" * MAX_PATTERN_LENGTH).search("a" * MAX_PATTERN_LENGTH)
    with pytest.raises(BadRequestData, match="too long"):
        compile_pattern("a" * (MAX_PATTERN_LENGTH + 1))


def test_non_string_pattern():
    with pytest.raises(BadRequestData):
        compile_pattern(None)
