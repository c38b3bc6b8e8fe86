"""What a temporal read asks for (clauses 4.21, 5.7.3, 5.7.4, 6.18.3.1, 6.19.3.1): the instances (the
temporal query), the representation and the members of each entity to return.

- `format` names the representation (normalized, concise, temporalValues (= simplified),
  aggregatedValues); given, it takes precedence over the representation named in `options`. Two
  representations in `options` are an error, as are unknown values of either.
- `pick` and `omit` (clause 4.21) keep or drop entity members (`id`, `type`, `scope`, attributes);
  neither may be used with `attrs`, and a member may not be in both.
- `datasetId` keeps the instances of these datasetIds (`@none`: the default instance).
- `aggrMethods` (a comma-separated text, repeated in the URL to add methods, or an array in a Query) and
  `aggrPeriodDuration` with the aggregated representation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from toshi.core.errors import BadRequestData, InvalidRequest
from toshi.formats.ngsild_params import checked_lang, parse_projection
from toshi.formats.ngsild_parse import is_uri
from toshi.temporal.aggregate import Aggregation, parse_aggregation
from toshi.temporal.history import SCOPE
from toshi.temporal.timequery import TimeQuery, parse_time_query

REPRESENTATIONS = {"normalized": "normalized", "concise": "concise", "temporalValues": "temporalValues",
                   "simplified": "temporalValues", "aggregatedValues": "aggregatedValues"}
READ_OPTIONS = {*REPRESENTATIONS, "sysAttrs"}
# A query also takes `count` (Orion-LD's spelling of count=true, which ngsildclient sends with every
# temporal query, as the entity API accepts it).
QUERY_OPTIONS = READ_OPTIONS | {"count"}
MEMBERS = {"id", "type", "scope"}
DEFAULT_DATASET = "@none"


@dataclass
class Reading:
    """What a temporal read returns: which instances, in which representation, which members."""

    time: TimeQuery
    mode: str                           # normalized | concise | temporalValues | aggregatedValues
    aggregation: Aggregation | None
    sys_attrs: bool
    attrs: set[str] | None              # expanded attribute names, None for all
    pick: set[str] | None = None        # members to keep: id, type, scope, expanded attribute names
    omit: set[str] | None = None        # members to drop
    dataset_ids: set[str] | None = None  # only instances of these datasetIds ("@none": default instance)
    lang: str | None = None             # the language filter (clause 4.15) for LanguageProperty instances

    def member(self, name: str) -> bool:
        """Whether the entity member `name` (id, type, scope, an expanded attribute name) is returned."""
        if name == SCOPE:  # the Scope's history (clause 4.5.6) is the member scope
            name = "scope"
        if self.pick is not None and name not in self.pick:
            return False
        return self.omit is None or name not in self.omit

    @property
    def selected_attrs(self) -> set[str] | None:
        """The attributes whose history is read (None: all)."""
        if self.pick is not None:
            return (self.pick - MEMBERS) | ({SCOPE} if "scope" in self.pick else set())
        return self.attrs

    def wants_dataset(self, dataset_id: str | None) -> bool:
        return self.dataset_ids is None or (dataset_id or DEFAULT_DATASET) in self.dataset_ids


def attrs_of(raw: str | None, ctx) -> set[str] | None:
    """The `attrs` parameter: expanded attribute names."""
    if raw is None:
        return None
    names = [n.strip() for n in raw.split(",")]
    if not all(names):
        raise BadRequestData("Empty attribute name in attrs")
    return {ctx.expand_term(n) for n in names}


def reading_of(values: Mapping[str, Any], options: set[str], attrs: set[str] | None, ctx) -> Reading:
    """A Reading from request parameters (or a Query's temporalQ merged over them)."""
    mode = _mode(values.get("format"), options)
    aggregation = None
    if mode == "aggregatedValues":
        aggregation = parse_aggregation(_aggr_methods(values), values.get("aggrPeriodDuration"))
    pick, omit = _members(values.get("pick"), "pick", ctx), _members(values.get("omit"), "omit", ctx)
    if attrs is not None and (pick is not None or omit is not None):
        raise BadRequestData(f"{'pick' if pick is not None else 'omit'} cannot be used together with attrs")
    if pick is not None and omit is not None and pick & omit:
        raise BadRequestData(f"Members both picked and omitted: {', '.join(sorted(pick & omit))}")
    lang = values.get("lang")
    if lang is not None and (not isinstance(lang, str) or not lang.strip()):
        raise BadRequestData("lang must name a language (or languages, as in Accept-Language)")
    checked_lang(lang)  # 400 for any request naming an invalid one, as the entity API does
    return Reading(parse_time_query(values), mode, aggregation, "sysAttrs" in options, attrs, pick, omit,
                   _dataset_ids(values.get("datasetId")), lang)


def _aggr_methods(values: Mapping[str, Any]) -> Any:
    """`aggrMethods`: given more than once in the URL (`aggrMethods=min&aggrMethods=max`), the lists are
    merged, as `options` is (the spec names no error for a repeated parameter, and keeping only the
    last one dropped methods silently); a Query's member is taken as it is."""
    getlist = getattr(values, "getlist", None)
    if getlist is None:
        return values.get("aggrMethods")
    given = getlist("aggrMethods")
    return ",".join(given) if given else None


def _mode(fmt: Any, options: set[str]) -> str:
    if fmt is not None:
        if not isinstance(fmt, str) or fmt not in REPRESENTATIONS:
            raise InvalidRequest(f"Unknown format {fmt!r}; use {', '.join(REPRESENTATIONS)}")
        return REPRESENTATIONS[fmt]
    modes = {REPRESENTATIONS[o] for o in options if o in REPRESENTATIONS}
    if len(modes) > 1:
        raise BadRequestData(f"options name more than one representation: {', '.join(sorted(modes))}")
    return modes.pop() if modes else "normalized"


def _members(raw: Any, key: str, ctx) -> set[str] | None:
    """A projection (clause 4.21): entity member names, comma separated (an array in a Query), checked
    as in the entity API; none may reach into linked entities (the temporal API does not join)."""
    if raw is None:
        return None
    if isinstance(raw, list) and raw and all(isinstance(n, str) for n in raw):
        raw = ",".join(raw)
    if not isinstance(raw, str):
        raise BadRequestData(f"{key} must list entity member names")
    projection = parse_projection(raw, key, ctx)
    if projection.nested:
        raise BadRequestData(f"{key}: the temporal API does not join linked entities, so a projection "
                             f"cannot reach into them: {raw}")
    return set(projection.names)


def _dataset_ids(raw: Any) -> set[str] | None:
    if raw is None:
        return None
    ids = raw if isinstance(raw, list) else str(raw).split(",")
    ids = [str(i).strip() for i in ids]
    bad = [i for i in ids if i != DEFAULT_DATASET and not is_uri(i)]
    if not ids or bad:
        raise BadRequestData(f"datasetId must list URIs (or {DEFAULT_DATASET}), got {raw!r}")
    return set(ids)


def body_order(data: dict) -> Any:
    """The orderBy of a temporal Query body: its `ordering` member's (OrderingParams, v1.9.1 5.2.23 and
    5.2.43: an array of terms), else the bare `orderBy` member Toshi took before it."""
    ordering = data.get("ordering")
    if ordering is None:
        return data.get("orderBy")
    terms = ordering.get("orderBy") if isinstance(ordering, dict) else None
    if not isinstance(terms, list) or not terms or not all(isinstance(t, str) for t in terms):
        raise BadRequestData("ordering must be an OrderingParams object whose orderBy is a non-empty array of strings")
    return ",".join(terms)


def descending_of(raw: Any) -> bool:
    """`orderBy` of a temporal query (v1.9 clause 5.7.4.4, with 4.23's directions): only `id` may be
    named, `id`, `id;asc` or `id;desc`; any other member is BadRequestData. True for descending."""
    if raw is None:
        return False
    if not isinstance(raw, str):
        raise BadRequestData("orderBy must be a text such as id or id;desc")
    directions = []
    for item in raw.split(","):
        name, _, direction = item.strip().partition(";")
        if name.strip() != "id" or direction.strip() not in ("", "asc", "desc"):
            raise BadRequestData(f"A temporal query orders by id only (id, id;asc or id;desc), got {raw!r}")
        directions.append(direction.strip() == "desc")
    return directions[0]
