"""Active JSON-LD contexts: term expansion and compaction as plain dict lookups.

A client @context is processed once with PyLD (on top of the NGSI-LD core context) and flattened into
three dicts — terms, prefixes and an inverse map — so that per-request work is a dict lookup. PyLD never
touches the network: remote documents are fetched beforehand by the resolver and handed in as a mapping
from URL to @context value; the core context is always the embedded copy.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

import orjson

from toshi.core.errors import InvalidContext, LdContextNotAvailable

if TYPE_CHECKING:
    from pyld import jsonld

CORE_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
_CORE_BASE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context"
CORE_URLS = frozenset(
    [_CORE_BASE + ".jsonld"]
    + [f"{_CORE_BASE}-v1.{minor}.jsonld" for minor in range(3, 9)]
    + [f"{_CORE_BASE}-v1.{minor}.0.jsonld" for minor in range(3, 9)]
)
_COMPACT_MEMO_MAX = 50_000


def is_core_url(url: str) -> bool:
    """True for every URL we treat as the (embedded) NGSI-LD core context, with http or https."""
    if url.startswith("http://"):
        url = "https://" + url[7:]
    return url in CORE_URLS


@functools.cache
def core_document() -> dict:
    """The embedded core context document: `{"@context": {...}}` (do not mutate)."""
    path = resources.files("toshi.jsonld") / "contexts" / "ngsi-ld-core-context-v1.8.jsonld"
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def _unprotected_core() -> bytes:
    """The core context without `@protected`, serialised; core protection is enforced by our overlay."""
    ctx = {k: v for k, v in core_document()["@context"].items() if k != "@protected"}
    return orjson.dumps(ctx)


class ActiveContext:
    """A processed @context. Immutable after construction; safe to share between requests."""

    __slots__ = ("_inverse", "_memo", "key", "link_url", "prefixes", "source", "terms", "urls", "vocab")

    def __init__(
        self,
        *,
        source: Any,
        link_url: str | None,
        key: Any,
        urls: tuple[str, ...],
        vocab: str,
        terms: dict[str, str],
        prefixes: dict[str, str],
        inverse: dict[str, str],
    ):
        self.source = source  # the @context as the client gave it
        self.link_url = link_url  # URL for a response Link header, None if not a single URL
        self.key = key  # cache key of `source`
        self.urls = urls  # every remote URL this context was built from (nested ones included)
        self.vocab = vocab
        self.terms = terms  # term -> IRI
        self.prefixes = prefixes  # prefix -> IRI (terms usable in compact IRIs)
        self._inverse = inverse  # IRI -> preferred term
        self._memo: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"ActiveContext(source={self.source!r}, terms={len(self.terms)})"

    def expand_term(self, term: str) -> str:
        """Attribute name or type -> IRI: term, compact IRI, absolute IRI (unchanged), else @vocab."""
        iri = self.terms.get(term)
        if iri is not None:
            return iri
        prefix, colon, suffix = term.partition(":")
        if not colon:
            return self.vocab + term
        if suffix.startswith("//"):
            return term
        base = self.prefixes.get(prefix)
        if base is not None:
            return base + suffix
        return term  # an absolute IRI such as urn:..., or a blank node id

    def compact_iri(self, iri: str) -> str:
        """IRI -> shortest faithful name: exact term, @vocab-relative, compact IRI, else the IRI."""
        name = self._inverse.get(iri)
        if name is not None:
            return name
        name = self._memo.get(iri)
        if name is None:
            name = self._compact_slow(iri)
            if len(self._memo) >= _COMPACT_MEMO_MAX:
                self._memo.clear()
            self._memo[iri] = name
        return name

    # VocabProperty values use @type: @vocab expansion, which is term expansion.
    expand_value = expand_term
    compact_value = compact_iri

    def _compact_slow(self, iri: str) -> str:
        if iri.startswith(self.vocab):
            suffix = iri[len(self.vocab) :]
            if suffix and self.expand_term(suffix) == iri:
                return suffix
        best: str | None = None
        for prefix, base in self.prefixes.items():
            if len(iri) > len(base) and iri.startswith(base):
                candidate = f"{prefix}:{iri[len(base) :]}"
                if _shorter(candidate, best) and self.expand_term(candidate) == iri:
                    best = candidate
        return best or iri


def _shorter(candidate: str, best: str | None) -> bool:
    """JSON-LD term selection order: shortest first, then lexicographically least."""
    return best is None or (len(candidate), candidate) < (len(best), best)


def build_active_context(
    source: Any,
    documents: Mapping[str, Any],
    *,
    key: Any = None,
    link_url: str | None = None,
) -> ActiveContext:
    """Process `source` with PyLD on top of the core context; core terms always win.

    `documents` maps every remote URL reachable from `source` to its @context value. A URL missing from it
    raises LdContextNotAvailable; anything PyLD rejects raises InvalidContext. CPU-bound: run it off the
    event loop for big contexts.
    """
    core = _core_parts()
    processed = _pyld_process(source, documents)
    terms, prefixes = _flatten(processed)
    terms.update(core.terms)
    prefixes.update(core.prefixes)
    return ActiveContext(
        source=source,
        link_url=link_url,
        key=key,
        urls=tuple(documents),
        vocab=processed.get("@vocab") or DEFAULT_VOCAB,
        terms=terms,
        prefixes=prefixes,
        inverse=_inverse(terms, core.terms),
    )


@functools.cache
def core_context() -> ActiveContext:
    """The NGSI-LD core context (v1.8, embedded), used when a request has no @context."""
    core = _core_parts()
    return ActiveContext(
        source=CORE_URL,
        link_url=CORE_URL,
        key=CORE_URL,
        urls=(),
        vocab=core.vocab,
        terms=dict(core.terms),
        prefixes=dict(core.prefixes),
        inverse=_inverse(core.terms, core.terms),
    )


CORE_TERMS = "ngsi-ld-core-context-v1.8.terms.json"  # beside the core context


class _CoreParts:
    def __init__(self, vocab: str, terms: dict[str, str], prefixes: dict[str, str]):
        self.vocab, self.terms, self.prefixes = vocab, terms, prefixes


@functools.cache
def _core_parts() -> _CoreParts:
    """The core context's terms as PyLD makes them (`computed_core_terms`), read from CORE_TERMS, so a
    request with the core context alone needs no PyLD (a tenth of a second to import)."""
    stored = json.loads((resources.files("toshi.jsonld") / "contexts" / CORE_TERMS).read_text(encoding="utf-8"))
    return _CoreParts(stored["vocab"], stored["terms"], stored["prefixes"])


def computed_core_terms() -> dict:
    """What CORE_TERMS holds, computed with PyLD (tests/jsonld/test_core_terms.py compares them;
    `python -m toshi.jsonld.context` writes the file)."""
    processed = _core_processed()
    terms, prefixes = _flatten(processed)
    return {"vocab": processed.get("@vocab") or DEFAULT_VOCAB, "terms": terms, "prefixes": prefixes}


@functools.cache
def _core_processed() -> dict:
    """The core context processed by PyLD: what a client's @context is processed on top of."""
    return _pyld_process(None, {})


def _pyld_process(source: Any, documents: Mapping[str, Any]) -> dict:
    """Run PyLD context processing with a loader that only serves `documents` and the core context.

    With `source=None`, processes the (unprotected) core context from the initial context; otherwise
    processes `source` on top of it, so user terms may use the core prefixes and override nothing that
    matters (core terms are laid over the result afterwards).
    """
    from pyld import jsonld  # here, not at import: PyLD loads requests, a tenth of a second of start-up
    from pyld.context_resolver import ContextResolver as _PyldResolver

    missing: list[str] = []

    def loader(url: str, options: dict | None = None) -> dict:
        if is_core_url(url):
            doc = orjson.loads(_unprotected_core())
        elif url in documents:
            doc = orjson.loads(orjson.dumps(documents[url]))  # PyLD mutates what it loads
        else:
            missing.append(url)
            raise LdContextNotAvailable(f"@context {url} could not be retrieved")
        return {"contextUrl": None, "documentUrl": url, "document": {"@context": doc}}

    processor = jsonld.JsonLdProcessor()
    options = {"documentLoader": loader, "contextResolver": _PyldResolver({}, loader), "base": ""}
    if source is None:
        active, local = processor._get_initial_context({}), orjson.loads(_unprotected_core())
    else:
        active, local = _core_processed(), orjson.loads(orjson.dumps(source))
    try:
        return processor.process_context(active, local, options)
    except jsonld.JsonLdError as exc:
        if missing:
            raise LdContextNotAvailable(f"@context {missing[0]} could not be retrieved") from exc
        raise InvalidContext(f"Invalid JSON-LD @context: {_pyld_message(exc)}") from exc
    except (TypeError, ValueError, AttributeError) as exc:  # PyLD is not defensive about odd shapes
        raise InvalidContext(f"Invalid JSON-LD @context: {exc}") from exc


def _pyld_message(exc: jsonld.JsonLdError) -> str:
    message = exc.args[0] if exc.args else "invalid"
    return f"{message} ({exc.code})" if exc.code else str(message)


def _flatten(processed: dict) -> tuple[dict[str, str], dict[str, str]]:
    """PyLD active context -> (term -> IRI, prefix -> IRI); keyword aliases and reverse terms dropped."""
    terms: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    for term, definition in processed.get("mappings", {}).items():
        iri = definition.get("@id")
        if not isinstance(iri, str) or iri.startswith("@") or definition.get("reverse"):
            continue
        terms[term] = iri
        if definition.get("_prefix"):
            prefixes[term] = iri
    return terms, prefixes


def _inverse(terms: Mapping[str, str], core_terms: Mapping[str, str]) -> dict[str, str]:
    """IRI -> term: core terms win for their IRIs, otherwise shortest then lexicographically least."""
    inverse: dict[str, str] = {}
    for preferred_core in (False, True):
        for term, iri in terms.items():
            if preferred_core and core_terms.get(term) != iri:
                continue
            current = inverse.get(iri)
            if preferred_core and current is not None and core_terms.get(current) != iri:
                current = None  # a user term held the slot; the core term replaces it
            if _shorter(term, current):
                inverse[iri] = term
    return inverse


if __name__ == "__main__":
    path = resources.files("toshi.jsonld") / "contexts" / CORE_TERMS
    path.write_text(json.dumps(computed_core_terms(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
