"""Entity type selection expressions (`type` parameter, ETSI GS CIM 009 v1.8 clause 4.17)."""

import pytest

from toshi.core.errors import BadRequestData, TooComplexQuery
from toshi.query.typeexpr import MAX_DEPTH, MAX_LENGTH, AllOf, AnyOf, TypeName, parse_type_expr

EX = "https://ex.org/"


def expand(name: str) -> str:
    return name if ":" in name else EX + name


def types(*names: str) -> list[str]:
    return [expand(name) for name in names]


@pytest.mark.parametrize(
    ("text", "entity_types", "expected"),
    [
        ("Building", types("Building"), True),
        ("Building", types("Shelter"), False),
        ("Building", types("Shelter", "Building"), True),
        ("Building,Shelter", types("Shelter"), True),
        ("Building|Shelter", types("Park"), False),
        ("Building;Shelter", types("Building"), False),
        ("Building;Shelter", types("Shelter", "Building"), True),
        ("(Building;Shelter)|Park", types("Park"), True),
        ("(Building;Shelter)|Park", types("Building"), False),
        ("(Building;Shelter),Park", types("Shelter", "Building"), True),
        ("Building;(Shelter|Park)", types("Building", "Park"), True),
        ("Building;(Shelter|Park)", types("Shelter", "Park"), False),
        ("A|B;C", types("A"), True),  # ';' binds tighter
        ("A|B;C", types("B"), False),
        ("(A|B);C", types("A"), False),
        ("https://schema.org/Place", ["https://schema.org/Place"], True),
        (" A , B ", types("B"), True),
        ("A", [], False),
    ],
)
def test_matches(text, entity_types, expected):
    assert parse_type_expr(text, expand).matches(entity_types) is expected


def test_names_are_expanded():
    seen = []

    def recording(name: str) -> str:
        seen.append(name)
        return "urn:t:" + name

    expr = parse_type_expr("(A;B)|C", recording)
    assert seen == ["A", "B", "C"]
    assert expr == AnyOf((AllOf((TypeName("urn:t:A"), TypeName("urn:t:B"))), TypeName("urn:t:C")))


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("A", [EX + "A"]),
        ("A,B", [EX + "A", EX + "B"]),
        ("A|B,C", [EX + "A", EX + "B", EX + "C"]),
        ("(A|B)|C", [EX + "A", EX + "B", EX + "C"]),
        ("A,A", [EX + "A"]),
        ("((A))", [EX + "A"]),
        ("A;B", None),
        ("(A;B)|C", None),
        ("C|(A;B)", None),
    ],
)
def test_simple_names(text, names):
    assert parse_type_expr(text, expand).simple_names() == names


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("A,", "expected an entity type name"),
        (",A", "expected an entity type name"),
        ("A,,B", "expected an entity type name"),
        ("A;", "expected an entity type name"),
        ("(A", "missing ')'"),
        ("A)", "unexpected ')'"),
        ("()", "expected an entity type name"),
        ("A B", "unexpected 'B'"),
        ('"A"', "expected an entity type name"),
    ],
)
def test_malformed(text, message):
    with pytest.raises(BadRequestData) as raised:
        parse_type_expr(text, expand)
    assert message in raised.value.detail


def test_limits():
    with pytest.raises(BadRequestData, match="too long"):
        parse_type_expr("A" * (MAX_LENGTH + 1), expand)
    assert parse_type_expr("(" * MAX_DEPTH + "A" + ")" * MAX_DEPTH, expand).matches(types("A"))
    with pytest.raises(TooComplexQuery):
        parse_type_expr("(" * (MAX_DEPTH + 1) + "A" + ")" * (MAX_DEPTH + 1), expand)
    with pytest.raises(BadRequestData):
        parse_type_expr(None, expand)
