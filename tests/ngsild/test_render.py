"""toshi.formats.ngsild_render: the internal entity -> normalized / concise / keyValues / GeoJSON output."""

from __future__ import annotations

import copy

import pytest
from support import NGSI, VOCAB, TermContext

from toshi.core.errors import BadRequestData, InvalidRequest
from toshi.formats.ngsild_parse import parse_entity
from toshi.formats.ngsild_render import (
    best_language,
    language_ranges,
    render_entity,
    render_feature_collection,
    render_geojson,
)

T0 = "2026-11-24T10:00:00.000Z"
T1 = "2026-11-24T11:00:00.000Z"
POINT = {"type": "Point", "coordinates": [135.47, 34.82]}
OTHER_POINT = {"type": "Point", "coordinates": [1.0, 2.0]}

CTX = TermContext()


def v(name: str) -> str:
    return VOCAB + name


def inst(**members) -> dict:
    return {"createdAt": T0, "modifiedAt": T1, **members}


def make(**attrs) -> dict:
    """An internal entity; attrs maps expanded names to instance lists."""
    return {"id": "urn:ngsi-ld:Shelter:001", "type": [v("Shelter")], "createdAt": T0, "modifiedAt": T1,
            "attrs": attrs}


LMAP = {"fr": "Grand Place", "nl": "Grote Markt", "@none": "Big Place"}

ENTITY = make(**{
    v("occupancy"): [inst(type="Property", value=120, unitCode="C62", observedAt=T0,
                          sub={v("reliability"): inst(type="Property", value=0.9)}),
                     inst(type="Property", value=118, datasetId="urn:ngsi-ld:Dataset:camera")],
    NGSI + "location": [inst(type="GeoProperty", value=POINT)],
    v("operator"): [inst(type="Relationship", object="urn:ngsi-ld:City:Toyono", objectType=v("City"))],
    v("name"): [inst(type="LanguageProperty", languageMap=LMAP)],
    v("category"): [inst(type="VocabProperty", vocab=[v("residential"), "https://example.org/public"])],
    v("config"): [inst(type="JsonProperty", json={"type": "x", "value": 1})],
    v("capacities"): [inst(type="ListProperty", valueList=[10, 20])],
    v("neighbours"): [inst(type="ListRelationship", objectList=["urn:a:1", "urn:a:2"],
                           objectType=[v("Shelter")])],
    v("label"): [inst(type="Property", value="Toyono #1")],
})


# --- normalized ---------------------------------------------------------------------------------------


def test_normalized():
    assert render_entity(ENTITY, CTX) == {
        "id": "urn:ngsi-ld:Shelter:001",
        "type": "Shelter",
        "occupancy": [{"type": "Property", "value": 120, "unitCode": "C62", "observedAt": T0,
                       "reliability": {"type": "Property", "value": 0.9}},
                      {"type": "Property", "value": 118, "datasetId": "urn:ngsi-ld:Dataset:camera"}],
        "location": {"type": "GeoProperty", "value": POINT},
        "operator": {"type": "Relationship", "object": "urn:ngsi-ld:City:Toyono", "objectType": "City"},
        "name": {"type": "LanguageProperty", "languageMap": LMAP},
        "category": {"type": "VocabProperty", "vocab": ["residential", "https://example.org/public"]},
        "config": {"type": "JsonProperty", "json": {"type": "x", "value": 1}},
        "capacities": {"type": "ListProperty", "valueList": [10, 20]},
        "neighbours": {"type": "ListRelationship",
                       "objectList": [{"object": "urn:a:1"}, {"object": "urn:a:2"}],
                       "objectType": ["Shelter"]},
        "label": {"type": "Property", "value": "Toyono #1"},
    }


def test_types_and_scope():
    entity = {**make(), "type": [v("A"), "https://example.org/B"], "scope": ["/a/b", "/c"]}
    assert render_entity(entity, CTX) == {"id": "urn:ngsi-ld:Shelter:001", "type": ["A", "https://example.org/B"],
                                          "scope": ["/a/b", "/c"]}
    assert render_entity({**make(), "scope": ["/a"]}, CTX)["scope"] == "/a"


def test_entity_not_mutated():
    before = copy.deepcopy(ENTITY)
    for form in ("normalized", "concise", "keyValues"):
        render_entity(ENTITY, CTX, form=form, sys_attrs=True, lang="nl")
        render_geojson(ENTITY, CTX, form=form)
    assert before == ENTITY


def test_unknown_form():
    with pytest.raises(InvalidRequest):
        render_entity(ENTITY, CTX, form="compact")


# --- sysAttrs -----------------------------------------------------------------------------------------


def test_sys_attrs_everywhere():
    out = render_entity(ENTITY, CTX, sys_attrs=True)
    assert (out["createdAt"], out["modifiedAt"]) == (T0, T1)
    first = out["occupancy"][0]
    assert (first["createdAt"], first["modifiedAt"]) == (T0, T1)
    assert first["reliability"] == {"type": "Property", "value": 0.9, "createdAt": T0, "modifiedAt": T1}
    concise = render_entity(ENTITY, CTX, form="concise", sys_attrs=True)
    assert concise["label"] == {"value": "Toyono #1", "createdAt": T0, "modifiedAt": T1}
    assert render_entity(ENTITY, CTX, form="keyValues", sys_attrs=True)["createdAt"] == T0


def test_no_sys_attrs_by_default():
    text = repr(render_entity(ENTITY, CTX)) + repr(render_entity(ENTITY, CTX, form="concise"))
    assert "createdAt" not in text and "modifiedAt" not in text


# --- concise ------------------------------------------------------------------------------------------


def test_concise():
    out = render_entity(ENTITY, CTX, form="concise")
    assert out == {
        "id": "urn:ngsi-ld:Shelter:001",
        "type": "Shelter",
        "occupancy": [{"value": 120, "unitCode": "C62", "observedAt": T0, "reliability": 0.9},
                      {"value": 118, "datasetId": "urn:ngsi-ld:Dataset:camera"}],
        "location": {"value": POINT},
        "operator": {"object": "urn:ngsi-ld:City:Toyono", "objectType": "City"},
        "name": {"languageMap": LMAP},
        "category": {"vocab": ["residential", "https://example.org/public"]},
        "config": {"json": {"type": "x", "value": 1}},
        "capacities": {"valueList": [10, 20]},
        "neighbours": {"objectList": [{"object": "urn:a:1"}, {"object": "urn:a:2"}],
                       "objectType": ["Shelter"]},
        "label": "Toyono #1",
    }


@pytest.mark.parametrize("name, instance, expected", [
    (v("where"), inst(type="GeoProperty", value=POINT), {"type": "GeoProperty", "value": POINT}),
    (NGSI + "location", inst(type="Property", value=POINT), {"type": "Property", "value": POINT}),
    (NGSI + "location", inst(type="Property", value="here"), "here"),
    (v("p"), inst(type="Property", value={"value": 1}), {"value": {"value": 1}}),
    (v("p"), inst(type="Property", value={"type": "T"}), {"value": {"type": "T"}}),
    (v("p"), inst(type="Property", value=[{"a": 1}]), {"value": [{"a": 1}]}),
    (v("p"), inst(type="Property", value={"a": 1}), {"a": 1}),
    (v("p"), inst(type="Property", value=[1, 2]), [1, 2]),
    (v("p"), inst(type="Property", value=POINT), {"value": POINT}),
])
def test_concise_keeps_what_the_parser_needs(name, instance, expected):
    assert render_entity(make(**{name: [instance]}), CTX, form="concise")[CTX.compact_iri(name)] == expected


def test_concise_reads_back_to_the_same_entity():
    for name, instances in ENTITY["attrs"].items():
        entity = make(**{name: instances})
        for attr_inst in instances:
            for sub in attr_inst.get("sub", {}).values():
                sub["createdAt"], sub["modifiedAt"] = T0, T0
            attr_inst["createdAt"], attr_inst["modifiedAt"] = T0, T0
        concise = render_entity(entity, CTX, form="concise")
        assert parse_entity(concise, CTX, now=T0)["attrs"] == entity["attrs"], name


# --- keyValues ----------------------------------------------------------------------------------------


def test_key_values():
    assert render_entity(ENTITY, CTX, form="keyValues") == {
        "id": "urn:ngsi-ld:Shelter:001",
        "type": "Shelter",
        "occupancy": {"dataset": {"@none": 120, "urn:ngsi-ld:Dataset:camera": 118}},
        "location": POINT,
        "operator": "urn:ngsi-ld:City:Toyono",
        "name": {"languageMap": LMAP},
        "category": {"vocab": ["residential", "https://example.org/public"]},
        "config": {"json": {"type": "x", "value": 1}},
        "capacities": [10, 20],
        "neighbours": ["urn:a:1", "urn:a:2"],
        "label": "Toyono #1",
    }


def test_simplified_is_key_values():
    assert render_entity(ENTITY, CTX, form="simplified") == render_entity(ENTITY, CTX, form="keyValues")


def test_key_values_single_vocab_and_single_instance_with_dataset_id():
    entity = make(**{v("c"): [inst(type="VocabProperty", vocab=v("residential"))],
                     v("d"): [inst(type="Property", value=5, datasetId="urn:d:1")]})
    assert render_entity(entity, CTX, form="keyValues") == {
        "id": "urn:ngsi-ld:Shelter:001", "type": "Shelter", "c": {"vocab": "residential"}, "d": 5}


# --- lang (clause 4.15) --------------------------------------------------------------------------------


def test_lang_normalized():
    out = render_entity(ENTITY, CTX, lang="nl")
    assert out["name"] == {"type": "Property", "value": "Grote Markt", "lang": "nl"}
    assert out["label"] == {"type": "Property", "value": "Toyono #1"}


def test_lang_concise_and_key_values():
    concise = render_entity(ENTITY, CTX, form="concise", lang="nl")
    assert concise["name"] == {"value": "Grote Markt", "lang": "nl"}
    assert render_entity(ENTITY, CTX, form="keyValues", lang="nl")["name"] == "Grote Markt"


def test_lang_sub_attributes_and_metadata():
    entity = make(**{v("managedBy"): [inst(
        type="Relationship", object="urn:a:1",
        sub={v("role"): inst(type="LanguageProperty", languageMap={"en": "keeper", "fr": "gardien"},
                             observedAt=T0)})]})
    out = render_entity(entity, CTX, lang="fr", sys_attrs=True)
    assert out["managedBy"]["role"] == {"type": "Property", "value": "gardien", "lang": "fr",
                                        "observedAt": T0, "createdAt": T0, "modifiedAt": T1}


@pytest.mark.parametrize("lang, languages, expected", [
    ("nl", LMAP, "nl"),
    ("NL", LMAP, "nl"),
    ("en", LMAP, "@none"),
    ("*", LMAP, None),
    ("en,*;q=0.5", {"fr": "a", "nl": "b"}, None),
    ("nl,*;q=0.5", LMAP, "nl"),
    ("pt", {"fr": "a", "nl": "b"}, "fr"),
    ("fr-CH,fr;q=0.9,en;q=0.8,*;q=0.5", LMAP, "fr"),
    ("fr;q=0.2,nl;q=0.9", LMAP, "nl"),
    ("fr;q=0,nl;q=0.1", {"fr": "a", "nl": "b"}, "nl"),
    ("nl-BE", LMAP, "nl"),
    ("zh-Hant-TW", {"zh": "a", "zh-Hant": "b", "en": "c"}, "zh-Hant"),
    ("en", {"de": "a", "en-US": "b"}, "en-US"),
    ("en-gb, de", {"de": "a", "en-US": "b"}, "de"),
    ("ja,en", {"de": "a", "en": "b"}, "en"),
])
def test_best_language(lang, languages, expected):
    assert best_language(languages, language_ranges(lang)) == expected


def test_lang_star_keeps_every_language():
    # clause 4.15: `*` matches every language, so the LanguageProperty is shown whole
    out = render_entity(ENTITY, CTX, lang="*")
    assert out["name"] == {"type": "LanguageProperty", "languageMap": LMAP}


def test_lang_star_concise_keeps_the_language_map():
    assert render_entity(ENTITY, CTX, form="concise", lang="*")["name"] == {"languageMap": LMAP}


def test_lang_star_key_values_keeps_the_language_map():
    assert render_entity(ENTITY, CTX, form="keyValues", lang="*")["name"] == {"languageMap": LMAP}


def test_lang_star_geojson_keeps_every_language():
    feature = render_geojson(ENTITY, CTX, lang="*")
    assert feature["properties"]["name"] == {"type": "LanguageProperty", "languageMap": LMAP}


def test_lang_value_may_be_a_list():
    entity = make(**{v("n"): [inst(type="LanguageProperty", languageMap={"ja": ["避難所", "シェルター"]})]})
    assert render_entity(entity, CTX, form="keyValues", lang="ja")["n"] == ["避難所", "シェルター"]


@pytest.mark.parametrize("lang", ["", "en,,fr", "en;q=2", "en;q=x", "en;x=1", "e n", "!!", "en-", "toolonglang"])
def test_invalid_lang(lang):
    with pytest.raises(BadRequestData):
        render_entity(ENTITY, CTX, lang=lang)


# --- selection: attrs, pick, omit, datasetId ------------------------------------------------------------


def test_attrs_selects_expanded_names():
    out = render_entity(ENTITY, CTX, attrs={v("label"), NGSI + "location", v("missing")})
    assert list(out) == ["id", "type", "location", "label"]


@pytest.mark.parametrize("pick, expected", [
    ({"label"}, ["label"]),
    ({"id"}, ["id"]),
    ({"id", "label", "location"}, ["id", "location", "label"]),
    ({"type", v("label")}, ["type", "label"]),
])
def test_pick(pick, expected):
    assert list(render_entity(ENTITY, CTX, pick=pick)) == expected


def test_omit():
    out = render_entity({**ENTITY, "scope": ["/s"]}, CTX, omit={"type", "label", v("name"), "scope"})
    assert "type" not in out and "label" not in out and "name" not in out and "scope" not in out
    assert "id" in out and "occupancy" in out
    assert "id" not in render_entity(ENTITY, CTX, omit={"id"})


def test_dataset_id_filter():
    out = render_entity(ENTITY, CTX, dataset_id={"urn:ngsi-ld:Dataset:camera"})
    assert out == {"id": "urn:ngsi-ld:Shelter:001", "type": "Shelter",
                   "occupancy": {"type": "Property", "value": 118, "datasetId": "urn:ngsi-ld:Dataset:camera"}}
    default_only = render_entity(ENTITY, CTX, dataset_id={"@none"}, attrs={v("occupancy")})
    assert default_only["occupancy"]["value"] == 120


# --- GeoJSON (clauses 4.5.16, 4.5.17) ---------------------------------------------------------------------


def test_geojson_feature():
    feature = render_geojson(ENTITY, CTX, attrs={v("label"), NGSI + "location"})
    assert feature == {
        "id": "urn:ngsi-ld:Shelter:001",
        "type": "Feature",
        "geometry": POINT,
        "properties": {"type": "Shelter", "location": {"type": "GeoProperty", "value": POINT},
                       "label": {"type": "Property", "value": "Toyono #1"}},
    }


def test_geojson_key_values_and_default_instance():
    entity = make(**{NGSI + "location": [inst(type="GeoProperty", value=OTHER_POINT, datasetId="urn:d:gps"),
                                         inst(type="GeoProperty", value=POINT)],
                     v("speed"): [inst(type="Property", value=5)]})
    feature = render_geojson(entity, CTX, form="keyValues")
    assert feature["geometry"] == POINT
    assert feature["properties"] == {"type": "Shelter", "speed": 5,
                                     "location": {"dataset": {"urn:d:gps": OTHER_POINT, "@none": POINT}}}


def test_geojson_other_geometry_property_and_null_geometry():
    entity = make(**{v("where"): [inst(type="GeoProperty", value=OTHER_POINT)],
                     v("speed"): [inst(type="Property", value=5)]})
    assert render_geojson(entity, CTX, geometry_property=v("where"))["geometry"] == OTHER_POINT
    assert render_geojson(entity, CTX)["geometry"] is None
    assert render_geojson(entity, CTX, geometry_property=v("speed"))["geometry"] is None
    with_times = render_geojson(entity, CTX, geometry_property=v("where"), sys_attrs=True)
    assert with_times["properties"]["createdAt"] == T0


def test_feature_collection():
    features = [render_geojson(ENTITY, CTX), render_geojson(make(), CTX)]
    collection = render_feature_collection(features)
    assert collection == {"type": "FeatureCollection", "features": features}
    assert render_feature_collection(iter([])) == {"type": "FeatureCollection", "features": []}
