"""Turns an EntityQuery into SQLite SQL: which index drives the scan, and what is left for Python.

Results come in creation order (rowid). The driver is chosen so SQLite can stop after one page:
- a selective value-index term (few matching values): its few rows, already in rowid order;
- one entity type: the (tenant, type, entity) index, in entity order;
- explicit ids: the (tenant, id) index;
- otherwise a rowid-ordered scan of the tenant's entities.
Everything else becomes conditions on the driven rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from toshi.query.planner import EntityQuery
from toshi.query.regex import compile_pattern
from toshi.store.q_sql import to_sqlite
from toshi.store.valueindex import IndexTerm, index_terms

GEO_SLOTS = 64          # R*Tree ids are entity rowid * GEO_SLOTS + n
SELECTIVE_ROWS = 5000   # a value-index term matching fewer rows than this drives the scan
MAX_PROBES = 3          # value-index terms whose selectivity is probed per query
ROW_COUNT_SECONDS = 2.0  # how long a probed count is reused
ROW_COUNTS_KEPT = 10_000
_row_counts: dict[tuple, tuple[int, float]] = {}  # (db, tenant, attr, sql, params) -> (rows, until)


@dataclass
class SqlPlan:
    source: str = "entities e"
    order: str = "e.rowid"  # the driver's column that equals e.rowid, so SQLite needs no sort
    where: list[str] = field(default_factory=list)
    params: list = field(default_factory=list)
    residual: dict = field(default_factory=lambda: {"types": False, "attrs": False, "q": False})
    needs_python: bool = False

    def add(self, condition: str, *params) -> None:
        self.where.append(condition)
        self.params.extend(params)

    @property
    def sql_where(self) -> str:
        return " AND ".join(self.where)


def plan_query(db, tenant: str, query: EntityQuery) -> SqlPlan:
    plan = SqlPlan()
    terms, q_exact = index_terms(query.q) if query.q is not None else ([], False)
    driver = _selective_term(db, tenant, terms)
    type_names = query.types.simple_names() if query.types is not None else None
    if driver is not None:
        plan.add(f"e.rowid IN (SELECT entity FROM attr_values WHERE tenant = ? AND attr = ? AND {driver.sql})",
                 tenant, driver.attr, *driver.params)
        plan.add("+e.tenant = ?", tenant)
    elif type_names is not None and len(type_names) == 1 and query.ids is None:
        plan.source = "entity_types t CROSS JOIN entities e ON e.rowid = t.entity"
        plan.order = "t.entity"
        plan.add("t.tenant = ? AND t.type = ?", tenant, type_names[0])
    elif query.ids is not None:
        plan.add("e.tenant = ?", tenant)
    else:
        plan.add("+e.tenant = ?", tenant)
    _add_filters(plan, tenant, query, terms, driver, type_names)
    if query.q is not None and not q_exact:
        _add_q(plan, query.q)
    if query.geo is not None:
        _add_geo(plan, query.geo)
    plan.needs_python = bool(any(plan.residual.values()) or query.geo or query.scope or query.extra)
    return plan


def _selective_term(db, tenant: str, terms: list[IndexTerm]) -> IndexTerm | None:
    best, best_rows = None, SELECTIVE_ROWS
    for term in terms[:MAX_PROBES]:
        rows = _matching_rows(db, tenant, term)
        if rows < best_rows:
            best, best_rows = term, rows
    return best


def _matching_rows(db, tenant: str, term: IndexTerm) -> int:
    """How many index rows a term matches (up to SELECTIVE_ROWS), remembered for a few seconds: the
    count only chooses the plan (every plan gives the exact answer), and counting a broad term costs
    as much as the page itself."""
    return remembered_count((id(db), tenant, term.attr, term.sql, tuple(term.params)), lambda: db.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM attr_values WHERE tenant = ? AND attr = ? AND {term.sql} "
        "LIMIT ?)", (tenant, term.attr, *term.params, SELECTIVE_ROWS)).fetchone()[0])


def remembered_count(key: tuple, count: Callable[[], int]) -> int:
    """count(), or what it gave for `key` less than ROW_COUNT_SECONDS ago."""
    now = time.monotonic()
    known = _row_counts.get(key)
    if known is not None and known[1] > now:
        return known[0]
    rows = count()
    if len(_row_counts) >= ROW_COUNTS_KEPT:
        _row_counts.clear()
    _row_counts[key] = (rows, now + ROW_COUNT_SECONDS)
    return rows


def _add_filters(plan: SqlPlan, tenant: str, query: EntityQuery, terms: list[IndexTerm],
                 driver: IndexTerm | None, type_names: list[str] | None) -> None:
    if query.ids is not None:
        plan.add(f"e.id IN ({','.join('?' * len(query.ids))})", *query.ids)
    if query.id_pattern is not None:
        compile_pattern(query.id_pattern)  # raise BadRequestData before SQL runs
        plan.add("regexp(?, e.id)", query.id_pattern)
    if query.types is not None and not plan.source.startswith("entity_types"):
        if type_names is None:
            plan.residual["types"] = True
        else:
            marks = ",".join("?" * len(type_names))
            plan.add(f"EXISTS (SELECT 1 FROM entity_types y WHERE y.entity = e.rowid AND y.tenant = ? "
                     f"AND y.type IN ({marks}))", tenant, *type_names)
    if query.attrs is not None:
        names = sorted(query.attrs)
        plan.add("(" + " OR ".join(["json_type(e.doc, ?) IS NOT NULL"] * len(names)) + ")",
                 *(_json_path("attrs", name) for name in names))
    for term in terms:
        if term is not driver:
            plan.add(f"EXISTS (SELECT 1 FROM attr_values v WHERE v.entity = e.rowid AND v.attr = ? AND {term.sql})",
                     term.attr, *term.params)


def _add_q(plan: SqlPlan, q) -> None:
    translated = to_sqlite(q, regexp="regexp")
    if translated is None:
        plan.residual["q"] = True
    else:
        plan.add(translated[0], *translated[1])  # refers to the `doc` column of `entities e`


def _add_geo(plan: SqlPlan, geo) -> None:
    box = geo.search_bbox()
    if box is None:
        return
    if geo.geoproperty is None:  # any GeoProperty attribute (the NGSI-v2 entity location)
        plan.add(f"e.rowid IN (SELECT id / {GEO_SLOTS} FROM geo_index WHERE minx <= ? AND maxx >= ? "
                 "AND miny <= ? AND maxy >= ?)", box[2], box[0], box[3], box[1])
    else:
        plan.add(f"e.rowid IN (SELECT id / {GEO_SLOTS} FROM geo_index WHERE minx <= ? AND maxx >= ? "
                 "AND miny <= ? AND maxy >= ? AND attr = ?)", box[2], box[0], box[3], box[1], geo.geoproperty)


def _json_path(*keys: str) -> str:
    return "$" + "".join('."' + k.replace('"', '\\"') + '"' for k in keys)
