"""URL parameters of the NGSI-LD API: options, output form, attribute selection, queries."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson
from starlette.datastructures import QueryParams

from toshi.core.errors import BadRequestData, InvalidRequest, TooManyResults
from toshi.query.planner import EntityQuery

FORMS = {"normalized", "concise", "keyValues", "simplified"}
QUERY_KEYS = {"id", "type", "idPattern", "attrs", "q", "georel", "geometry", "coordinates", "geoproperty",
              "scopeQ", "pick", "omit", "limit", "offset", "count", "options", "format", "lang", "csf",
              "local", "geometryProperty", "datasetId", "deleteAll", "details", "kind", "via", "join",
              "joinLevel", "containedBy", "entityMap", "collect", "jsonKeys", "expandValues"}


# Every URL parameter the NGSI-LD API defines (v1.8, and v1.9 where Toshi follows it), over all its
# resources, plus the older temporal names `time` / `endTime`. A request under /ngsi-ld/v1 naming any
# other parameter is 400 InvalidRequest (clause 6.3.20; toshi/ngsild/parameters.py).
URL_PARAMETERS = frozenset(QUERY_KEYS | {
    "orderBy", "orderFrom", "orderGeometry", "collation",             # v1.9 4.23 ordering
    "timerel", "timeAt", "endTimeAt", "timeproperty", "time", "endTime", "lastN",  # temporal
    "aggrMethods", "aggrPeriodDuration",
    "drop", "keep",                                                   # purge (v1.9 5.6.21)
    "reload",                                                         # @context delete and reload
    "idsOnly", "splitEntities", "observedAt", "doNotCompact",         # defined, not (all) supported
    "entityMapLifetime",                                              # entity maps (v1.9 6.4.3.2)
})


def options_of(params: QueryParams, allowed: set[str]) -> set[str]:
    """The `options` list, every value checked against what this endpoint accepts: an unrecognised
    value is InvalidRequest, as is an unknown `format` (the ETSI conformance tests of clause 6.3.20)."""
    options: set[str] = set()
    for raw in params.getlist("options"):
        options.update(o.strip() for o in raw.split(",") if o.strip())
    unknown = options - allowed
    if unknown:
        raise InvalidRequest(f"Unknown or unsupported option(s): {', '.join(sorted(unknown))}")
    return options


@dataclass
class Output:
    form: str = "normalized"
    sys_attrs: bool = False
    attrs: set[str] | None = None
    pick: set[str] | None = None
    omit: set[str] | None = None
    lang: str | None = None
    geometry_property: str | None = None
    join: str | None = None             # "inline" or "flat" (clause 4.5.23); None: no linked entities
    join_level: int = 1
    projection: Projection | None = None  # pick / omit with their projections into linked entities
    ids_only: bool = False              # options=idsOnly / idsOnly=true: the answer is the ids alone
    dataset_ids: set[str] | None = None  # datasetId (v1.8 4.5.5): the instances shown, "@none" the default

    def variant(self, media: str) -> tuple:
        """A hashable description of this output, for caching renderings."""
        sets = tuple(None if s is None else frozenset(s)
                     for s in (self.attrs, self.pick, self.omit, self.dataset_ids))
        return (media, self.form, self.sys_attrs, self.lang, self.geometry_property, *sets)


def output_of(params: QueryParams, ctx, options: set[str]) -> Output:
    forms = options & FORMS
    fmt = params.get("format")
    if fmt is not None:
        if fmt not in FORMS:
            raise InvalidRequest(f"Unknown format: {fmt}")
        forms = {fmt}
    if len(forms) > 1:
        raise BadRequestData(f"Conflicting output options: {', '.join(sorted(forms))}")
    form = forms.pop() if forms else "normalized"
    if form == "simplified":
        form = "keyValues"
    pick, omit = _projection(params, "pick", ctx), _projection(params, "omit", ctx)
    if pick is not None and omit is not None:
        raise BadRequestData("pick and omit cannot be used together")
    geometry_property = params.get("geometryProperty")
    output = Output(form=form, sys_attrs="sysAttrs" in options, attrs=_names(params, "attrs", ctx),
                    lang=checked_lang(params.get("lang")),
                    geometry_property=ctx.expand_term(geometry_property) if geometry_property else None)
    output.join, output.join_level = join_of(params.get("join"), params.get("joinLevel"))
    _project(output, pick or omit, "pick" if pick is not None else "omit")
    output.ids_only = "idsOnly" in options or bool_param(params, "idsOnly")
    output.dataset_ids = _dataset_ids(params.get("datasetId"))
    return output


def checked_lang(lang: str | None) -> str | None:
    """`lang` (clause 4.15), checked as soon as it is read: a value that is no list of language ranges
    is 400 BadRequestData on every request taking it, whether or not the answer holds a LanguageProperty
    (an empty page, idsOnly, count alone, a 404)."""
    if lang is not None:
        from toshi.formats.ngsild_render import language_ranges

        language_ranges(lang)
    return lang


def _dataset_ids(raw: str | None) -> set[str] | None:
    """`datasetId` (v1.8 clause 4.5.5): comma-separated URIs, `@none` naming the default instance."""
    if raw is None:
        return None
    ids = {i.strip() for i in raw.split(",")}
    wrong = sorted(i for i in ids if i != "@none" and not _is_uri(i))
    if wrong:
        raise BadRequestData(f"datasetId must be URIs or @none, got {', '.join(map(repr, wrong))}")
    return ids


@dataclass(frozen=True)
class Projection:
    """One level of `pick` / `omit` (clause 4.21): the names it names at this level (entity members,
    expanded attribute names) and, for `rel{...}`, the projection inside the entities `rel` links to."""
    names: frozenset[str]
    nested: dict[str, Projection]
    kind: str                       # "pick" or "omit"

    @property
    def kept(self) -> frozenset[str]:
        """The names for render_entity: under omit, `rel{...}` does not omit rel itself."""
        return self.names if self.kind == "pick" else self.names - self.nested.keys()

    @property
    def depth(self) -> int:
        return 1 + max((p.depth for p in self.nested.values()), default=0)


def join_of(join: str | None, join_level) -> tuple[str | None, int]:
    """`join` (flat, inline, @none) and `joinLevel` (a positive integer, default 1), clause 4.5.23."""
    if join is not None and join not in ("flat", "inline", "@none"):
        raise BadRequestData(f"join must be flat, inline or @none, got {join!r}")
    level = 1
    if join_level is not None:
        text = str(join_level)
        if isinstance(join_level, bool) or not text.isdigit() or int(text) < 1:
            raise BadRequestData(f"joinLevel must be a positive integer, got {join_level!r}")
        level = int(text)
    return (None if join == "@none" else join), level


def _project(output: Output, projection: Projection | None, kind: str) -> None:
    """Put a parsed pick / omit on the output; braces need a join deep enough to reach them."""
    output.pick = output.omit = output.projection = None
    if projection is None:
        return
    setattr(output, kind, set(projection.kept))
    output.projection = projection
    if projection.nested:
        if output.join is None:
            raise BadRequestData(f"{kind} projects into linked entities, which needs join=inline or join=flat")
        if projection.depth - 1 > output.join_level:
            raise BadRequestData(f"{kind} reaches {projection.depth - 1} levels of linked entities, deeper than "
                                 f"joinLevel {output.join_level}")


ENTITY_MEMBERS = frozenset({"id", "type", "scope"})
# A projected name: an attribute name or IRI, never starting with a character of the grammar itself.
_PROJECTED = re.compile(r"[A-Za-z0-9_@][^\s,{}\[\];|()=<>\"'&?!]*")


def _projection(params: QueryParams, key: str, ctx) -> Projection | None:
    """`pick` / `omit` (v1.8 clause 4.21): entity members and attribute names, comma-separated, and
    `rel{a,b}` for the members of the entities a relationship links to (clause 4.5.23, with join)."""
    raw = params.get(key)
    return None if raw is None else parse_projection(raw, key, ctx)


def parse_projection(raw: str, key: str, ctx) -> Projection:
    """The text of a `pick` / `omit` (see _projection); BadRequestData when it is not one."""
    depth = 0
    for char in raw:
        depth += (char == "{") - (char == "}")
        if depth < 0:
            break
    if depth != 0:
        raise BadRequestData(f"{key} has unbalanced braces: {raw!r}")
    projection, end = _projection_list(raw, 0, key, ctx)
    if end != len(raw):
        raise BadRequestData(f"{key} is not a list of names: {raw!r}")
    return projection


def _projection_list(raw: str, at: int, key: str, ctx) -> tuple[Projection, int]:
    """names ("," name)* where name may be followed by "{" list "}"; returns where it stopped."""
    names: set[str] = set()
    nested: dict[str, Projection] = {}
    while True:
        end = at
        while end < len(raw) and raw[end] not in ",{}":
            end += 1
        name = raw[at:end].strip()
        if not _PROJECTED.fullmatch(name):
            raise BadRequestData(f"{key} needs attribute names, got {name!r} in {raw!r}")
        name = name if name in ENTITY_MEMBERS else ctx.expand_term(name)
        names.add(name)
        at = end
        if at < len(raw) and raw[at] == "{":
            if name in ENTITY_MEMBERS:
                raise BadRequestData(f"{key}: {name} links to no entity, in {raw!r}")
            nested[name], at = _projection_list(raw, at + 1, key, ctx)
            if at >= len(raw) or raw[at] != "}":
                raise BadRequestData(f"{key} has unbalanced braces: {raw!r}")
            at += 1
        if at < len(raw) and raw[at] == ",":
            at += 1
            continue
        return Projection(frozenset(names), nested, key), at


def type_selector(params: QueryParams, ctx):
    """The `type` of a retrieve (clause 5.7.1.4: the entity "whose id, and where specified type, is
    equivalent"): a type expression, or None when not given (or `*`)."""
    from toshi.query.typeexpr import parse_type_expr

    text = params.get("type")
    if text is None or text == "*":
        return None
    if not text.strip():
        raise BadRequestData("type must name an entity type")
    return parse_type_expr(text, ctx.expand_term)


def body_projection(data: dict, output: Output, ctx) -> None:
    """`pick` / `omit` of a Query body (a list or a comma-separated string), its `join` / `joinLevel`,
    its `lang` (the language filter, clause 4.15) and `datasetId`, unless the URL gave them."""
    if output.join is None and data.get("join") is not None:
        output.join, output.join_level = join_of(data["join"], data.get("joinLevel"))
    if output.lang is None and data.get("lang") is not None:
        output.lang = checked_lang(_string(data["lang"], "lang"))
    if output.dataset_ids is None and data.get("datasetId") is not None:
        output.dataset_ids = _dataset_ids(_comma_list(data["datasetId"], "datasetId"))
    for key in ("pick", "omit"):
        value = data.get(key)
        if value is None or getattr(output, key) is not None:
            continue
        value = _comma_list(value, key)
        if (output.omit if key == "pick" else output.pick) is not None:
            raise BadRequestData("pick and omit cannot be used together")
        _project(output, _projection(QueryParams({key: value}), key, ctx), key)


def _comma_list(value, key: str) -> str:
    """A Query member given as a list of names or a comma-separated string, as one string."""
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    if not isinstance(value, str):
        raise BadRequestData(f"{key} must be a list of names or a comma-separated string")
    return value


def check_geometry_property(output: Output, media: str) -> None:
    """geometryProperty only means something for a GeoJSON answer (clause 6.3.15)."""
    if output.geometry_property is not None and media != "application/geo+json":
        raise BadRequestData("geometryProperty needs Accept: application/geo+json")


def attribute_names(params: QueryParams, key: str, ctx) -> set[str] | None:
    """A comma-separated list of attribute names (expanded), e.g. `drop` / `keep` of a purge."""
    return _names(params, key, ctx)


def _names(params: QueryParams, key: str, ctx, keep: set[str] = frozenset()) -> set[str] | None:
    raw = params.get(key)
    if raw is None:
        return None
    names = [n.strip() for n in raw.split(",")]
    if not all(names):
        raise BadRequestData(f"Empty attribute name in {key}")
    return {n if n in keep else ctx.expand_term(n) for n in names}


def int_param(params: QueryParams, key: str, default: int, *, minimum: int = 0) -> int:
    raw = params.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestData(f"{key} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise BadRequestData(f"{key} must be at least {minimum}")
    return value


def bool_param(params: QueryParams, key: str) -> bool:
    raw = params.get(key)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise BadRequestData(f"{key} must be true or false, got {raw!r}")
    return raw == "true"


def paging(params: QueryParams, settings, *, count_option: bool = False) -> tuple[int, int, bool]:
    """limit, offset and count; `count_option`: `options=count` was given (Orion-LD's NGSI-v2-style
    spelling of count=true, which ngsildclient and FiLiP send)."""
    limit = int_param(params, "limit", settings.default_limit)
    offset = int_param(params, "offset", 0)
    count = bool_param(params, "count") or count_option
    if limit > settings.max_limit:
        raise TooManyResults(f"limit {limit} is over the maximum of {settings.max_limit}")
    if limit == 0 and not count:
        raise BadRequestData("limit=0 is only allowed together with count=true")
    return limit, offset, count


def entity_query(params: QueryParams, ctx, settings, *, require_filter: bool = True,
                 count_option: bool = False, linked: bool = False) -> EntityQuery:
    """An EntityQuery from GET /entities parameters (also used by the temporal and v2 layers);
    `linked`: q may hold linked-entity subqueries (for a query the store answers, which resolves them;
    not where q is evaluated on entities one by one: the live stream, the temporal API)."""
    from toshi.query.geo import parse_geoq
    from toshi.query.qparse import parse_q
    from toshi.query.scope import parse_scope_q
    from toshi.query.typeexpr import parse_type_expr

    limit, offset, count = paging(params, settings, count_option=count_option)
    bool_param(params, "local")  # true or false, else 400
    query = EntityQuery(limit=limit, offset=offset, count=count)
    if params.get("id"):
        query.ids = [_check_uri(i.strip()) for i in params["id"].split(",")]
    elif params.get("idPattern"):  # id takes precedence over idPattern
        query.id_pattern = params["idPattern"]
    every_type = params.get("type") == "*"  # all types; local is implied and cannot be false (6.4.3.2)
    if every_type and params.get("local") == "false":
        raise BadRequestData("type=* implies local=true; it cannot be combined with local=false")
    if params.get("type") and not every_type:
        query.types = parse_type_expr(params["type"], ctx.expand_term)
    if params.get("attrs"):
        query.attrs = _names(params, "attrs", ctx)
    if params.get("jsonKeys") is not None:
        _names(params, "jsonKeys", ctx)  # checked only: no trailing path is expanded (docs/ngsi-ld.md)
    if params.get("q"):
        query.q = parse_q(params["q"], ctx.expand_term, linked=linked)
        _check_linked_depth(query.q, params.get("join"), params.get("joinLevel"))
        if params.get("expandValues"):
            from toshi.query.qparse import expand_values

            query.q = expand_values(query.q, _names(params, "expandValues", ctx), ctx.expand_value)
    if params.get("scopeQ"):
        query.scope = parse_scope_q(params["scopeQ"])
    if any(params.get(k) for k in ("georel", "geometry", "coordinates")):
        query.geo = parse_geoq(params.get("georel", ""), params.get("geometry", ""),
                               params.get("coordinates", ""), params.get("geoproperty"), ctx.expand_term)
    if require_filter and not every_type:
        check_not_too_wide(query, params, "type, attrs, q, a geoquery")
    return query


def _check_linked_depth(q, join, join_level) -> None:
    """A q with linked-entity subqueries needs Linked Entity retrieval (join), at least as deep as they
    reach (v1.9 clause 5.7.2.4: else a "too deep" query, 400)."""
    from toshi.query.qtree import linked_depth

    depth = linked_depth(q)
    if depth == 0:
        return
    join, level = join_of(join, join_level)
    if join is None:
        raise BadRequestData("q has a linked-entity subquery (rel{...}), which needs join=inline or join=flat")
    if depth > level:
        raise BadRequestData(f"q's linked-entity subqueries reach {depth} relationships deep, deeper than "
                             f"joinLevel {level}")


def ordering_of(params: QueryParams, ctx):
    """The entity ordering (clause 4.23) the parameters ask for, or None."""
    from toshi.query.ordering import parse_ordering

    order_by = params.get("orderBy")
    if order_by is None:
        for name in ("collation", "orderFrom", "orderGeometry"):
            if params.get(name) is not None:
                raise BadRequestData(f"{name} is only used together with orderBy")
        return None
    return parse_ordering(order_by, ctx.expand_term, collation=params.get("collation"),
                          order_from=params.get("orderFrom"), order_geometry=params.get("orderGeometry"))


def body_ordering(data: dict, params: QueryParams, ctx):
    """The entity ordering of a POST query: its `ordering` member (OrderingParams, v1.9.1 5.2.23 and
    5.2.43: `orderBy` an array of 4.23 terms, `collation`, `coordinates`, `geometry`), unless the URL
    names `orderBy`, which wins as the URL's parameters do over the body's; or None."""
    ordering = data.get("ordering")
    if ordering is None or params.get("orderBy") is not None:
        return ordering_of(params, ctx)
    if not isinstance(ordering, dict):
        raise BadRequestData("ordering must be an OrderingParams object")
    terms = ordering.get("orderBy")
    if not isinstance(terms, list) or not terms or not all(isinstance(t, str) for t in terms):
        raise BadRequestData("ordering.orderBy must be a non-empty array of strings")
    coordinates = ordering.get("coordinates")
    if coordinates is not None and not isinstance(coordinates, list):
        raise BadRequestData("ordering.coordinates must be a JSON array")
    from toshi.query.ordering import parse_ordering

    return parse_ordering(",".join(terms), ctx.expand_term, collation=_optional_string(ordering, "collation"),
                          order_from=None if coordinates is None else orjson.dumps(coordinates).decode(),
                          order_geometry=_optional_string(ordering, "geometry"))


def _optional_string(data: dict, key: str) -> str | None:
    return None if data.get(key) is None else _string(data[key], f"ordering.{key}")


# System attributes (4.8, 4.22): attrs naming only these do not narrow a query (5.7.2.4 b); q cannot name them
SYSTEM_ATTRIBUTES = frozenset(f"https://uri.etsi.org/ngsi-ld/{name}"
                              for name in ("createdAt", "modifiedAt", "deletedAt", "expiresAt"))


def check_not_too_wide(query: EntityQuery, params: QueryParams, filters: str) -> None:
    """400 for a too wide query (v1.9.1 5.7.2.4, 5.7.4.4, 5.6.21.4, 5.14.4.4): none of a type selector,
    attrs with a non-system attribute, q, a geoquery or local scope (`local=true`); ids, an idPattern or
    a scopeQ alone are too wide. `filters` names the selections as the request gives them."""
    attrs = query.attrs - SYSTEM_ATTRIBUTES if query.attrs is not None else None
    if params.get("local") != "true" and not attrs and all(x is None for x in (query.types, query.q, query.geo)):
        raise BadRequestData(f"Too wide query: give at least one of {filters} or local=true")


def _check_uri(value: str) -> str:
    from toshi.formats.ngsild_parse import is_uri

    if not is_uri(value):
        raise BadRequestData(f"Not a valid URI: {value}")
    return value


def deletion_target(params: QueryParams) -> tuple[str | None, bool]:
    """`datasetId` (a URI) and `deleteAll` of an attribute deletion."""
    from toshi.formats.ngsild_parse import is_uri

    dataset_id = params.get("datasetId")
    if dataset_id is not None and not is_uri(dataset_id):
        raise BadRequestData(f"datasetId is not a URI: {dataset_id}")
    return dataset_id, bool_param(params, "deleteAll")


def query_from_body(data: dict, ctx, settings, params, *, count_option: bool = False,
                    linked: bool = False) -> EntityQuery:
    """An EntityQuery from a Query body (POST /entityOperations/query, the temporal one, entity maps);
    the URL gives paging and `local`; a too wide one is 400."""
    from toshi.query.geo import geoq_from_body
    from toshi.query.qparse import parse_q
    from toshi.query.scope import parse_scope_q

    limit, offset, count = paging(params, settings, count_option=count_option)
    bool_param(params, "local")  # true or false, else 400, as for GET /entities
    query = EntityQuery(limit=limit, offset=offset, count=count)
    if "joinLevel" in data and (type(data["joinLevel"]) is not int or data["joinLevel"] < 1):
        raise BadRequestData(f"joinLevel must be a positive integer, got {data['joinLevel']!r}")
    if data.get("entities") == []:
        raise BadRequestData("entities must not be an empty array")
    _selectors(data.get("entities"), ctx, query)
    if data.get("attrs") is not None:
        if not isinstance(data["attrs"], list) or not all(isinstance(a, str) and a for a in data["attrs"]):
            raise BadRequestData("attrs must be an array of attribute names")
        if not data["attrs"]:
            raise BadRequestData("attrs must not be an empty array")
        query.attrs = {ctx.expand_term(a) for a in data["attrs"]}
    if data.get("jsonKeys") is not None:
        _names(QueryParams({"jsonKeys": _comma_list(data["jsonKeys"], "jsonKeys")}), "jsonKeys", ctx)
    if data.get("q") is not None:
        query.q = parse_q(_string(data["q"], "q"), ctx.expand_term, linked=linked)
        join = params.get("join") if params.get("join") is not None else data.get("join")
        level = params.get("joinLevel") if params.get("join") is not None else data.get("joinLevel")
        _check_linked_depth(query.q, join, level)
    expand = _expand_values(data, params, ctx)
    if expand is not None and query.q is not None:
        from toshi.query.qparse import expand_values

        query.q = expand_values(query.q, expand, ctx.expand_value)
    if data.get("geoQ") is not None:
        if not isinstance(data["geoQ"], dict):
            raise BadRequestData("geoQ must be an object")
        query.geo = geoq_from_body(data["geoQ"], ctx.expand_term)
    if data.get("scopeQ") is not None:
        query.scope = parse_scope_q(_string(data["scopeQ"], "scopeQ"))
    typed = any("type" in s for s in data.get("entities") or ())  # `*` too: every type is a type selector
    if params.get("local") == "false" and any(s.get("type") == "*" for s in data.get("entities") or ()):
        raise BadRequestData("type * implies local=true; it cannot be combined with local=false (5.2.33)")
    if not typed:
        check_not_too_wide(query, params, "entities with a type, attrs, q, geoQ")
    return query


def _expand_values(data: dict, params, ctx) -> set[str] | None:
    """`expandValues` of a POST query (v1.9 Query member, a comma-separated string; a list of names is
    taken too), or the URL parameter of GET /entities given on the POST, which wins when both are."""
    raw = params.get("expandValues")
    if raw is None and data.get("expandValues") is not None:
        raw = _comma_list(data["expandValues"], "expandValues")
    return None if raw is None else _names(QueryParams({"expandValues": raw}), "expandValues", ctx)


def _selectors(selectors, ctx, query: EntityQuery) -> None:
    """Entity selectors of a Query: [{"id"|"idPattern", "type"}], alternatives (an entity matches one)."""
    from toshi.query.typeexpr import parse_type_expr

    if selectors is None:
        return
    if not isinstance(selectors, list) or not all(isinstance(s, dict) for s in selectors):
        raise BadRequestData("entities must be an array of EntitySelector objects")
    type_texts = {s.get("type") for s in selectors}
    if len(type_texts) > 1:
        _alternatives(selectors, ctx, query)
        return
    type_text = type_texts.pop() if type_texts else None
    if type_text is not None and type_text != "*":  # `*`: every type, as for GET /entities
        query.types = parse_type_expr(_string(type_text, "type"), ctx.expand_term)
    ids = [s["id"] for s in selectors if "id" in s]
    patterns = [_string(s["idPattern"], "idPattern") for s in selectors if "idPattern" in s and "id" not in s]
    if not all(isinstance(i, str) and _is_uri(i) for i in ids):
        raise BadRequestData("Entity selector ids must be URIs")
    if any("id" not in s and "idPattern" not in s for s in selectors):
        return  # a selector of the type alone: any id
    if ids and patterns:  # selectors are alternatives: the ids become anchored patterns
        patterns += [f"^{re.escape(i)}$" for i in ids]
    elif ids:
        query.ids = ids
    if patterns:
        query.id_pattern = "|".join(f"(?:{p})" for p in patterns)


def _alternatives(selectors: list[dict], ctx, query: EntityQuery) -> None:
    """Selectors of different types: each is read alone (its id or idPattern, and its type), and an
    entity matches when it matches one of them; the union of their types narrows the candidates."""
    from toshi.query.typeexpr import AnyOf

    each = [EntityQuery() for _ in selectors]
    for selector, alone in zip(selectors, each):
        _selectors([selector], ctx, alone)
    if all(alone.types is not None for alone in each):
        query.types = AnyOf(tuple(alone.types for alone in each))
    query.extra.append(lambda entity: any(alone.matches(entity) for alone in each))


def _string(value, name: str) -> str:
    if not isinstance(value, str):
        raise BadRequestData(f"{name} must be a string")
    return value


def _is_uri(value: str) -> bool:
    from toshi.formats.ngsild_parse import is_uri

    return is_uri(value)
