"""The NGSI-LD query language `q`: parsing, evaluation, and the SQLite translation's equivalence."""

from __future__ import annotations

import random
import sqlite3
import time

import orjson
import pytest

from toshi.core.errors import BadRequestData, TooComplexQuery
from toshi.core.times import instant_key, time_key
from toshi.query.qparse import MAX_DEPTH, MAX_Q_LENGTH, MAX_TERMS, parse_q
from toshi.query.qtree import And, Comparison, Exists, Match, Or, Path
from toshi.query.regex import compile_pattern
from toshi.store import q_sql
from toshi.store.q_sql import to_sqlite, to_sqlite_prefilter

EX = "https://ex.org/"
NOW = "2026-01-01T00:00:00.000000Z"


def expand(name: str) -> str:
    return EX + name


# -- building internal entities ----------------------------------------------------------------------


def _inst(kind: str, member: str, content, subs: dict | None = None, **extra) -> dict:
    inst = {"type": kind, member: content, "createdAt": NOW, "modifiedAt": NOW, **extra}
    if subs:
        inst["sub"] = {EX + name: sub for name, sub in subs.items()}
    return inst


def prop(value, subs=None, **extra):
    return _inst("Property", "value", value, subs, **extra)


def rel(obj, subs=None, **extra):
    return _inst("Relationship", "object", obj, subs, **extra)


def lang(language_map, **extra):
    return _inst("LanguageProperty", "languageMap", language_map, **extra)


def vocab(value, **extra):
    return _inst("VocabProperty", "vocab", value, **extra)


def jsonp(value, **extra):
    return _inst("JsonProperty", "json", value, **extra)


def listp(values, **extra):
    return _inst("ListProperty", "valueList", values, **extra)


def listrel(objects, **extra):
    return _inst("ListRelationship", "objectList", objects, **extra)


def geo(geometry, **extra):
    return _inst("GeoProperty", "value", geometry, **extra)


def entity(ident: str, **attrs) -> dict:
    return {
        "id": ident,
        "type": [EX + "Thing"],
        "createdAt": NOW,
        "modifiedAt": NOW,
        "attrs": {EX + name: value if isinstance(value, list) else [value] for name, value in attrs.items()},
    }


ENTITIES = [
    entity(
        "e1",
        temperature=[
            prop(
                20,
                {"accuracy": prop(0.9, observedAt="2024-01-01T10:00:00Z")},
                observedAt="2024-01-01T10:00:00Z",
                unitCode="CEL",
            ),
            prop(25, datasetId="urn:ds:2", observedAt="2024-01-02T10:00:00.000Z"),
        ],
        name=prop("Bob"),
        isParked=rel("urn:ngsi-ld:Parking:1", {"providedBy": rel("urn:ngsi-ld:Person:Bob")}),
        address=prop({"city": "Berlin", "zip": "10115", "geo": {"lat": 52.5}}),
        label=lang({"en": "Tower", "ja": ["塔", "タワー"]}),
        category=vocab(EX + "Bus"),
        config=jsonp({"mode": "eco", "level": 3}),
        readings=listp([1, 5, 9]),
        location=geo({"type": "Point", "coordinates": [135.5, 34.7]}),
        tags=prop(["red", "blue"]),
        when=prop({"@type": "DateTime", "@value": "2024-03-01T09:00:00+09:00"}),
        day=prop({"@type": "Date", "@value": "2024-03-01"}),
        open=prop(True),
        clock=prop("08:30:00"),
    ),
    entity(
        "e2",
        temperature=prop(30, observedAt="2024-02-01T00:00:00+01:00"),
        name=prop("Alice"),
        isParked=rel(["urn:ngsi-ld:Parking:1", "urn:ngsi-ld:Parking:2"]),
        address=prop({"city": "Tokyo"}),
        open=prop(False),
        tags=prop("red"),
        when=prop("2024-02-29T12:00:00Z"),
        clock=prop("23:00:00Z"),
        members=listrel(["urn:a", "urn:b"]),
    ),
    entity("e3"),
    entity(
        "e4",
        temperature=prop("20"),
        name=prop("bob"),
        open=prop(1),
        label=lang({"en": "Bridge"}),
        category=vocab([EX + "Car", EX + "Bus"]),
        address=prop("Berlin"),
    ),
    entity(
        "e5",
        temperature=prop(20.0, unitCode="FAH"),
        readings=listp([[5], {"x": 5}]),
        config=jsonp(["eco"]),
        when=prop("not a date"),
    ),
]
ALL = {"e1", "e2", "e3", "e4", "e5"}


def matching(text: str, entities=ENTITIES) -> set[str]:
    node = parse_q(text, expand)
    return {e["id"] for e in entities if node.matches(e)}


def sql_matching(conn: sqlite3.Connection, text: str, regexp: str | None = None) -> set[str] | None:
    translated = to_sqlite(parse_q(text, expand), regexp=regexp)
    if translated is None:
        return None
    sql, params = translated
    return {row[0] for row in conn.execute(f"SELECT id FROM entities WHERE {sql}", params)}


def _regexp(pattern: str, value: str | None) -> bool:
    return value is not None and compile_pattern(pattern).search(value) is not None


def load(entities) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.create_function("regexp", 2, _regexp, deterministic=True)  # as the store does
    conn.execute("CREATE TABLE entities (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
    conn.executemany(
        "INSERT INTO entities VALUES (?, ?)", [(e["id"], orjson.dumps(e).decode()) for e in entities]
    )
    return conn


# -- evaluation ----------------------------------------------------------------------------------------

CASES = [
    # numbers, strings and type mismatches
    ("temperature==20", {"e1", "e5"}),
    ('temperature=="20"', {"e4"}),
    ("temperature!=20", {"e1", "e2", "e4"}),
    ("temperature>24", {"e1", "e2"}),
    ("temperature>=30", {"e2"}),
    ("temperature<20", set()),
    ("temperature<=20", {"e1", "e5"}),
    ("temperature>=20;temperature<=20", {"e1", "e5"}),
    ("temperature==21..29", {"e1"}),
    ("temperature==20..25", {"e1", "e5"}),
    ("temperature!=21..29", {"e1", "e2", "e4", "e5"}),
    ("temperature==1,30", {"e2"}),
    ("temperature!=20,25,30", {"e4"}),
    ('name=="Bob"', {"e1"}),
    ('name!="Bob"', {"e2", "e4"}),
    ('name>"B"', {"e1", "e4"}),
    ('name=="A".."C"', {"e1", "e2"}),
    ('name=="Bob","Alice"', {"e1", "e2"}),
    # instance fields, sub-attributes, multi-instance
    ('temperature.unitCode=="CEL"', {"e1"}),
    ("temperature.unitCode", {"e1", "e5"}),
    ("temperature.datasetId==urn:ds:2", {"e1"}),
    ("temperature.datasetId", {"e1"}),
    ("!temperature.datasetId", {"e2", "e3", "e4", "e5"}),
    ("temperature.observedAt>=2024-01-02T00:00:00Z", {"e1", "e2"}),
    ("temperature.observedAt<2024-01-31T23:30:00Z", {"e1", "e2"}),
    ("temperature.observedAt<2024-01-31T23:00:00Z", {"e1"}),
    ("temperature.observedAt==2024-01-02T10:00:00Z", {"e1"}),
    ("temperature.observedAt==2024-02-01T08:00:00+09:00", {"e2"}),
    ("temperature.observedAt==2024-01-01..2024-01-31", {"e1"}),
    ("temperature.accuracy>0.5", {"e1"}),
    ("temperature.accuracy", {"e1"}),
    ("temperature.accuracy.observedAt==2024-01-01T10:00:00Z", {"e1"}),
    ("temperature.createdAt", {"e1", "e2", "e4", "e5"}),
    # relationships
    ("isParked==urn:ngsi-ld:Parking:1", {"e1", "e2"}),
    ('isParked=="urn:ngsi-ld:Parking:2"', {"e2"}),
    ("isParked!=urn:ngsi-ld:Parking:1", set()),
    ("isParked!=urn:ngsi-ld:Parking:2", {"e1"}),
    ("isParked.providedBy==urn:ngsi-ld:Person:Bob", {"e1"}),
    ("members==urn:b", {"e2"}),
    # JSON values addressed with [...]
    ('address[city]=="Berlin"', {"e1"}),
    ("address[geo.lat]>50", {"e1"}),
    ("address[geo][lat]>50", {"e1"}),
    ("address[city]", {"e1", "e2"}),
    ('address=="Berlin"', {"e4"}),
    ("address[zip]==10115", set()),
    ('address[zip]=="10115"', {"e1"}),
    ('config[mode]=="eco"', {"e1"}),
    ('config=="eco"', {"e5"}),
    ("config[level]>=3", {"e1"}),
    # LanguageProperty, VocabProperty, ListProperty, GeoProperty, arrays
    ('label=="塔"', {"e1"}),
    ('label=="Bridge"', {"e4"}),
    ('label[en]=="Tower"', {"e1"}),
    ('label[ja]=="タワー"', {"e1"}),
    ('label!="Tower"', {"e4"}),
    ("category==https://ex.org/Bus", {"e1", "e4"}),
    ('category=="https://ex.org/Car"', {"e4"}),
    ("readings==5", {"e1"}),
    ("readings>8", {"e1"}),
    ("location", {"e1"}),
    ("location==1", set()),
    ("location!=1", set()),
    ("location[type]", set()),
    ('tags=="red"', {"e1", "e2"}),
    ('tags=="blue"', {"e1"}),
    ('tags!="blue"', {"e2"}),
    # dates and times
    ("when>2024-02-29T12:00:00Z", {"e1"}),
    ("when==2024-02-29T12:00:00Z", {"e2"}),
    ("when>=2024-02-29", {"e1", "e2"}),
    ('when=="2024-02-29T12:00:00Z"', {"e2"}),
    ("when==2024-01-01..2024-12-31", {"e1", "e2"}),
    ("when==2024-03-01T09:00:00 09:00", {"e1"}),  # '+' decoded to a blank
    ("day==2024-03-01", {"e1"}),
    ("day==2024-03-01T00:00:00Z", {"e1"}),
    ("clock>08:00:00", {"e1", "e2"}),
    ("clock<09:00:00Z", {"e1"}),
    ("clock==08:30:00.000", {"e1"}),
    # booleans
    ("open==true", {"e1"}),
    ("open==false", {"e2"}),
    ("open==1", {"e4"}),
    ("open!=true", {"e2", "e4"}),
    # existence and logic
    ("name", {"e1", "e2", "e4"}),
    ("!name", {"e3", "e5"}),
    ("missing", set()),
    ("!missing", ALL),
    ("name;temperature>=25", {"e1", "e2"}),
    ('name=="Bob"|name=="Alice"', {"e1", "e2"}),
    ('name=="Bob"|name=="Alice";open==false', {"e1", "e2"}),
    ('(name=="Bob"|name=="Alice");open==false', {"e2"}),
    ('open==true;name=="Alice"|open==false', {"e2"}),
    ('((((name=="Bob"))))', {"e1"}),
    ('temperature > 24 ; name == "Bob"', {"e1"}),
    # regular expressions
    ("name~=(?i)^bob$", {"e1", "e4"}),
    ("name!~=^B", {"e2", "e4"}),
    ('name~="^B.b$"', {"e1"}),
    ("name~=(?i)(bob|alice);open==false", {"e2"}),
    ("tags~=^bl", {"e1"}),
    ("temperature~=2", {"e4"}),
    ("label~=タ", {"e1"}),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_evaluation(text, expected):
    assert matching(text) == expected


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_sql_agrees_on_the_handmade_entities(text, expected):
    conn = load(ENTITIES)
    assert sql_matching(conn, text, regexp="regexp") == expected
    if "~=" in text:
        assert sql_matching(conn, text) is None


def test_quoted_strings_take_escapes():
    e = entity("x", quote=prop('say "hi"'), path=prop("a\\b"))
    assert parse_q(r'quote=="say \"hi\""', expand).matches(e)
    assert parse_q(r'path=="a\\b"', expand).matches(e)
    assert parse_q(r'path~="a\\b"', expand).matches(e)  # regex escapes are kept: \\ is a backslash
    assert parse_q(r"path~=^a\\b$", expand).matches(e)
    assert parse_q('quote~="\\"hi\\""', expand).matches(e)


def test_hostile_regex_returns_promptly():
    e = entity("x", name=prop("a" * 50_000 + "c"))
    node = parse_q("name~=(a+)+b", expand)
    start = time.monotonic()
    assert not node.matches(e)
    assert parse_q("name~=(a|aa)*c$", expand).matches(e)
    assert time.monotonic() - start < 1.0


def test_values_are_not_errors_when_of_other_types():
    e = entity("x", v=prop({"nested": [1, 2]}), n=prop(None), b=prop(True))
    for text in ["v==1", "v>1", 'v=="x"', "v==2024-01-01", "v~=x", "n==1", "b>0", "b==1"]:
        assert not parse_q(text, expand).matches(e), text
    assert parse_q("v!=1", expand).matches(e)
    assert parse_q("n!=1", expand).matches(e)


# -- parsing ---------------------------------------------------------------------------------------------


def test_tree_shape_and_precedence():
    node = parse_q("a==1|b;c|(d|e);!f", expand)
    assert isinstance(node, Or)
    first, second, third = node.children
    assert first == Comparison(Path(EX + "a"), "==", first.values)
    assert isinstance(second, And) and second.children == (Exists(Path(EX + "b")), Exists(Path(EX + "c")))
    assert isinstance(third, And)
    assert isinstance(third.children[0], Or)
    assert third.children[1] == Exists(Path(EX + "f"), negated=True)


def test_paths():
    node = parse_q("a.b.c[k1.k2][k3]==1", expand)
    assert node.path == Path(EX + "a", (EX + "b", EX + "c"), None, ("k1", "k2", "k3"))
    assert parse_q("a.b.observedAt", expand).path == Path(EX + "a", (EX + "b",), "observedAt")
    assert parse_q("a.unitCode", expand).path == Path(EX + "a", (), "unitCode")


def test_expand_is_called_for_attribute_and_sub_attribute_names_only():
    seen = []

    def recording(name: str) -> str:
        seen.append(name)
        return "urn:x:" + name

    node = parse_q("a.b[c.d]==1;e.observedAt>2024-01-01;!f;g~=x", recording)
    assert sorted(seen) == ["a", "b", "e", "f", "g"]
    assert node.attribute_names() == {"urn:x:a", "urn:x:e", "urn:x:f", "urn:x:g"}


def test_literals():
    values = parse_q('a==1,-2.5,1e3,true,false,"s",urn:x:y,2024-01-01,12:00:00', expand).values
    assert [(v.kind, v.value) for v in values] == [
        ("number", 1),
        ("number", -2.5),
        ("number", 1000.0),
        ("boolean", True),
        ("boolean", False),
        ("string", "s"),
        ("string", "urn:x:y"),
        ("instant", "2024-01-01T00:00:00000000000"),
        ("time", "12:00:00000000000"),
    ]
    node = parse_q("a==1..5", expand)
    assert node.is_range and [v.value for v in node.values] == [1, 5]
    assert isinstance(parse_q("a!~=x", expand), Match)


ERRORS = [
    ("a=1", "'=' is not an operator"),
    ("a==", "expected a value"),
    ("a>b", "must be enclosed in double quotes"),
    ("a=='x'", "must be enclosed in double quotes"),
    ('a=="x', "unterminated string"),
    ("(a==1", "missing ')'"),
    ("a==1)", "unexpected ')'"),
    ("a==1;", "expected an attribute name"),
    (";a", "expected an attribute name"),
    ("a==1||b", "expected an attribute name"),
    ("a>1,2", "list of values"),
    ("a>true", "true and false"),
    ("a>1..2", "range can only follow"),
    ('a==1.."x"', "a range needs"),
    ("a==true..false", "a range needs"),
    ("a==2024-02-30", "not a valid ISO 8601"),
    ("a==2024-01-01T25:00:00Z", "not a valid ISO 8601"),
    ("a==25:00:00", "not a valid ISO 8601"),
    ("a~=(", "invalid regular expression"),
    ("a~=", "expected a regular expression"),
    ("a~=(.*){1000}", "too complex"),
    ("id==urn:x:1", "entity member"),
    ('type=="T"', "entity member"),
    ("createdAt>2024-01-01", "entity member"),
    ("scope", "entity member"),
    ("a.observedAt.b==1", "last name"),
    ("a.observedAt[x]==1", "no members"),
    ("a[]==1", "expected a key"),
    ("a[x==1", "missing ']'"),
    ("a b", "expected ';', '|' or ')'"),
    ("a==1 2", "expected ';', '|' or ')'"),
    ("a==1e999", "out of range"),
    ("a..b", "sub-attribute name"),
    ("!(a)", "expected an attribute name"),
    ("a!b", "expected ';', '|' or ')'"),
    ("()", "expected an attribute name"),
    ("a==1..5,7", "expected ';', '|' or ')'"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_malformed_q_is_bad_request_data(text, message):
    with pytest.raises(BadRequestData) as raised:
        parse_q(text, expand)
    assert message in raised.value.detail
    assert raised.value.status == 400


@pytest.mark.parametrize("text", ["", "   ", None, 5])
def test_empty_or_non_string_q(text):
    with pytest.raises(BadRequestData):
        parse_q(text, expand)


def test_limits():
    parse_q("a==" + "1" * (MAX_Q_LENGTH - 3), expand)
    with pytest.raises(BadRequestData, match="too long"):
        parse_q("a==" + "1" * (MAX_Q_LENGTH - 2), expand)
    parse_q("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH, expand)
    with pytest.raises(TooComplexQuery) as raised:
        parse_q("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1), expand)
    assert raised.value.status == 403
    parse_q(";".join(["a"] * MAX_TERMS), expand)
    with pytest.raises(TooComplexQuery):
        parse_q(";".join(["a"] * (MAX_TERMS + 1)), expand)


# -- SQLite translation ----------------------------------------------------------------------------------

STRINGS = ["a", "b", "Berlin", "", "é", "20", "red", "Bob", "bob", "urn:ngsi-ld:X:1", "urn:ngsi-ld:X:2"]
TEMPORALS = [
    "2024-01-01T00:00:00Z",
    "2024-01-01T09:00:00+09:00",
    "2024-01-01",
    "2024-06-30T23:59:59.999Z",
    "2023-12-31T23:00:00-01:00",
    "2024-01-01T00:00:00.000000001Z",
    "2024-02-30T00:00:00Z",
    "0001-01-01T00:30:00+01:00",
    "12:00:00",
    "08:30:00Z",
    "24:00:00",
]
SCALARS = [0, 1, 5, 20, 20.0, 20.5, -3, 10**12, 0.001, True, False, None, *STRINGS, *TEMPORALS]


def _random_value(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth > 1 or roll < 0.55:
        return rng.choice(SCALARS)
    if roll < 0.7:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if roll < 0.8:
        return {"@type": "DateTime", "@value": rng.choice(TEMPORALS + [["2024-01-01", 5]])}
    if roll < 0.9:
        return {
            "city": rng.choice(STRINGS),
            "zip": rng.choice(SCALARS),
            "geo": {"lat": rng.choice([0, 52.5, "x"])},
        }
    return [{"@value": rng.choice(SCALARS)}, {"x": 5}, [1]]


def _random_instance(rng: random.Random, with_subs: bool = True) -> dict:
    kind = rng.choices(
        [
            "Property",
            "Relationship",
            "LanguageProperty",
            "VocabProperty",
            "JsonProperty",
            "ListProperty",
            "GeoProperty",
            "ListRelationship",
            "Weird",
        ],
        weights=[10, 2, 2, 1, 1, 1, 1, 1, 1],
    )[0]
    if kind == "Relationship":
        inst = rel(rng.choice(["urn:ngsi-ld:X:1", "urn:ngsi-ld:X:2", ["urn:ngsi-ld:X:1", "urn:ngsi-ld:X:3"]]))
    elif kind == "LanguageProperty":
        inst = lang({"en": rng.choice(STRINGS), "ja": [rng.choice(STRINGS), rng.choice(STRINGS)]})
    elif kind == "VocabProperty":
        inst = vocab(rng.choice([EX + "Bus", [EX + "Bus", EX + "Car"]]))
    elif kind == "JsonProperty":
        inst = jsonp(_random_value(rng))
    elif kind == "ListProperty":
        inst = listp([_random_value(rng, 1) for _ in range(3)])
    elif kind == "GeoProperty":
        inst = geo({"type": "Point", "coordinates": [1, 2]})
    elif kind == "ListRelationship":
        inst = listrel(["urn:ngsi-ld:X:1", "urn:ngsi-ld:X:2"])
    elif kind == "Weird":
        inst = {"type": "Weird", "value": _random_value(rng)}
    else:
        inst = prop(_random_value(rng))
    if rng.random() < 0.4:
        inst["observedAt"] = rng.choice(TEMPORALS + ["garbage"])
    if rng.random() < 0.2:
        inst["unitCode"] = rng.choice(["CEL", "FAH"])
    if with_subs and rng.random() < 0.35:
        inst["sub"] = {EX + "accuracy": _random_instance(rng, with_subs=False)}
    return inst


def _random_entities(count: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    entities = []
    for n in range(count):
        attrs = {}
        for name in rng.sample(ATTRS, rng.randint(0, 5)):
            first = _random_instance(rng)
            attrs[name] = [first]
            if rng.random() < 0.25:
                second = _random_instance(rng)
                second["datasetId"] = "urn:ds:" + rng.choice("12")
                attrs[name].append(second)
        entities.append(entity(f"r{n}", **attrs))
    return entities


ATTRS = ["temperature", "name", "tags", "address", "rel", "label", "when", "clock", "flag", "doc"]
VALUE_TEXTS = [
    "0",
    "1",
    "5",
    "20",
    "20.0",
    "20.5",
    "-3",
    "1000000000000",
    "0.001",
    '"a"',
    '"Berlin"',
    '""',
    '"é"',
    '"20"',
    '"red"',
    "true",
    "false",
    "2024-01-01T00:00:00Z",
    "2024-01-01",
    "2024-01-01T09:00:00+09:00",
    "2023-12-31T23:00:00-01:00",
    "2024-06-30T23:59:59.999Z",
    "12:00:00",
    "08:30:00Z",
    "urn:ngsi-ld:X:1",
    '"2024-01-01T00:00:00Z"',
    "https://ex.org/Bus",
]
PATTERNS = ["^B", "(?i)bob", "a", "^$", "2024", "[0-9]+:", "é", "^urn:", '"e|d"', "^[^0-9]*$"]
PATH_SUFFIXES = [
    "",
    "",
    "",
    ".accuracy",
    ".observedAt",
    ".unitCode",
    ".datasetId",
    "[city]",
    "[geo.lat]",
    "[zip]",
    ".accuracy.observedAt",
    ".accuracy[city]",
    "[en]",
    "[ja]",
    "[type]",
]


def _random_term(rng: random.Random) -> str:
    path = rng.choice(ATTRS) + rng.choice(PATH_SUFFIXES)
    roll = rng.random()
    if roll < 0.12:
        return path
    if roll < 0.18:
        return "!" + path
    op = rng.choice(["==", "==", "!=", ">", ">=", "<", "<=", "~=", "!~="])
    if op.endswith("~="):
        return path + op + rng.choice(PATTERNS)
    value = rng.choice(VALUE_TEXTS)
    if op in ("==", "!=") and rng.random() < 0.3:
        value += rng.choice([",", ".."]) + rng.choice(VALUE_TEXTS)
    return path + op + value


def _random_q(rng: random.Random, depth: int = 0) -> str:
    if depth > 2 or rng.random() < 0.5:
        return _random_term(rng)
    parts = [_random_q(rng, depth + 1) for _ in range(rng.randint(2, 3))]
    joined = rng.choice([";", "|"]).join(parts)
    return f"({joined})" if rng.random() < 0.5 else joined


HANDMADE_QUERIES = [text for text, _ in CASES if "~=" not in text] + [
    "temperature.accuracy==20",
    "temperature.accuracy.unitCode",
    "name==2024-01-01T00:00:00Z",
    "when<2024-01-01T00:00:00.5Z",
    "when==0001-01-01",
    "when>=2023-12-31T23:59:59.9999999999Z",
    "clock>=00:00:00",
    "flag==true,false",
    "!temperature.accuracy.observedAt",
]


def test_sql_is_exactly_equivalent_on_varied_entities():
    entities = ENTITIES + _random_entities(45)
    assert len(entities) == 50
    conn = load(entities)
    rng = random.Random(2024)
    queries, attempts = list(HANDMADE_QUERIES), 0
    while len(queries) < len(HANDMADE_QUERIES) + 1500:
        attempts += 1
        text = _random_q(rng)
        try:
            parse_q(text, expand)
        except BadRequestData:
            continue  # e.g. '>' with a value list
        queries.append(text)
    informative = 0
    for text in queries:
        expected = matching(text, entities)
        assert sql_matching(conn, text, regexp="regexp") == expected, text
        if "~=" not in text:
            assert sql_matching(conn, text) == expected, text
        informative += 0 < len(expected) < len(entities)
    assert informative > len(queries) // 3  # the comparison is not vacuous


def test_regexp_function_name_is_checked():
    with pytest.raises(ValueError):
        to_sqlite(parse_q("a~=x", expand), regexp="regexp); DROP TABLE entities; --")


def test_regex_is_not_pushed_down_but_prefilter_narrows():
    conn = load(ENTITIES)
    node = parse_q("name~=^B;temperature>=25", expand)
    assert to_sqlite(node) is None
    sql, params = to_sqlite_prefilter(node)
    prefiltered = {row[0] for row in conn.execute(f"SELECT id FROM entities WHERE {sql}", params)}
    assert prefiltered == {"e1", "e2"}
    assert {e["id"] for e in ENTITIES if node.matches(e)} == {"e1"}
    assert to_sqlite_prefilter(parse_q("name~=^B|temperature>=25", expand)) is None
    assert to_sqlite_prefilter(parse_q("name", expand)) == to_sqlite(parse_q("name", expand))


def test_untranslatable_names_and_numbers():
    assert to_sqlite(parse_q('a[x"y]==1', expand)) is None
    assert to_sqlite(parse_q("a[x\\y]==1", expand)) is None
    assert to_sqlite(parse_q("a", lambda name: 'urn:"' + name)) is None
    assert to_sqlite(parse_q("a==100000000000000000000", expand)) is None
    assert to_sqlite(parse_q(";".join(["a"] * (q_sql.MAX_SQL_TERMS + 1)), expand)) is None
    assert to_sqlite(parse_q(";".join(["a"] * q_sql.MAX_SQL_TERMS), expand)) is not None


def _nested(depth: int, term: str) -> str:
    text = term
    for level in range(depth):
        text = f"b{';' if level % 2 else '|'}({text})"
    return text


def test_deep_or_large_expressions_are_not_translated():
    term = "a.observedAt==2024-01-01,12:00:00"
    assert parse_q(_nested(q_sql.MAX_SQL_DEPTH, term), expand).depth() == q_sql.MAX_SQL_DEPTH
    assert to_sqlite(parse_q(_nested(q_sql.MAX_SQL_DEPTH + 1, term), expand)) is None
    assert to_sqlite_prefilter(parse_q(_nested(q_sql.MAX_SQL_DEPTH + 1, term), expand)) is None
    # The largest translated expression still compiles inside two more levels of the caller's subqueries.
    inner = ";".join([term] * (q_sql.MAX_SQL_TERMS - q_sql.MAX_SQL_DEPTH + 1))
    node = parse_q(_nested(q_sql.MAX_SQL_DEPTH - 1, inner), expand)
    assert (node.term_count(), node.depth()) == (q_sql.MAX_SQL_TERMS, q_sql.MAX_SQL_DEPTH)
    sql, params = to_sqlite(node)
    wrapped = f"SELECT count(*) FROM (SELECT * FROM (SELECT id FROM entities WHERE {sql}))"
    assert load(ENTITIES).execute(wrapped, params).fetchone() == (0,)


def test_sql_parameters_line_up_when_embedded():
    conn = load(ENTITIES)
    sql, params = to_sqlite(parse_q('name=="Bob"|temperature==30', expand))
    rows = conn.execute(f"SELECT id FROM entities WHERE id <> ? AND ({sql}) ORDER BY id", ["e1", *params])
    assert [row[0] for row in rows] == ["e2"]


# -- temporal keys: Python and SQLite must agree ---------------------------------------------------------

TEMPORAL_SAMPLES = [
    "2024-01-01",
    "2024-02-29",
    "2023-02-29",
    "2024-13-01",
    "2024-00-10",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "2024-1-01",
    "x2024-01-01",
    "2024-01-01\n",
    "١٢٣٤-01-01",
    "",
    "2024-01-01T00:00:00",
    "2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00.5Z",
    "2024-01-01T00:00:00.123456789123Z",
    "2024-01-01T09:00:00+09:00",
    "2024-01-01T00:00:00-14:59",
    "2024-01-01T00:00:00+15:00",
    "2024-01-01T00:00:00+14:60",
    "2024-01-01T24:00:00Z",
    "2024-01-01T23:59:60Z",
    "2024-01-01T23:60:00Z",
    "2024-02-30T10:00:00Z",
    "0001-01-01T00:30:00+01:00",
    "0001-01-01T00:30:00-01:00",
    "9999-12-31T23:00:00-02:00",
    "9999-12-31T23:00:00+02:00",
    "0000-12-31T23:00:00-02:00",
    "2024-01-01T00:00:00.Z",
    "2024-01-01T00:00:00.",
    "2024-01-01T00:00:00ZZ",
    "2024-01-01T00:00:00+0900",
    "2024-01-01 00:00:00",
    "2024-01-01T00:00:00.5+09:00",
    "2024-01-01T00:00:00.5a",
    "2024-01-01t00:00:00z",
    "12:00:00",
    "12:00:00Z",
    "12:00:00.25",
    "12:00:00.25Z",
    "24:00:00",
    "23:59:59.999999999999",
    "23:60:00",
    "12:00",
    "12:00:00ZZ",
    "12:00:00.Z",
    "1:00:00",
    "12:00:00+01:00",
]


def _random_temporals(count: int) -> list[str]:
    rng = random.Random(99)

    def digits(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    samples = []
    for _ in range(count):
        text = f"{rng.choice(['2024', '0000', '0001', '9999', digits(4)])}-{digits(2)}-{digits(2)}"
        if rng.random() < 0.8:
            text += f"T{digits(2)}:{digits(2)}:{digits(2)}"
            text += rng.choice(["", "", f".{digits(rng.randint(1, 11))}", "."])
            text += rng.choice(["", "Z", f"+{digits(2)}:{digits(2)}", f"-{digits(2)}:{digits(2)}", "+1"])
        samples.append(text)
        samples.append(f"{digits(2)}:{digits(2)}:{digits(2)}" + rng.choice(["", "Z", f".{digits(3)}", "x"]))
    return samples


def test_temporal_keys_agree_with_sqlite():
    conn = sqlite3.connect(":memory:")
    for text in TEMPORAL_SAMPLES + _random_temporals(1500):
        sql_instant, sql_time = conn.execute(
            f"SELECT {q_sql._INSTANT_KEY_SQL}, {q_sql._TIME_KEY_SQL} FROM (SELECT ? AS v)", (text,)
        ).fetchone()
        assert (sql_instant, sql_time) == (instant_key(text), time_key(text)), text


def test_temporal_keys():
    assert instant_key("2024-01-01T09:00:00+09:00") == instant_key("2024-01-01T00:00:00Z")
    assert instant_key("2024-01-01T00:00:00.5Z") == "2024-01-01T00:00:00500000000"
    assert instant_key("2024-01-01") == instant_key("2024-01-01T00:00:00")
    assert instant_key("2024-02-30") is None
    assert instant_key("0001-01-01T00:30:00+01:00") is None
    assert time_key("23:59:59.5Z") == "23:59:59500000000"
    assert time_key("24:00:00") is None
