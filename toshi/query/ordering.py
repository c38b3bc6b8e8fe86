"""Entity ordering (ETSI GS CIM 009 v1.9 clause 4.23): `orderBy`, `collation`, `orderFrom`, `orderGeometry`.

`orderBy` is a comma-separated list of terms, each an entity member (`id`, `type`, `scope`) or an
attribute path as in q (`name`, `address[city]`, `name.observedAt`, an absolute IRI), with an optional
`;asc`, `;desc`, `;dist-asc` or `;dist-desc`. Later terms break the ties of earlier ones.

Values of mixed types sort in the order of clause 4.23.2: numbers, strings, objects, arrays, booleans,
Times, Dates, DateTimes; null and a missing attribute always come last. DateTimes compare by instant.
By distance (Haversine, from the `orderFrom` geometry), entities whose attribute is a GeoProperty come
first, then the others by value. `geo:distance` names the distance of `location`.

Strings sort by a collation close to ICU's root (clause 4.23.1): base letters first, then accents,
then case (lower before upper), from Unicode decomposition; `de-u-co-phonebk` expands umlauts
(ä -> ae) first. Any other well-formed BCP 47 tag sorts as root.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from toshi.core.errors import BadRequestData
from toshi.core.times import instant_key, time_key
from toshi.query.qeval import instances, resolve
from toshi.query.qparse import parse_path
from toshi.query.qtree import Path

DIRECTIONS = ("asc", "desc", "dist-asc", "dist-desc")
MEMBERS = ("id", "type", "scope")
GEO_DISTANCE = "geo:distance"
LOCATION = "https://uri.etsi.org/ngsi-ld/location"
_TAG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
_PHONEBOOK = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
_LAST = 99  # null and missing attributes


@dataclass(frozen=True)
class OrderTerm:
    member: str | None   # id, type or scope; else `path`
    path: Path | None
    direction: str = "asc"

    @property
    def by_distance(self) -> bool:
        return self.direction.startswith("dist-")

    @property
    def descending(self) -> bool:
        return self.direction.endswith("desc")


@dataclass(frozen=True)
class Ordering:
    terms: tuple[OrderTerm, ...]
    collation: str = "und"
    origin: Any = None   # shapely geometry of orderFrom, for the distance terms

    def sort(self, entities: list[dict]) -> list[dict]:
        """`entities` in this order (a stable sort: equal ones keep their order)."""
        text_key = collation_key(self.collation)
        keys = {id(e): [self._key(e, term, text_key) for term in self.terms] for e in entities}

        def compare(a: dict, b: dict) -> int:
            for n, term in enumerate(self.terms):
                ka, kb = keys[id(a)][n], keys[id(b)][n]
                if ka == kb:
                    continue
                last = ka[0] == _LAST, kb[0] == _LAST
                if last[0] or last[1]:
                    return 1 if last[0] else -1  # null and missing stay last in both directions
                result = -1 if ka < kb else 1
                return -result if term.descending else result
            return 0
        return sorted(entities, key=functools.cmp_to_key(compare))

    def _key(self, entity: dict, term: OrderTerm, text_key: Callable[[str], tuple]) -> tuple:
        if term.member is not None:
            value = entity.get(term.member)
            return _value_key(value[0] if isinstance(value, list) and len(value) == 1 else value, text_key)
        if term.by_distance:
            from toshi.query.geo import distance_from

            metres = distance_from(self.origin, entity, term.path.attr)
            if metres is not None:
                return (-1, metres)
        return _value_key(_value_of(entity, term.path), text_key)


def parse_ordering(order_by: str, expand: Callable[[str], str], *, collation: str | None = None,
                   order_from: str | None = None, order_geometry: str | None = None) -> Ordering:
    """The ordering parameters -> Ordering; BadRequestData naming what is wrong."""
    if not order_by.strip():
        raise BadRequestData("orderBy must name at least one entity member or attribute")
    terms = tuple(_term(part.strip(), expand) for part in order_by.split(","))
    origin = None
    if any(term.by_distance for term in terms):
        if order_from is None:
            raise BadRequestData("ordering by distance needs orderFrom (the coordinates of a geometry)")
        from toshi.query.geo import reference_geometry

        origin = reference_geometry(order_geometry or "Point", order_from, "orderFrom")
    elif order_from is not None or order_geometry is not None:
        raise BadRequestData("orderFrom and orderGeometry are only used when ordering by distance")
    return Ordering(terms, check_collation(collation or "und"), origin)


def _term(text: str, expand: Callable[[str], str]) -> OrderTerm:
    name, _, direction = text.partition(";")
    direction = direction.strip() or "asc"
    if direction not in DIRECTIONS:
        raise BadRequestData(f"invalid orderBy direction {direction!r}: use asc, desc, dist-asc or dist-desc")
    name = name.strip()
    if not name:
        raise BadRequestData("orderBy has an empty term")
    if name == GEO_DISTANCE:
        return OrderTerm(None, Path(LOCATION), "dist-desc" if direction.endswith("desc") else "dist-asc")
    if name in MEMBERS:
        if direction.startswith("dist-"):
            raise BadRequestData(f"{name} cannot be ordered by distance")
        return OrderTerm(name, None, direction)
    path = parse_path(name, expand)
    if direction.startswith("dist-") and (path.subs or path.meta or path.keys):
        raise BadRequestData(f"ordering by distance needs a GeoProperty name, got {name!r}")
    return OrderTerm(None, path, direction)


def check_collation(tag: str) -> str:
    """A collation is a BCP 47 language tag (IETF RFC 6067 extensions included)."""
    if not _TAG.fullmatch(tag):
        raise BadRequestData(f"invalid collation {tag!r}: expected a BCP 47 language tag such as und or de")
    return tag


@functools.lru_cache(maxsize=32)
def collation_key(tag: str) -> Callable[[str], tuple]:
    """A sort key for strings under the collation `tag` (see the module docstring)."""
    lowered = tag.lower()
    phonebook = lowered.split("-")[0] == "de" and "-co-phonebk" in lowered

    def key(text: str) -> tuple:
        if phonebook:
            text = text.translate(_PHONEBOOK)
        decomposed = unicodedata.normalize("NFD", text)
        base = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
        return base, decomposed.casefold(), tuple(ch.isupper() for ch in text), text
    return key


def _value_of(entity: dict, path: Path) -> Any:
    """The value `path` addresses in the default instance (else the first), or _Missing."""
    found = instances(entity, path.attr)
    if not found:
        return _MISSING
    inst = next((i for i in found if "datasetId" not in i), found[0])
    target = resolve(inst, path)
    return _MISSING if target is None else target[0]


_MISSING = object()


def _value_key(value: Any, text_key: Callable[[str], tuple]) -> tuple:
    """Rank (clause 4.23.2) and a comparable key within the rank."""
    if isinstance(value, dict) and "@value" in value:
        value = value["@value"]
    if value is _MISSING or value is None:
        return (_LAST, 0 if value is None else 1)
    if isinstance(value, bool):
        return (4, value)
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        if (time := time_key(value)) is not None:
            return (5, time)
        if (instant := instant_key(value)) is not None:
            return (7, instant) if "T" in value else (6, instant)
        return (1, text_key(value))
    return (2 if isinstance(value, dict) else 3, orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
