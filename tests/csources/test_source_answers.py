"""A context source's answer read cheaply (toshi/csources/answers.py): the same internal entities as the
validating parser of clients' payloads gives, for every attribute type and member."""

from __future__ import annotations

import orjson
import pytest

from toshi.core.errors import BadRequestData
from toshi.csources.answers import Readings, entities_of
from toshi.formats.ngsild_parse import parse_entity
from toshi.jsonld.context import core_context

NOW = "2026-12-08T01:00:00.000000Z"

RICH = {
    "id": "urn:ngsi-ld:Shelter:1", "type": ["Shelter", "Building"], "scope": ["/Osaka/Toyono"],
    "createdAt": "2026-01-01T00:00:00Z", "@context": "https://example.org/ignored.jsonld",
    "name": {"type": "Property", "value": "避難所", "createdAt": "2026-01-01T00:00:00Z",
             "reliability": {"type": "Property", "value": 0.9, "unitCode": "C62",
                             "source": {"type": "Relationship", "object": "urn:ngsi-ld:Camera:1"}}},
    "occupancy": [{"type": "Property", "value": 3, "observedAt": "2026-12-07T09:00:00Z"},
                  {"type": "Property", "value": 4, "datasetId": "urn:ngsi-ld:Dataset:camera"}],
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [135.47, 34.82]}},
    "operator": {"type": "Relationship", "object": "urn:ngsi-ld:City:Toyono", "objectType": "City"},
    "label": {"type": "LanguageProperty", "languageMap": {"ja": "避難所", "en": "shelter"}},
    "raw": {"type": "JsonProperty", "json": {"a": [1, 2]}},
    "category": {"type": "VocabProperty", "vocab": ["Shelter", "Building"]},
    "floors": {"type": "ListProperty", "valueList": [1, 2]},
    "exits": {"type": "ListRelationship", "objectList": [{"object": "urn:ngsi-ld:Door:1"}], "objectType": ["Door"]},
}


def test_a_normalized_answer_reads_as_the_validating_parser_reads_it():
    ctx = core_context()
    expected = parse_entity({k: v for k, v in RICH.items() if k != "@context"}, ctx, now=NOW)
    assert entities_of([RICH], ctx, NOW) == [expected]
    assert entities_of(RICH, ctx, NOW) == [expected]  # a retrieve's answer: one entity


def test_an_answer_in_the_concise_form_is_read_by_the_validating_parser():
    ctx = core_context()
    concise = {"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter", "occupancy": 3, "name": {"value": "a"}}
    assert entities_of([concise], ctx, NOW) == [parse_entity(concise, ctx, now=NOW)]


@pytest.mark.parametrize("bad", [
    1, {"type": "Shelter"}, {"id": "not a uri", "type": "Shelter"},
    {"id": "urn:a", "type": "Shelter", "x": {"type": "Nonsense", "value": 1}},
    {"id": "urn:a", "type": "Shelter", "x": [{"type": "Property", "value": 1}, {"type": "Property", "value": 2}]},
    {"id": "urn:a", "type": "Shelter", "location": {"type": "GeoProperty", "value": {"type": "Circle"}}},
])
def test_what_is_no_entity_is_refused(bad):
    with pytest.raises((ValueError, BadRequestData)):
        entities_of([bad], core_context(), NOW)


def test_the_same_answer_gives_the_same_entities_again():
    readings, ctx = Readings(), core_context()
    answer = orjson.dumps([RICH])
    first = readings.entities(answer, ctx, NOW)
    assert readings.entities(bytes(answer), ctx, "later") is first  # read once: the same objects
    other = readings.entities(orjson.dumps([{**RICH, "id": "urn:ngsi-ld:Shelter:2"}]), ctx, NOW)
    assert [e["id"] for e in other] == ["urn:ngsi-ld:Shelter:2"]
