"""Principals and the spelling of per-tenant roles."""

from __future__ import annotations

import pytest

from toshi.auth.principal import ANONYMOUS, ROLES, Principal, format_roles, parse_roles


def test_roles_in_joins_the_tenant_and_every_tenant():
    principal = Principal("p", "key", {"osaka": frozenset({"provider"}), "*": frozenset({"consumer"})})
    assert principal.roles_in("osaka") == {"provider", "consumer"}
    assert principal.roles_in("kyoto") == {"consumer"}
    assert principal.groups == frozenset() and principal.name == ""


def test_anonymous_has_no_roles_anywhere():
    assert ANONYMOUS.kind == "anonymous" and ANONYMOUS.id == "anonymous"
    assert ANONYMOUS.roles_in("") == frozenset() and ANONYMOUS.roles_in("osaka") == frozenset()


def test_principal_cannot_be_changed_and_is_hashable():
    with pytest.raises(AttributeError):
        ANONYMOUS.id = "admin"  # type: ignore[misc]
    roles = {"osaka": {"consumer"}}
    principal = Principal("p", "key", roles, ["g"])
    roles["osaka"].add("admin")
    assert principal.roles_in("osaka") == {"consumer"} and principal.groups == {"g"}
    with pytest.raises(TypeError):
        principal.roles["*"] = frozenset({"admin"})  # type: ignore[index]
    with pytest.raises(TypeError):
        ANONYMOUS.roles["*"] = frozenset({"admin"})  # type: ignore[index]
    assert {principal: 1}[Principal("p", "key", {"osaka": {"consumer"}}, ["g"])] == 1


def test_list_form_with_default_and_every_tenant():
    roles = parse_roles(["default:admin", "osaka:consumer", "osaka:provider", "*:operator"])
    assert roles == {"": {"admin"}, "osaka": {"consumer", "provider"}, "*": {"operator"}}
    assert Principal("p", "token", roles).roles_in("") == {"admin", "operator"}


def test_mapping_form():
    assert parse_roles({"default": ["consumer"], "kyoto": ("admin", "admin")}) == {
        "": {"consumer"}, "kyoto": {"admin"}}


def test_tenant_names_may_contain_colons():
    assert parse_roles(["urn:city:osaka:consumer"]) == {"urn:city:osaka": {"consumer"}}


def test_nothing_gives_no_roles():
    assert parse_roles(None) == {} and parse_roles([]) == {} and parse_roles({}) == {}


@pytest.mark.parametrize("value", [
    ["osaka:superuser"],       # unknown role
    ["osaka"],                 # no role at all
    [":admin"],                # empty tenant: the default tenant is spelled "default"
    {"": ["admin"]},
    {"osaka": "admin"},        # a string, not a list of roles
    "default:admin",           # a string, not a list
    [42],
    7,
])
def test_strict_parsing_rejects_what_it_does_not_understand(value):
    with pytest.raises(ValueError):
        parse_roles(value)


def test_lenient_parsing_keeps_only_our_roles():
    claim = ["offline_access", "uma_authorization", "osaka:consumer", "osaka:wizard", ":admin", 3]
    assert parse_roles(claim, strict=False) == {"osaka": {"consumer"}}
    assert parse_roles({"osaka": ["admin", "x"], "kyoto": "admin"}, strict=False) == {"osaka": {"admin"}}
    assert parse_roles("default:admin", strict=False) == {}
    assert parse_roles(5, strict=False) == {}


def test_format_roles_is_the_external_spelling():
    roles = parse_roles(["default:consumer", "*:admin", "osaka:provider", "osaka:consumer"])
    assert format_roles(roles) == {"*": ["admin"], "default": ["consumer"], "osaka": ["consumer", "provider"]}
    assert parse_roles(format_roles(roles)) == roles


def test_the_four_roles():
    assert ROLES == ("admin", "operator", "provider", "consumer")
