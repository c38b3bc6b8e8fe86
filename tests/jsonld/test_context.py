from __future__ import annotations

import pytest

from toshi.core.errors import InvalidContext, LdContextNotAvailable
from toshi.jsonld.context import (
    CORE_URL,
    DEFAULT_VOCAB,
    build_active_context,
    core_context,
    is_core_url,
)

NGSI = "https://uri.etsi.org/ngsi-ld/"


def test_core_context_expands_core_terms_and_uses_default_vocab() -> None:
    core = core_context()
    assert core.vocab == DEFAULT_VOCAB
    assert core.expand_term("location") == NGSI + "location"
    assert core.expand_term("observedAt") == NGSI + "observedAt"
    assert core.expand_term("Point") == "https://purl.org/geojson/vocab#Point"
    assert core.expand_term("Shelter") == DEFAULT_VOCAB + "Shelter"
    assert core.compact_iri(DEFAULT_VOCAB + "Shelter") == "Shelter"
    assert core.compact_iri(NGSI + "location") == "location"
    assert core.link_url == CORE_URL and core.source == CORE_URL
    assert core_context() is core


def test_core_url_aliases() -> None:
    assert is_core_url("https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld")
    assert is_core_url("https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.3.jsonld")
    assert is_core_url("http://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.7.jsonld")
    assert is_core_url(CORE_URL)
    assert not is_core_url("https://uri.etsi.org/ngsi-ld/v1/other.jsonld")


def test_absolute_iris_and_urns_are_unchanged() -> None:
    core = core_context()
    for iri in ["https://example.org/a", "urn:ngsi-ld:Thing:1", "http://x/y#z"]:
        assert core.expand_term(iri) == iri
        assert core.compact_iri(iri) == iri


def test_compact_iri_uses_core_prefix() -> None:
    core = core_context()
    assert core.expand_term("ngsi-ld:foo") == NGSI + "foo"
    assert core.compact_iri(NGSI + "foo") == "ngsi-ld:foo"


USER = {
    "schema": "https://schema.org/",
    "ex": {"@id": "https://example.org/", "@prefix": True},
    "name": "schema:name",
    "Shelter": "https://example.org/types/Shelter",
    "occupancy": {"@id": "ex:occupancy", "@type": "@vocab"},
    "reliability": "https://example.org/reliability",
}


@pytest.mark.parametrize(
    "term, iri",
    [
        ("name", "https://schema.org/name"),
        ("Shelter", "https://example.org/types/Shelter"),
        ("occupancy", "https://example.org/occupancy"),
        ("schema:address", "https://schema.org/address"),
        ("ex:foo", "https://example.org/foo"),
        ("undefinedTerm", DEFAULT_VOCAB + "undefinedTerm"),
        ("location", NGSI + "location"),
        ("urn:ngsi-ld:x", "urn:ngsi-ld:x"),
    ],
)
def test_user_context_round_trips(term: str, iri: str) -> None:
    ctx = build_active_context(USER, {})
    assert ctx.expand_term(term) == iri
    assert ctx.compact_iri(iri) == term
    assert ctx.expand_value(term) == iri and ctx.compact_value(iri) == term


def test_user_context_cannot_override_core_terms() -> None:
    ctx = build_active_context({"location": "https://example.org/myLocation", "Property": "https://x/P"}, {})
    assert ctx.expand_term("location") == NGSI + "location"
    assert ctx.expand_term("Property") == NGSI + "Property"


def test_core_term_wins_compaction_for_core_iris() -> None:
    ctx = build_active_context({"loc": "https://uri.etsi.org/ngsi-ld/location"}, {})
    assert ctx.expand_term("loc") == NGSI + "location"
    assert ctx.compact_iri(NGSI + "location") == "location"


def test_two_user_terms_for_one_iri_pick_shortest_then_lexicographic() -> None:
    ctx = build_active_context(
        {
            "temperature": "https://example.org/t",
            "temp": "https://example.org/t",
            "tmp2": "https://example.org/t",
        },
        {},
    )
    assert ctx.compact_iri("https://example.org/t") == "temp"
    ctx = build_active_context({"bb": "https://example.org/t", "aa": "https://example.org/t"}, {})
    assert ctx.compact_iri("https://example.org/t") == "aa"


def test_vocab_override() -> None:
    ctx = build_active_context({"@vocab": "https://example.org/vocab#"}, {})
    assert ctx.expand_term("speed") == "https://example.org/vocab#speed"
    assert ctx.compact_iri("https://example.org/vocab#speed") == "speed"
    # the default-context IRI is no longer vocab-relative; JSON-LD compacts it with the core prefix
    assert ctx.compact_iri(DEFAULT_VOCAB + "speed") == "ngsi-ld:default-context/speed"
    assert ctx.expand_term("ngsi-ld:default-context/speed") == DEFAULT_VOCAB + "speed"
    assert ctx.expand_term("location") == NGSI + "location"


def test_core_url_last_restores_default_vocab() -> None:
    ctx = build_active_context([{"@vocab": "https://example.org/v#"}, CORE_URL], {})
    assert ctx.expand_term("speed") == DEFAULT_VOCAB + "speed"


def test_vocab_relative_compaction_does_not_shadow_a_term() -> None:
    # "name" is a term for schema:name, so the vocab IRI for "name" cannot compact to "name".
    ctx = build_active_context({"name": "https://schema.org/name"}, {})
    assert ctx.compact_iri(DEFAULT_VOCAB + "name") == "ngsi-ld:default-context/name"
    ctx = build_active_context({"name": "https://schema.org/name", "@vocab": "https://example.org/v/"}, {})
    assert ctx.compact_iri("https://example.org/v/name") == "https://example.org/v/name"


def test_compact_iri_prefers_the_shortest_compact_form() -> None:
    ctx = build_active_context({"ex": "https://example.org/", "exs": "https://example.org/sub/"}, {})
    assert ctx.compact_iri("https://example.org/sub/a") == "exs:a"


def test_documents_are_used_for_urls() -> None:
    url = "https://example.org/ctx.jsonld"
    ctx = build_active_context([url, CORE_URL], {url: {"speed": "https://example.org/speed"}})
    assert ctx.expand_term("speed") == "https://example.org/speed"
    assert ctx.urls == (url,)


def test_missing_document_is_not_available() -> None:
    with pytest.raises(LdContextNotAvailable, match="https://example.org/none.jsonld"):
        build_active_context("https://example.org/none.jsonld", {})


@pytest.mark.parametrize("bad", [{"a": 5}, {"@version": 2.0}, {"a": {"@id": 5}}, [5]])
def test_invalid_contexts(bad: object) -> None:
    with pytest.raises(InvalidContext):
        build_active_context(bad, {})


def test_redefining_core_as_core_does_not_raise_protected_errors() -> None:
    ctx = build_active_context([CORE_URL, {"id": "@id", "type": "@type", "location": "ngsi-ld:location"}], {})
    assert ctx.expand_term("location") == NGSI + "location"
