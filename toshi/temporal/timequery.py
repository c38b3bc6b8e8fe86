"""The temporal query (clause 4.11 and 5.7.3): `timerel`, `timeAt`, `endTimeAt`, `timeproperty`, `lastN`.

`before` selects instances whose time property is < timeAt, `after` those >= timeAt, `between` those in
[timeAt, endTimeAt). Without `timerel` the whole history is selected. Instances that lack the time
property (e.g. no `observedAt`) are never selected by a query on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from toshi.core.errors import BadRequestData
from toshi.core.times import to_ms, utc_datetime

# NGSI-LD time property -> history column.
TIME_COLUMNS = {"observedAt": "observed_at", "createdAt": "created_at", "modifiedAt": "modified_at",
                "deletedAt": "deleted_at"}
TIMERELS = ("before", "after", "between")


@dataclass(frozen=True)
class TimeQuery:
    timerel: str | None = None
    time_at: int | None = None       # milliseconds since the epoch
    end_time_at: int | None = None
    timeproperty: str = "observedAt"
    last_n: int | None = None

    @property
    def column(self) -> str:
        return TIME_COLUMNS[self.timeproperty]

    def bounds(self) -> tuple[int | None, int | None]:
        """(lowest time included, first time excluded); None is unbounded."""
        if self.timerel == "before":
            return None, self.time_at
        if self.timerel == "after":
            return self.time_at, None
        if self.timerel == "between":
            return self.time_at, self.end_time_at
        return None, None


def parse_time_query(values: Mapping[str, Any]) -> TimeQuery:
    """From URL parameters or a Query's `temporalQ` (`time`/`endTime` are accepted as older names)."""
    timerel = _text(values, "timerel")
    time_at = _time(values, "timeAt", "time")
    end_time_at = _time(values, "endTimeAt", "endTime")
    if timerel is None:
        if time_at is not None:
            raise BadRequestData("timeAt needs timerel (before, after or between)")
    else:
        if timerel not in TIMERELS:
            raise BadRequestData(f"timerel must be before, after or between, got {timerel!r}")
        if time_at is None:
            raise BadRequestData(f"timerel={timerel} needs timeAt")
        if timerel == "between":
            if end_time_at is None:
                raise BadRequestData("timerel=between needs endTimeAt")
            if end_time_at <= time_at:
                raise BadRequestData("endTimeAt must be later than timeAt")
    timeproperty = _text(values, "timeproperty") or "observedAt"
    if timeproperty not in TIME_COLUMNS:
        raise BadRequestData(f"timeproperty must be one of {', '.join(TIME_COLUMNS)}, got {timeproperty!r}")
    return TimeQuery(timerel, time_at if timerel else None, end_time_at if timerel == "between" else None,
                     timeproperty, _last_n(values))


def _text(values: Mapping[str, Any], key: str) -> str | None:
    value = values.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequestData(f"{key} must be a non-empty string")
    return value


def _time(values: Mapping[str, Any], key: str, old_key: str) -> int | None:
    name = key if values.get(key) is not None else old_key
    text = _text(values, name)
    return None if text is None else to_ms(utc_datetime(text, name))


def _last_n(values: Mapping[str, Any]) -> int | None:
    raw = values.get("lastN")
    if raw is None:
        return None
    try:
        last_n = int(raw)
    except (TypeError, ValueError):
        raise BadRequestData(f"lastN must be a positive integer, got {raw!r}") from None
    if last_n < 1 or isinstance(raw, (bool, float)):
        raise BadRequestData(f"lastN must be a positive integer, got {raw!r}")
    return last_n
