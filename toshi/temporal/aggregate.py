"""The aggregated temporal representation (clause 4.5.19): `aggrMethods` and `aggrPeriodDuration`.

Values are aggregated per period of `aggrPeriodDuration` (an ISO 8601 duration; `PT0S`, `P0D` or none:
one period spanning the whole range). Numbers are aggregated as numbers, booleans as 0/1; strings count
(`totalCount`, `distinctCount`) and have a lexicographic `min`/`max`; other values only count. A method
that does not apply to the values of a period gives null. `stddev` is the sample standard deviation
(null for fewer than two values).

This module knows the methods (durations are toshi.core.times') and the SQL expressions over the history columns `num`
(number or boolean value) and `str` (string value); `history` runs them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from toshi.core.errors import BadRequestData, TooComplexQuery
from toshi.core.times import Duration, parse_duration

METHODS = ("totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq")
MAX_CALENDAR_PERIODS = 10_000

# Per period, always selected in this order (rows of `history.aggregate` follow it).
SELECT = ("count(*)", "count(num)", "sum(num)", "avg(num)", "min(num)", "max(num)", "sum(num * num)")
# A member of the instance JSON: SQLite's JSON1, PostgreSQL's jsonb (there as text).
_JSON_MEMBER = {"sqlite": "json_extract(instance, '$.{}')", "postgresql": "(instance::jsonb ->> '{}')"}
_VALUE_MEMBERS = ("value", "languageMap", "valueList", "objectList", "json")


def distinct_count(dialect: str = "sqlite") -> str:
    """The number of distinct values per period: numbers (booleans as 0/1), then, of the rows without
    one, strings, else the JSON of the value member. Counted apart, as numbers never equal text
    (PostgreSQL's coalesce would not mix them)."""
    members = ", ".join(_JSON_MEMBER[dialect].format(name) for name in _VALUE_MEMBERS)
    return f"count(DISTINCT num) + count(DISTINCT CASE WHEN num IS NULL THEN coalesce(str, {members}) END)"


@dataclass(frozen=True)
class Aggregation:
    methods: tuple[str, ...]
    period: Duration


@dataclass
class Bucket:
    start: int          # milliseconds, included
    end: int            # milliseconds
    values: dict[str, Any]


def parse_aggregation(methods: Any, period: Any) -> Aggregation:
    """`aggrMethods` (comma-separated text or a list) and `aggrPeriodDuration` (text or None)."""
    if methods is None or methods == "" or methods == []:
        raise BadRequestData("options=aggregatedValues needs aggrMethods")
    names = methods.split(",") if isinstance(methods, str) else methods
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise BadRequestData("aggrMethods must be a list of method names")
    names = [n.strip() for n in names]
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise BadRequestData(f"Unknown aggrMethods: {', '.join(unknown)}; use {', '.join(METHODS)}")
    return Aggregation(tuple(dict.fromkeys(names)), parse_duration(period) if period is not None else Duration())


def calendar_edges(start: int, end: int, period: Duration) -> list[int]:
    """Period boundaries from `start` until past `end`, for durations with months or years."""
    edges = [start]
    while edges[-1] <= end:
        if len(edges) > MAX_CALENDAR_PERIODS:
            raise TooComplexQuery(f"More than {MAX_CALENDAR_PERIODS} aggregation periods")
        edges.append(period.after(start, len(edges)))
    return edges


def results(methods: tuple[str, ...], row: tuple, strings: tuple | None, distinct: int | None,
            spread: float | None) -> dict[str, Any]:
    """Method -> value for one period, from a row of SELECT, the (min, max) of its strings, the distinct
    count and the sum of squared deviations from the mean (each None when not computed)."""
    total, numbers, total_sum, mean, low, high, squares = row
    values: dict[str, Any] = {}
    for method in methods:
        if method == "totalCount":
            values[method] = total
        elif method == "distinctCount":
            values[method] = distinct
        elif method == "sum":
            values[method] = total_sum
        elif method == "avg":
            values[method] = mean
        elif method == "min":
            values[method] = low if numbers else (strings[0] if strings else None)
        elif method == "max":
            values[method] = high if numbers else (strings[1] if strings else None)
        elif method == "sumsq":
            values[method] = squares
        else:
            values[method] = math.sqrt(spread / (numbers - 1)) if numbers > 1 and spread is not None else None
    return values
