"""toshi.formats.ngsild_parse: NGSI-LD payloads (normalized / concise) -> the internal entity."""

from __future__ import annotations

import copy

import pytest
from support import VOCAB, TermContext

from toshi.core.errors import BadRequestData, InvalidRequest
from toshi.core.times import utc_datetime
from toshi.formats.ngsild_parse import (
    DELETE,
    is_delete,
    is_uri,
    parse_attribute,
    parse_entity,
    parse_fragment,
)
from toshi.formats.ngsild_render import render_entity

NOW = "2026-11-24T10:00:00.000000Z"
POINT = {"type": "Point", "coordinates": [135.47, 34.82]}

CTX = TermContext()


def v(name: str) -> str:
    return VOCAB + name


def entity(**attrs) -> dict:
    return {"id": "urn:ngsi-ld:Shelter:001", "type": "Shelter", **attrs}


def attr(payload_value, name: str = "a") -> list[dict]:
    return parse_entity(entity(**{name: payload_value}), CTX, now=NOW)["attrs"][CTX.expand_term(name)]


def one(payload_value, name: str = "a") -> dict:
    instances = attr(payload_value, name)
    assert len(instances) == 1
    return instances[0]


def stamped(**inst) -> dict:
    return {**inst, "createdAt": NOW, "modifiedAt": NOW}


# --- the entity ---------------------------------------------------------------------------------


def test_entity_minimal():
    out = parse_entity({"id": "urn:ngsi-ld:Shelter:001", "type": "Shelter"}, CTX, now=NOW)
    assert out == {"id": "urn:ngsi-ld:Shelter:001", "type": [v("Shelter")], "createdAt": NOW,
                   "modifiedAt": NOW, "attrs": {}}


def test_entity_types_list_expanded_and_deduplicated():
    out = parse_entity(entity(type=["Shelter", "https://example.org/Place", "Shelter"]), CTX, now=NOW)
    assert out["type"] == [v("Shelter"), "https://example.org/Place"]


@pytest.mark.parametrize("entity_id", ["urn:ngsi-ld:Shelter:001", "https://example.org/e/1", "urn:x"])
def test_entity_id_uri(entity_id):
    assert parse_entity(entity(id=entity_id), CTX, now=NOW)["id"] == entity_id


@pytest.mark.parametrize("entity_id",
                         ["Shelter001", "", 42, None, "urn:a b", ":nothing", "urn:<x>", ["urn:x"]])
def test_entity_id_not_a_uri(entity_id):
    with pytest.raises(BadRequestData):
        parse_entity(entity(id=entity_id), CTX, now=NOW)


def test_entity_needs_id_and_type():
    with pytest.raises(BadRequestData, match="id"):
        parse_entity({"type": "Shelter"}, CTX, now=NOW)
    with pytest.raises(BadRequestData, match="type"):
        parse_entity({"id": "urn:x:1"}, CTX, now=NOW)
    assert "type" not in parse_entity({"id": "urn:x:1"}, CTX, now=NOW, require_type=False)


@pytest.mark.parametrize("entity_type", ["", 3, [], ["ok", 3], "Shel ter", "Shelter<1>", "a=b", "a;b", "a(b)",
                                         "a'b", 'a"b', "a[0]", "a&b", "a?b", "a\tb"])
def test_entity_type_invalid(entity_type):
    with pytest.raises(BadRequestData):
        parse_entity(entity(type=entity_type), CTX, now=NOW)


def test_payload_not_an_object():
    with pytest.raises(InvalidRequest):
        parse_entity([entity()], CTX, now=NOW)
    with pytest.raises(InvalidRequest):
        parse_fragment("x", CTX, now=NOW)


def test_scope():
    assert parse_entity(entity(scope="/Osaka/Toyono"), CTX, now=NOW)["scope"] == ["/Osaka/Toyono"]
    assert parse_entity(entity(scope=["/a", "/b/c", "/a"]), CTX, now=NOW)["scope"] == ["/a", "/b/c"]


@pytest.mark.parametrize("scope",
                         ["Osaka", "/", "/a//b", "/a/", "/a b", "/a#", "/a+", 3, [], None, ["/a", 1]])
def test_scope_invalid(scope):
    with pytest.raises(BadRequestData):
        parse_entity(entity(scope=scope), CTX, now=NOW)


def test_context_and_system_attributes_are_ignored():
    payload = entity(createdAt="2000-01-01T00:00:00Z", modifiedAt="x", deletedAt="y",
                     **{"@context": ["https://example.org/ctx.jsonld"]}, a=1)
    out = parse_entity(payload, CTX, now=NOW)
    assert out["createdAt"] == out["modifiedAt"] == NOW
    assert list(out["attrs"]) == [v("a")]


@pytest.mark.parametrize("name", ["value", "object", "languageMap", "json", "vocab", "valueList",
                                  "objectList", "datasetId", "observedAt", "unitCode", "objectType", "@id",
                                  "@type"])
def test_reserved_attribute_names(name):
    with pytest.raises(BadRequestData):
        parse_entity(entity(**{name: 1}), CTX, now=NOW)


@pytest.mark.parametrize("name", ["a b", "a<b", "a>b", 'a"b', "a'b", "a=b", "a;b", "a(b", "a)b", "a[b]",
                                  "a&b", "a?b", "a\nb", "a\x00b", "\u3000a"])
def test_invalid_characters_in_attribute_names(name):
    with pytest.raises(BadRequestData, match="character"):
        parse_entity(entity(**{name: 1}), CTX, now=NOW)


def test_unicode_and_iri_attribute_names_are_fine():
    names = {"名前": 1, "https://schema.org/name#x": 2, "ex:term-1_a.b": 3}
    out = parse_entity(entity(**names), CTX, now=NOW)
    assert list(out["attrs"]) == [v("名前"), "https://schema.org/name#x", "ex:term-1_a.b"]


def test_same_attribute_twice_after_expansion():
    with pytest.raises(BadRequestData, match="twice"):
        parse_entity(entity(a=1, **{v("a"): 2}), CTX, now=NOW)


# --- attribute kinds, normalized -------------------------------------------------------------------


def test_property():
    assert one({"type": "Property", "value": 120}) == stamped(type="Property", value=120)


@pytest.mark.parametrize("value", [0, "", False, [1, 2], {"a": {"b": None}}, {"@type": "DateTime",
                                                                           "@value": "2020-01-01T00:00:00Z"}])
def test_property_values_kept(value):
    assert one({"type": "Property", "value": value})["value"] == value


def test_geoproperty():
    assert one({"type": "GeoProperty", "value": POINT}, "where") == stamped(type="GeoProperty", value=POINT)


@pytest.mark.parametrize("value", [{"type": "Point"}, {"type": "Point", "coordinates": "x"},
                                   {"type": "Square", "coordinates": [1, 2]}, "POINT (1 2)", 3])
def test_geoproperty_invalid_geometry(value):
    with pytest.raises(BadRequestData):
        one({"type": "GeoProperty", "value": value})


def test_relationship():
    assert one({"type": "Relationship", "object": "urn:ngsi-ld:Road:1", "objectType": "Road"}) == stamped(
        type="Relationship", object="urn:ngsi-ld:Road:1", objectType=v("Road"))


def test_relationship_multi_object_and_object_type_list():
    inst = one({"type": "Relationship", "object": ["urn:a:1", "urn:a:2"], "objectType": ["Road", "ex:Way"]})
    assert inst["object"] == ["urn:a:1", "urn:a:2"]
    assert inst["objectType"] == [v("Road"), "ex:Way"]


@pytest.mark.parametrize("obj", ["Road1", [], ["urn:a:1", "b"], 3, {"id": "urn:a:1"}])
def test_relationship_object_not_uri(obj):
    with pytest.raises(BadRequestData):
        one({"type": "Relationship", "object": obj})


def test_language_property():
    lmap = {"en": "Shelter", "ja": ["避難所", "シェルター"], "@none": "x", "zh-Hant-TW": "y"}
    assert one({"type": "LanguageProperty", "languageMap": lmap}) == stamped(type="LanguageProperty",
                                                                             languageMap=lmap)


@pytest.mark.parametrize("lmap", [{}, "en", {"en": 1}, {"en": ["a", 2]}, {"english language": "x"},
                                  {"": "x"}, {"en_US": "x"}, {"en": None}])
def test_language_property_invalid(lmap):
    with pytest.raises(BadRequestData):
        one({"type": "LanguageProperty", "languageMap": lmap})


@pytest.mark.parametrize("data", [{"a": [1, None]}, [1, 2], "text", 0])
def test_json_property_never_expanded(data):
    assert one({"type": "JsonProperty", "json": data}) == stamped(type="JsonProperty", json=data)


def test_vocab_property_expanded_with_expand_value():
    assert one({"type": "VocabProperty", "vocab": "residential"})["vocab"] == v("residential")
    assert one({"type": "VocabProperty", "vocab": ["a", "https://x.org/b"]})["vocab"] == [v("a"),
                                                                                        "https://x.org/b"]


@pytest.mark.parametrize("vocab", [3, "", [], ["a", 1]])
def test_vocab_property_invalid(vocab):
    with pytest.raises(BadRequestData):
        one({"type": "VocabProperty", "vocab": vocab})


def test_list_property():
    assert one({"type": "ListProperty", "valueList": [1, "a", {"b": 2}]})["valueList"] == [1, "a", {"b": 2}]
    with pytest.raises(BadRequestData, match="array"):
        one({"type": "ListProperty", "valueList": 1})


def test_list_relationship_both_forms():
    expected = stamped(type="ListRelationship", objectList=["urn:a:1", "urn:a:2"], objectType=v("Road"))
    assert one({"type": "ListRelationship", "objectList": [{"object": "urn:a:1"}, {"object": "urn:a:2"}],
                "objectType": "Road"}) == expected
    concise_list = {"type": "ListRelationship", "objectList": ["urn:a:1", "urn:a:2"], "objectType": "Road"}
    assert one(concise_list) == expected


@pytest.mark.parametrize("objects", ["urn:a:1", ["x"], [{"object": "x"}], [{"object": "urn:a:1", "more": 1}]])
def test_list_relationship_invalid(objects):
    with pytest.raises(BadRequestData):
        one({"type": "ListRelationship", "objectList": objects})


@pytest.mark.parametrize("body", [
    {"type": "Property", "value": 1, "object": "urn:a:1"},
    {"type": "Relationship", "object": "urn:a:1", "value": 1},
    {"type": "LanguageProperty", "languageMap": {"en": "a"}, "vocab": "x"},
    {"type": "GeoProperty", "value": POINT, "json": {}},
    {"type": "JsonProperty", "json": {}, "valueList": []},
])
def test_value_members_of_other_types_are_forbidden(body):
    with pytest.raises(BadRequestData, match="cannot have"):
        one(body)


@pytest.mark.parametrize("body", [{"type": "Property"}, {"type": "Relationship", "objectType": "Road"},
                                  {"type": "LanguageProperty"}, {"type": "ListRelationship"}])
def test_value_member_required(body):
    with pytest.raises(BadRequestData, match="needs"):
        one(body)


@pytest.mark.parametrize("kind", ["property", "Text", "Point", 3, ["Property"], None])
def test_invalid_attribute_type(kind):
    with pytest.raises(BadRequestData, match="type"):
        one({"type": kind, "value": 1})


# --- metadata ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("given, expected", [
    ("2026-11-24T09:59:00.000Z", "2026-11-24T09:59:00.000Z"),
    ("2026-11-24T09:59:00Z", "2026-11-24T09:59:00.000Z"),
    ("2026-11-24T09:59:00.5Z", "2026-11-24T09:59:00.500Z"),
    ("2026-11-24T09:59:00.123456Z", "2026-11-24T09:59:00.123Z"),
    ("2026-11-24T18:59:00.120+09:00", "2026-11-24T09:59:00.120Z"),
    ("2026-11-24T00:30:00-0130", "2026-11-24T02:00:00.000Z"),
    ("2026-11-24T09:59:00", "2026-11-24T09:59:00.000Z"),
    ("2026-11-24T09:59Z", "2026-11-24T09:59:00.000Z"),
    ("2026-01-01T01:00:00+02:00", "2025-12-31T23:00:00.000Z"),
])
def test_utc_datetime_normalizes_to_utc(given, expected):
    assert utc_datetime(given, "x") == expected


@pytest.mark.parametrize("given", ["2026-11-24T09:59:00Z", "2026-11-24T09:59:00.5Z", "2026-11-24T09:59:00.123456Z",
                                   "2026-11-24T18:59:00.120+09:00", "2026-11-24T09:59:00"])
def test_observed_at_kept_as_written(given):
    assert one({"type": "Property", "value": 1, "observedAt": given})["observedAt"] == given


@pytest.mark.parametrize("given, expected", [("2026-11-24T00:30:00-0130", "2026-11-24T02:00:00.000Z"),
                                             ("2026-11-24T09:59Z", "2026-11-24T09:59:00.000Z")])
def test_observed_at_in_a_spelling_q_cannot_key_is_stored_in_utc_form(given, expected):
    assert one({"type": "Property", "value": 1, "observedAt": given})["observedAt"] == expected


@pytest.mark.parametrize("given", ["yesterday", "2026-11-24", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                                   "2026-11-24T25:00:00Z", "2026-11-24 09:59:00Z", 1700000000, None])
def test_observed_at_invalid(given):
    with pytest.raises(BadRequestData, match="observedAt"):
        one({"type": "Property", "value": 1, "observedAt": given})


def test_unit_code_and_dataset_id():
    inst = one({"type": "Property", "value": 1, "unitCode": "C62", "datasetId": "urn:ngsi-ld:Dataset:cam"})
    assert inst["unitCode"] == "C62" and inst["datasetId"] == "urn:ngsi-ld:Dataset:cam"
    with pytest.raises(BadRequestData, match="unitCode"):
        one({"type": "Property", "value": 1, "unitCode": 3})
    with pytest.raises(BadRequestData, match="datasetId"):
        one({"type": "Property", "value": 1, "datasetId": "camera"})


def test_object_type_invalid():
    with pytest.raises(BadRequestData, match="objectType"):
        one({"type": "Relationship", "object": "urn:a:1", "objectType": 3})


# --- concise input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("given, expected", [
    ({"value": 1}, {"type": "Property", "value": 1}),
    ({"object": "urn:a:1"}, {"type": "Relationship", "object": "urn:a:1"}),
    ({"languageMap": {"en": "x"}}, {"type": "LanguageProperty", "languageMap": {"en": "x"}}),
    ({"json": {"k": 1}}, {"type": "JsonProperty", "json": {"k": 1}}),
    ({"vocab": "residential"}, {"type": "VocabProperty", "vocab": v("residential")}),
    ({"valueList": [1, 2]}, {"type": "ListProperty", "valueList": [1, 2]}),
    ({"objectList": ["urn:a:1"]}, {"type": "ListRelationship", "objectList": ["urn:a:1"]}),
    ({"value": POINT}, {"type": "Property", "value": POINT}),
    (POINT, {"type": "Property", "value": POINT}),
    ("text", {"type": "Property", "value": "text"}),
    (12.5, {"type": "Property", "value": 12.5}),
    (True, {"type": "Property", "value": True}),
    ([1, "two"], {"type": "Property", "value": [1, "two"]}),
    ([], {"type": "Property", "value": []}),
    ([{"k": 1}, {"k": 2}], {"type": "Property", "value": [{"k": 1}, {"k": 2}]}),
    ({"street": "Main", "city": "Osaka"}, {"type": "Property", "value": {"street": "Main", "city": "Osaka"}}),
    ("urn:ngsi-ld:Road:1", {"type": "Property", "value": "urn:ngsi-ld:Road:1"}),
])
def test_concise_inference(given, expected):
    assert one(given) == stamped(**expected)


@pytest.mark.parametrize("name", ["location", "observationSpace", "operationSpace"])
def test_concise_geoproperty_for_geo_attributes(name):
    assert one({"value": POINT}, name) == stamped(type="GeoProperty", value=POINT)
    assert one(POINT, name) == stamped(type="GeoProperty", value=POINT)
    assert one("somewhere", name) == stamped(type="Property", value="somewhere")


def test_concise_geoproperty_validated():
    with pytest.raises(BadRequestData):
        one({"type": "Point", "coordinates": "x"}, "location")
    with pytest.raises(BadRequestData):
        one({"value": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}}, "location")


def test_concise_ambiguous():
    with pytest.raises(BadRequestData, match="cannot tell"):
        one({"value": 1, "object": "urn:a:1"})


def test_concise_with_metadata_and_sub_attributes():
    inst = one({"value": 21.5, "unitCode": "CEL", "observedAt": "2026-11-24T09:59:00Z",
                "reliability": 0.9, "provider": {"object": "urn:ngsi-ld:Org:1"}})
    assert inst == stamped(type="Property", value=21.5, unitCode="CEL", observedAt="2026-11-24T09:59:00Z",
                           sub={v("reliability"): stamped(type="Property", value=0.9),
                                v("provider"): stamped(type="Relationship", object="urn:ngsi-ld:Org:1")})


# --- sub-attributes -----------------------------------------------------------------------------------


def test_sub_attributes_nested_and_stamped():
    inst = one({"type": "Relationship", "object": "urn:a:1",
                "since": {"type": "Property", "value": "2020",
                          "source": {"type": "Relationship", "object": "urn:b:1"}},
                "where": {"type": "GeoProperty", "value": POINT}})
    assert inst["sub"] == {
        v("since"): stamped(type="Property", value="2020",
                            sub={v("source"): stamped(type="Relationship", object="urn:b:1")}),
        v("where"): stamped(type="GeoProperty", value=POINT),
    }


def test_sub_attribute_arrays_are_values():
    inst = one({"value": 1, "tags": [{"value": 1}, {"value": 2}]})
    assert inst["sub"][v("tags")] == stamped(type="Property", value=[{"value": 1}, {"value": 2}])


def test_sub_attribute_errors():
    with pytest.raises(BadRequestData, match="datasetId"):
        one({"value": 1, "s": {"value": 2, "datasetId": "urn:d:1"}})
    with pytest.raises(BadRequestData):
        one({"value": 1, "s": {"type": "Nope", "value": 2}})
    for name in ("id", "scope", "@context", "a b"):
        with pytest.raises(BadRequestData):
            one({"value": 1, name: 2})
    with pytest.raises(BadRequestData, match="twice"):
        one({"value": 1, "s": 1, v("s"): 2})


def nested(depth: int) -> dict:
    body: dict = {"value": 0}
    for _ in range(depth - 1):
        body = {"value": 0, "s": body}
    return body


def test_depth_limit():
    one(nested(16))
    with pytest.raises(BadRequestData, match="deeper"):
        one(nested(17))
    parse_entity(entity(a=nested(3)), CTX, now=NOW, max_depth=3)
    with pytest.raises(BadRequestData, match="deeper"):
        parse_entity(entity(a=nested(4)), CTX, now=NOW, max_depth=3)


# --- multi-attributes ---------------------------------------------------------------------------------


def test_multi_instance():
    instances = attr([{"type": "Property", "value": 120},
                      {"value": 118, "datasetId": "urn:ngsi-ld:Dataset:camera"},
                      {"value": 117, "datasetId": "urn:ngsi-ld:Dataset:radar"}])
    assert instances == [stamped(type="Property", value=120),
                         stamped(type="Property", value=118, datasetId="urn:ngsi-ld:Dataset:camera"),
                         stamped(type="Property", value=117, datasetId="urn:ngsi-ld:Dataset:radar")]


def test_multi_instance_duplicates():
    with pytest.raises(BadRequestData, match="urn:d:1"):
        attr([{"value": 1, "datasetId": "urn:d:1"}, {"value": 2, "datasetId": "urn:d:1"}])
    with pytest.raises(BadRequestData, match="default"):
        attr([{"value": 1}, {"type": "Property", "value": 2}])


def test_null_is_not_a_value_outside_merge():
    for body in (None, {"type": "Property", "value": None}, {"value": None}, {"object": None},
                 "urn:ngsi-ld:null", {"value": 1, "s": None}):
        with pytest.raises(BadRequestData, match="null"):
            one(body)


# --- fragments and merge-patch --------------------------------------------------------------------------


def test_fragment_attributes_only():
    out = parse_fragment({"a": 1, "@context": "https://example.org/c.jsonld"}, CTX, now=NOW)
    assert out == {"attrs": {v("a"): [stamped(type="Property", value=1)]}}


def test_fragment_checks_id_type_scope_when_present():
    out = parse_fragment({"id": "urn:x:1", "type": ["T"], "scope": "/s"}, CTX, now=NOW)
    assert out == {"id": "urn:x:1", "type": [v("T")], "scope": ["/s"], "attrs": {}}
    for bad in ({"id": "x"}, {"type": 3}, {"scope": "s"}, {"scope": None}):
        with pytest.raises(BadRequestData):
            parse_fragment(bad, CTX, now=NOW)


@pytest.mark.parametrize("body", [
    None, "urn:ngsi-ld:null",
    {"type": "Property", "value": "urn:ngsi-ld:null"}, {"value": None},
    {"type": "GeoProperty", "value": "urn:ngsi-ld:null"},
    {"type": "Relationship", "object": "urn:ngsi-ld:null"},
    {"type": "LanguageProperty", "languageMap": {"@none": "urn:ngsi-ld:null"}},
    {"vocab": "urn:ngsi-ld:null"}, {"json": None},
    {"valueList": ["urn:ngsi-ld:null"]}, {"objectList": [{"object": "urn:ngsi-ld:null"}]},
])
def test_merge_null_deletes(body):
    out = parse_fragment({"a": body}, CTX, now=NOW, allow_null=True)
    assert out["attrs"][v("a")] == [{DELETE: True}]
    assert is_delete(out["attrs"][v("a")][0])


def test_merge_null_instance_keeps_dataset_id():
    out = parse_fragment({"a": {"type": "Property", "value": "urn:ngsi-ld:null", "datasetId": "urn:d:1"}},
                         CTX, now=NOW, allow_null=True)
    assert out["attrs"][v("a")] == [{DELETE: True, "datasetId": "urn:d:1"}]


def test_merge_null_sub_attribute_and_scope():
    out = parse_fragment({"scope": "urn:ngsi-ld:null", "a": {"value": 2, "s": None}}, CTX, now=NOW,
                         allow_null=True)
    assert out["scope"] is None
    assert out["attrs"][v("a")] == [stamped(type="Property", value=2, sub={v("s"): {DELETE: True}})]


def test_merge_partial_instance():
    out = parse_fragment({"a": {"type": "Property", "unitCode": "CEL"}}, CTX, now=NOW, allow_null=True)
    assert out["attrs"][v("a")] == [stamped(type="Property", unitCode="CEL")]
    assert not is_delete(out["attrs"][v("a")][0])


# --- one attribute ------------------------------------------------------------------------------------


def test_parse_attribute():
    assert parse_attribute("a", {"value": 5, "@context": "https://example.org/c"}, CTX, now=NOW) == [
        stamped(type="Property", value=5)]
    assert parse_attribute("location", POINT, CTX, now=NOW) == [stamped(type="GeoProperty", value=POINT)]
    instances = parse_attribute("a", [{"value": 1, "@context": "c"}, {"value": 2, "datasetId": "urn:d:2"}],
                                CTX, now=NOW)
    assert [inst["value"] for inst in instances] == [1, 2]
    assert parse_attribute("a", "urn:ngsi-ld:null", CTX, now=NOW, allow_null=True) == [{DELETE: True}]
    for name in ("a b", "", "value", "@id", "type"):
        with pytest.raises(BadRequestData):
            parse_attribute(name, 1, CTX, now=NOW)


def test_payload_not_mutated():
    payload = entity(a={"value": 1, "s": {"value": 2}}, location=POINT, v={"vocab": ["x"]})
    before = copy.deepcopy(payload)
    parse_entity(payload, CTX, now=NOW)
    assert payload == before


# --- round trips: parse, then render normalized == the input without system attributes --------------------


FULL = {
    "id": "urn:ngsi-ld:Shelter:001",
    "type": "Shelter",
    "scope": "/Osaka/Toyono",
    "occupancy": [
        {"type": "Property", "value": 120, "unitCode": "C62", "observedAt": "2026-11-24T09:59:00.000Z",
         "reliability": {"type": "Property", "value": 0.9}},
        {"type": "Property", "value": 118, "datasetId": "urn:ngsi-ld:Dataset:camera"},
    ],
    "location": {"type": "GeoProperty", "value": POINT},
    "observationSpace": {"type": "GeoProperty", "value": {
        "type": "Polygon", "coordinates": [[[135.0, 34.0], [136.0, 34.0], [136.0, 35.0], [135.0, 34.0]]]}},
    "operator": {"type": "Relationship", "object": "urn:ngsi-ld:City:Toyono", "objectType": "City",
                 "since": {"type": "Property",
                           "value": {"@type": "DateTime", "@value": "2020-04-01T00:00:00Z"}},
                 "contact": {"type": "Relationship",
                             "object": ["urn:ngsi-ld:Person:1", "urn:ngsi-ld:Person:2"]}},
    "name": {"type": "LanguageProperty", "languageMap": {"en": "Shelter", "ja": "避難所"}},
    "category": {"type": "VocabProperty", "vocab": ["residential", "https://example.org/public"]},
    "config": {"type": "JsonProperty", "json": {"any": ["thing", None], "type": "not expanded"}},
    "capacities": {"type": "ListProperty", "valueList": [10, 20, {"x": 1}]},
    "neighbours": {"type": "ListRelationship", "objectList": [{"object": "urn:ngsi-ld:Shelter:002"}],
                   "objectType": ["Shelter", "ex:Place"]},
    "https://example.org/absolute": {"type": "Property", "value": "iri names stay"},
    "where": {"type": "GeoProperty", "value": POINT},
}


def test_round_trip_normalized():
    internal = parse_entity(copy.deepcopy(FULL), CTX, now=NOW)
    assert render_entity(internal, CTX) == FULL


def test_round_trip_through_concise_and_key_values_independent_internal():
    internal = parse_entity(copy.deepcopy(FULL), CTX, now=NOW)
    concise = render_entity(internal, CTX, form="concise")
    assert parse_entity(concise, CTX, now=NOW) == internal


def test_round_trip_multi_type_and_scopes():
    payload = {"id": "urn:x:1", "type": ["A", "B"], "scope": ["/a", "/b"],
               "p": {"type": "Property", "value": 1}}
    assert render_entity(parse_entity(copy.deepcopy(payload), CTX, now=NOW), CTX) == payload


def test_partial_attribute_update():
    assert parse_attribute("a", {"type": "Property", "observedAt": "2026-11-24T09:59:00Z"}, CTX, now=NOW,
                           partial=True) == [stamped(type="Property", observedAt="2026-11-24T09:59:00Z")]
    with pytest.raises(BadRequestData, match="null"):
        parse_attribute("a", {"value": None}, CTX, now=NOW, partial=True)
    with pytest.raises(BadRequestData, match="needs"):
        parse_attribute("a", {"type": "Property", "unitCode": "C62"}, CTX, now=NOW)
    fragment = parse_fragment({"a": {"type": "Relationship"}}, CTX, now=NOW, partial=True)
    assert fragment["attrs"][v("a")] == [stamped(type="Relationship")]


def test_is_uri():
    assert is_uri("urn:ngsi-ld:Dataset:1") and is_uri("https://example.org/a?b=c#d")
    assert not any(is_uri(x) for x in ("", "abc", "1urn:x", "urn:", "urn:a b", None, 3, ["urn:x"]))
