"""The part of CKAN's package_search query language (Solr's, underneath) that clients and harvesters
send: `q` and `fq` made of terms — free words, `field:value`, `field:"a phrase"`, `field:[a TO b]`
ranges (`*` open), `+`/`-` prefixes, `AND` (implied between terms) and `OR` — over the fields of a
package dict. `*:*` matches everything."""

from __future__ import annotations

import re
from collections.abc import Callable

_TERM = re.compile(r'\s*([+-]?)(?:([A-Za-z_.]+|\*):)?("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\([^)]*\)|[^\s()]+)')
FIELDS = ("name", "title", "notes", "tags", "organization", "res_format", "license_id", "id", "type", "state",
          "metadata_modified", "metadata_created", "groups", "text", "capacity", "author", "maintainer",
          "standard", "frequency")


class SearchQueryError(ValueError):
    """The query is not one this subset understands (CKAN answers 400 "Search Query Error")."""


Match = Callable[[dict], bool]


def compile_query(text: str) -> Match:
    """A predicate over search documents (field -> list of strings, see `document`)."""
    text = (text or "").strip()
    if not text or text == "*:*":
        return lambda doc: True
    alternatives = [part for part in _top_level_or(text) if part.strip()]
    groups = [_conjunction(part) for part in alternatives]
    return lambda doc: any(all(term(doc) for term in group) for group in groups)


def _top_level_or(text: str) -> list[str]:
    """The parts between the ORs that stand outside brackets and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "([":
            depth += 1
        elif not quoted and char in ")]":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(" OR ", i):
            parts.append(text[start:i])
            start = i + 4
    return [*parts, text[start:]]


def _conjunction(text: str) -> list[Match]:
    terms, position = [], 0
    text = re.sub(r"\s+AND\s+", " ", text)
    while position < len(text):
        if not text[position:].strip():
            break
        found = _TERM.match(text, position)
        if not found or found.end() == position:
            raise SearchQueryError(f"cannot read the query at {text[position:]!r}")
        position = found.end()
        sign, field, value = found.groups()
        terms.append(_term(sign, field, value))
    return terms


def _term(sign: str, field: str | None, value: str) -> Match:
    if field == "*" and value == "*":
        return lambda doc: True
    if field is not None and field not in FIELDS:
        raise SearchQueryError(f"undefined field {field}")
    match = _value_match(field or "text", value)
    return (lambda doc: not match(doc)) if sign == "-" else match


def _value_match(field: str, value: str) -> Match:
    if value.startswith("[") and value.endswith("]"):
        low, _, high = value[1:-1].partition(" TO ")
        if not _:
            raise SearchQueryError(f"a range is [a TO b], not {value}")
        low, high = low.strip(), high.strip()
        return lambda doc: any((low == "*" or v >= low) and (high == "*" or v <= high) for v in doc.get(field, ()))
    if value.startswith("(") and value.endswith(")"):
        options = [_value_match(field, v) for v in re.split(r"\s+OR\s+|\s+", value[1:-1].strip()) if v]
        return lambda doc: any(option(doc) for option in options)
    exact = value.startswith('"') and value.endswith('"') and len(value) >= 2
    wanted = (value[1:-1].replace('\\"', '"') if exact else value).lower()
    if field == "text":  # free text: a word (or phrase) anywhere
        return lambda doc: any(wanted in v.lower() for v in doc.get("text", ()))
    if wanted.endswith("*") and not exact:
        prefix = wanted[:-1]
        return lambda doc: any(v.lower().startswith(prefix) for v in doc.get(field, ()))
    return lambda doc: any(v.lower() == wanted for v in doc.get(field, ()))


def document(package: dict) -> dict[str, list[str]]:
    """A package dict as search fields (each a list of strings)."""
    tags = [t["name"] for t in package["tags"]]
    extras = {e["key"]: e["value"] for e in package["extras"]}
    text = [package["name"], package["title"], package["notes"] or "", *tags, package["organization"]["title"],
            extras.get("title_en", ""), extras.get("notes_en", "")]
    return {
        "name": [package["name"]], "title": [package["title"], extras.get("title_en", "")],
        "notes": [package["notes"] or ""], "tags": tags, "organization": [package["organization"]["name"]],
        "res_format": [r["format"] for r in package["resources"]], "license_id": [package["license_id"]],
        "id": [package["id"]], "type": [package["type"]], "state": [package["state"]],
        "metadata_modified": [package["metadata_modified"]], "metadata_created": [package["metadata_created"]],
        "groups": [], "capacity": ["public"], "author": [package["author"] or ""],
        "maintainer": [package["maintainer"] or ""], "standard": [extras.get("standard", "")],
        "frequency": [extras.get("frequency", "")], "text": [t for t in text if t],
    }
