"""Generalisation of quasi-identifiers: each value is coarsened to a group many residents share.

    month          an ISO 8601 date or date-time -> "2026-04"
    year           -> "2026"
    grid:<degrees> a GeoJSON Point -> the south-west corner of its grid cell, "34.80,135.45" (grid:0.05)
    band:<width>   a number -> the band it falls in, "40-50" meaning 40 <= value < 50
    exact          the value as it is (e.g. a district's name: already a group)

A value that cannot be generalised so (missing, wrong type) is None: the record is left out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

_DATE = re.compile(r"(\d{4})-(\d{2})(-\d{2}([T ].*)?)?")
Rule = Callable[[object], str | None]


def rule_of(spec: object) -> Rule:
    """The generaliser a spec string names (ValueError when it names none)."""
    if not isinstance(spec, str):
        raise ValueError("a generalisation is a string: month, year, grid:<degrees>, band:<width> or exact")
    kind, _, arg = spec.partition(":")
    if kind in ("month", "year", "exact") and not arg:
        return {"month": _month, "year": _year, "exact": _exact}[kind]
    if kind in ("grid", "band"):
        try:
            size = Decimal(arg)
        except InvalidOperation:
            size = Decimal(0)
        if not size.is_finite() or size <= 0:
            raise ValueError(f"{spec!r}: {kind} needs a positive size, e.g. {kind}:{'0.01' if kind == 'grid' else '10'}")
        return _grid(size) if kind == "grid" else _band(size)
    raise ValueError(f"unknown generalisation {spec!r} (month, year, grid:<degrees>, band:<width>, exact)")


def _date(value: object) -> re.Match | None:
    return _DATE.fullmatch(value) if isinstance(value, str) else None


def _month(value: object) -> str | None:
    found = _date(value)
    return f"{found.group(1)}-{found.group(2)}" if found and 1 <= int(found.group(2)) <= 12 else None


def _year(value: object) -> str | None:
    found = _date(value)
    return found.group(1) if found else None


def _exact(value: object) -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _floor(value: float, size: Decimal) -> Decimal:
    return Decimal(math.floor(Decimal(repr(value)) / size)) * size


def _grid(size: Decimal) -> Rule:
    def cell(value: object) -> str | None:
        if not isinstance(value, dict) or value.get("type") != "Point":
            return None
        coordinates = value.get("coordinates")
        if not isinstance(coordinates, list) or len(coordinates) < 2 \
                or not all(_number(c) for c in coordinates[:2]):
            return None
        lon, lat = coordinates[0], coordinates[1]
        return f"{_floor(lat, size)},{_floor(lon, size)}"
    return cell


def _band(size: Decimal) -> Rule:
    def band(value: object) -> str | None:
        if not _number(value):
            return None
        low = _floor(value, size)
        return f"{low.normalize():f}-{(low + size).normalize():f}"
    return band


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
