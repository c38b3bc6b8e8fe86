"""Turns an EntityQuery into PostgreSQL SQL: which index drives the scan, and what is left for Python.

The same drivers as the SQLite plan (toshi/store/sqlite_plan.py), in creation order (rowid): a
selective value-index term, one entity type, explicit ids, else the tenant's entities. Value-index
terms, entity types and geometry bounding boxes (a GiST index on PostgreSQL's own `box` type) are
conditions in SQL; idPattern, `attrs`, the rest of `q` and exact geometry are checked in Python on
the rows SQL returns (`residual`).
"""

from __future__ import annotations

from dataclasses import dataclass

from toshi.query.planner import EntityQuery
from toshi.query.regex import compile_pattern
from toshi.store.sqlite_plan import MAX_PROBES, SELECTIVE_ROWS, SqlPlan, remembered_count
from toshi.store.valueindex import IndexTerm, index_terms

EXACT_FLOAT = 2**53  # integers beyond this do not survive a double precision column exactly
# attr_values.str keeps the first KEPT characters of a string (at most 1 KiB of UTF-8): a B-tree entry
# holds at most 2704 bytes. A string shorter than KEPT compares with them as with the whole string; a
# longer one only narrows the rows, and q is checked in Python. Rows written before this limit hold the
# whole string, which every condition below also accepts.
KEPT = 256


@dataclass
class PgPlan(SqlPlan):
    id_pattern: object = None  # compiled idPattern, checked in Python

    def matches_residual(self, query: EntityQuery, entity: dict) -> bool:
        if self.id_pattern is not None and self.id_pattern.search(entity["id"]) is None:
            return False
        return query.matches_residual(entity, **self.residual)


def plan_query(db, tenant: str, query: EntityQuery) -> PgPlan:
    plan = PgPlan()
    terms, q_exact = index_terms(query.q) if query.q is not None else ([], False)
    sql_terms = [(term, _sql(term)) for term in terms]
    if any(sql is None for _, sql in sql_terms) or not all(map(_exact, terms)):
        q_exact = False
    sql_terms = [(term, sql) for term, sql in sql_terms if sql is not None]
    driver = _selective_term(db, tenant, sql_terms)
    type_names = query.types.simple_names() if query.types is not None else None
    if driver is not None:  # its few entities first: PostgreSQL misjudges how few, and would scan in rowid order
        rows = db.run(f"SELECT DISTINCT v.entity FROM attr_values v WHERE v.tenant = %s AND v.attr = %s AND {driver[1][0]}",
                      (tenant, driver[0].attr, *driver[1][1])).fetchall()
        plan.add("e.rowid = ANY(%s)", [r[0] for r in rows])
        plan.add("e.tenant = %s", tenant)
    elif type_names is not None and len(type_names) == 1 and query.ids is None:
        plan.source = "entity_types t JOIN entities e ON e.rowid = t.entity"
        plan.order = "t.entity"
        plan.add("t.tenant = %s AND t.type = %s", tenant, type_names[0])
    else:
        plan.add("e.tenant = %s", tenant)
    if query.ids is not None:
        plan.add("e.id = ANY(%s)", list(query.ids))
    if query.id_pattern is not None:
        plan.id_pattern = compile_pattern(query.id_pattern)  # raises BadRequestData before SQL runs
    if query.types is not None and not plan.source.startswith("entity_types"):
        if type_names is None:
            plan.residual["types"] = True
        else:
            plan.add("EXISTS (SELECT 1 FROM entity_types y WHERE y.entity = e.rowid AND y.tenant = %s "
                     "AND y.type = ANY(%s))", tenant, type_names)
    plan.residual["attrs"] = query.attrs is not None
    for term, (sql, params) in sql_terms:
        if driver is None or term is not driver[0]:
            plan.add(f"EXISTS (SELECT 1 FROM attr_values v WHERE v.entity = e.rowid AND v.attr = %s AND {sql})",
                     term.attr, *params)
    plan.residual["q"] = query.q is not None and not q_exact
    if query.geo is not None:
        _add_geo(plan, query.geo)
    plan.needs_python = bool(any(plan.residual.values()) or plan.id_pattern or query.geo or query.scope
                             or query.extra)
    return plan


def _sql(term: IndexTerm) -> tuple[str, list] | None:
    """A value-index term over the typed columns `num` / `str` (None: not exactly expressible); true for
    every matching row, and only for them unless a string is long (_exact)."""
    values = list(term.params)
    if any(type(v) is int and abs(v) > EXACT_FLOAT for v in values):
        return None
    column = lambda v: "num" if type(v) in (int, float) else "str"  # noqa: E731
    if term.op == "in":
        parts, params = [], []
        for v in values:
            if _long(v):  # its kept prefix, or the whole string (a row written before KEPT)
                parts.append("v.str IN (%s, %s)")
                params += [v[:KEPT], v]
            else:
                parts.append(f"v.{column(v)} = %s")
                params.append(v)
        return "(" + " OR ".join(parts) + ")", params
    if term.op == "range":
        col = column(values[0])
        return f"v.{col} >= %s AND v.{col} <= %s", [_lower_bound(values[0]), values[1]]
    op, value = term.op, values[0]
    if op in (">", ">=") and _long(value):
        op, value = ">=", _lower_bound(value)
    return f"v.{column(value)} {op} %s", [value]  # a kept prefix is below its string: upper bounds hold


def _long(value) -> bool:
    return isinstance(value, str) and len(value) >= KEPT


def _lower_bound(value):
    """A bound for the kept prefixes of the strings at least `value` (s >= x gives s[:KEPT] >= x[:KEPT])."""
    return value[:KEPT] if _long(value) else value


def _exact(term: IndexTerm) -> bool:
    return not any(map(_long, term.params))


def _selective_term(db, tenant: str, terms: list) -> tuple | None:
    best, best_rows = None, SELECTIVE_ROWS
    for term, sql in terms[:MAX_PROBES]:
        rows = _matching_rows(db, tenant, term, sql)
        if rows < best_rows:
            best, best_rows = (term, sql), rows
    return best


def _matching_rows(db, tenant: str, term: IndexTerm, sql: tuple[str, list]) -> int:
    return remembered_count((id(db), tenant, term.attr, sql[0], tuple(sql[1])), lambda: db.run(
        f"SELECT count(*) FROM (SELECT 1 FROM attr_values v WHERE v.tenant = %s AND v.attr = %s AND {sql[0]} "
        "LIMIT %s) found", (tenant, term.attr, *sql[1], SELECTIVE_ROWS)).fetchone()[0])


def _add_geo(plan: PgPlan, geo) -> None:
    box = geo.search_bbox()
    if box is None:
        return
    condition = "e.rowid IN (SELECT entity FROM geo_boxes WHERE box && box(point(%s, %s), point(%s, %s))"
    params = [box[0], box[1], box[2], box[3]]
    if geo.geoproperty is not None:
        condition += " AND attr = %s"
        params.append(geo.geoproperty)
    plan.add(condition + ")", *params)
