"""The aggregated temporal representation (clause 4.5.19): `aggrMethods` and `aggrPeriodDuration`.

Values are aggregated per period of `aggrPeriodDuration` (an ISO 8601 duration; `PT0S`, `P0D` or none:
one period spanning the whole range). Numbers are aggregated as numbers, booleans as 0/1; strings count
(`totalCount`, `distinctCount`) and have a lexicographic `min`/`max`; other values only count. A method
that does not apply to the values of a period gives null. `stddev` is the sample standard deviation
(null for fewer than two values).

This module knows the methods and durations and the SQL expressions over the history columns `num`
(number or boolean value) and `str` (string value); `history` runs them.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from toshi.core.errors import BadRequestData, TooComplexQuery
from toshi.temporal.times import EPOCH

METHODS = ("totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq")
MAX_CALENDAR_PERIODS = 10_000

_DURATION = re.compile(
    r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d{1,3})?)S)?)?")
_DAY_MS = 86_400_000

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
class Duration:
    months: int = 0
    ms: int = 0

    @property
    def whole(self) -> bool:
        """Zero: one period over the whole range."""
        return self.months == 0 and self.ms == 0

    def after(self, start: int, times: int = 1) -> int:
        """The instant `times` durations after `start` (milliseconds; months are calendar months)."""
        return add_months(start, self.months * times) + self.ms * times


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


def parse_duration(text: Any) -> Duration:
    """ISO 8601 duration P[n]Y[n]M[n]W[n]DT[n]H[n]M[n]S (integers; seconds to the millisecond)."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise BadRequestData(f"aggrPeriodDuration must be an ISO 8601 duration such as PT1H or P1D, got {text!r}")
    years, months, weeks, days, hours, minutes, seconds = match.groups()
    ms = (int(weeks or 0) * 7 + int(days or 0)) * _DAY_MS + (int(hours or 0) * 60 + int(minutes or 0)) * 60_000
    ms += round(float((seconds or "0").replace(",", ".")) * 1000)
    return Duration(int(years or 0) * 12 + int(months or 0), ms)


def add_months(ms: int, months: int) -> int:
    """`ms` moved by whole calendar months (the day is clipped to the end of a shorter month)."""
    if months == 0:
        return ms
    moment = EPOCH + timedelta(milliseconds=ms)
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    moved = moment.replace(year=year, month=month + 1, day=day)
    return (moved - EPOCH) // timedelta(milliseconds=1)


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
