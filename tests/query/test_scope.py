"""Scopes and scopeQ (ETSI GS CIM 009 v1.8 clauses 4.18 and 4.19)."""

import pytest

from toshi.core.errors import BadRequestData, TooComplexQuery
from toshi.query.scope import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_SCOPE_LENGTH,
    ScopePattern,
    parse_scope_q,
    validate_scope,
)

SCOPES = {
    "toyono": ["/Osaka/Toyono"],
    "osaka": ["/Osaka"],
    "deep": ["/Osaka/Toyono/Station/East"],
    "kyoto": ["/Kyoto/Toyono"],
    "both": ["/Osaka/Kita", "/Kyoto/Fushimi"],
    "prefix": ["/OsakaBay"],
    "none": [],
}


def selected(text: str) -> set[str]:
    query = parse_scope_q(text)
    return {name for name, scopes in SCOPES.items() if query.matches(scopes)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/Osaka/Toyono", {"toyono"}),
        ("/Osaka", {"osaka"}),
        ("/Osaka/#", {"toyono", "osaka", "deep", "both"}),
        ("/Osaka/Toyono/#", {"toyono", "deep"}),
        ("/#", set(SCOPES) - {"none"}),
        ("/+/Toyono", {"toyono", "kyoto"}),
        ("/+", {"osaka", "prefix"}),
        ("/+/+/#", {"toyono", "deep", "kyoto", "both"}),
        ("/Osaka/+/Station/+", {"deep"}),
        ("/Osaka/Kita,/Kyoto/Toyono", {"both", "kyoto"}),
        ("/Osaka/Kita|/Kyoto/Toyono", {"both", "kyoto"}),
        ("/Osaka/Kita;/Kyoto/#", {"both"}),
        ("/Osaka/Kita;/Kyoto/Toyono", set()),
        ("/Osaka|/Osaka/Kita;/Kyoto/#", {"osaka", "both"}),  # ';' binds tighter
        ("(/Osaka|/Osaka/Kita);/Kyoto/#", {"both"}),
        (" /Osaka , /Kyoto/Toyono ", {"osaka", "kyoto"}),
        ("/Nara", set()),
    ],
)
def test_scope_q(text, expected):
    assert selected(text) == expected


def test_tree():
    assert parse_scope_q("/a/+/#") == ScopePattern(("a", "+"), descendants=True)
    assert parse_scope_q("/#") == ScopePattern((), descendants=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Osaka", "does not start with '/'"),
        ("/", "empty level"),
        ("/a//b", "empty level"),
        ("/a/", "empty level"),
        ("/a/#/b", "'#' may only end a pattern"),
        ("/a#", "'#' may only end a pattern"),
        ("/#/#", "'#' may only end a pattern"),
        ("/a+", "'+' must be a whole level"),
        ("/a,", "expected a scope"),
        ("(/a", "missing ')'"),
        ("/a)", "unexpected ')'"),
        ("/a /b", "unexpected '/'"),
        ('/a"b', "not allowed"),
    ],
)
def test_malformed_scope_q(text, message):
    with pytest.raises(BadRequestData) as raised:
        parse_scope_q(text)
    assert message in raised.value.detail


def test_scope_q_limits():
    with pytest.raises(BadRequestData, match="too long"):
        parse_scope_q("/a" * (MAX_LENGTH // 2 + 1))
    assert parse_scope_q("(" * MAX_DEPTH + "/a" + ")" * MAX_DEPTH).matches(["/a"])
    with pytest.raises(TooComplexQuery):
        parse_scope_q("(" * (MAX_DEPTH + 1) + "/a" + ")" * (MAX_DEPTH + 1))


@pytest.mark.parametrize(
    "scope", ["/Osaka", "/Osaka/Toyono", "/大阪/豊能町", "/a-b_c.d/e:f@g", "/" + "a" * 1000]
)
def test_valid_scopes(scope):
    assert validate_scope(scope) == scope


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ("Osaka", "starts with '/'"),
        ("", "starts with '/'"),
        ("/", "empty level"),
        ("//a", "empty level"),
        ("/a/", "empty level"),
        ("/a/#", "'#' is not allowed"),
        ("/a/+", "'+' is not allowed"),
        ("/a b", "' ' is not allowed"),
        ("/a\tb", "is not allowed"),
        ("/a\x00", "is not allowed"),
        ("/a;b", "';' is not allowed"),
        ("/a,b", "',' is not allowed"),
        ("/a|b", "'|' is not allowed"),
        ("/(a)", "'(' is not allowed"),
        ("/" + "a" * MAX_SCOPE_LENGTH, "longer than"),
        (5, "must be a string"),
        (None, "must be a string"),
    ],
)
def test_invalid_scopes(scope, message):
    with pytest.raises(BadRequestData) as raised:
        validate_scope(scope)
    assert message in raised.value.detail


def test_every_valid_scope_matches_itself_and_its_ancestors_wildcard():
    scope = validate_scope("/Osaka/Toyono/Station")
    assert parse_scope_q(scope).matches([scope])
    assert parse_scope_q("/Osaka/#").matches([scope])
    assert not parse_scope_q("/Osaka/Toyono/Station/#").matches(["/Osaka/Toyono"])
