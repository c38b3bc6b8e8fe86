"""What a dataset selects, as the store's query: its type, and a saved query's q and geo-query."""

from __future__ import annotations

from toshi.catalogue.datasets import Dataset
from toshi.core.errors import NgsiError
from toshi.jsonld.context import core_context
from toshi.query.geo import parse_geoq
from toshi.query.planner import EntityQuery
from toshi.query.qparse import parse_q
from toshi.query.typeexpr import parse_type_expr


def expand(name: str) -> str:
    return core_context().expand_term(name)


def query_of(dataset: Dataset, *, limit: int = 1000, offset: int = 0) -> EntityQuery:
    """The dataset's entities as an EntityQuery (ValueError when its q or geo-query is malformed)."""
    ctx = core_context()
    query = EntityQuery(limit=limit, offset=offset)
    try:
        query.types = parse_type_expr(dataset.type, ctx.expand_term)
        if dataset.q:
            query.q = parse_q(dataset.q, ctx.expand_term)
        if dataset.georel or dataset.geometry or dataset.coordinates:
            query.geo = parse_geoq(dataset.georel, dataset.geometry, dataset.coordinates, None, ctx.expand_term)
    except NgsiError as exc:
        raise ValueError(exc.detail) from None
    return query
