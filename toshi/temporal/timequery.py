"""The temporal query (clause 4.11 and 5.7.3): `timerel`, `timeAt`, `endTimeAt`, `timeproperty`, `lastN`.

`before` selects instances whose time property is < timeAt, `after` those >= timeAt, `between` those in
[timeAt, endTimeAt). Without `timerel` the whole history is selected. Instances that lack the time
property (e.g. no `observedAt`) are never selected by a query on it.

Times are compared as instants (milliseconds) but returned as the client wrote them: `timeAt` and
`endTimeAt` keep their text, and an instant computed from one of them (an aggregation period bound) is
written in its style (`written_like`): the same number of fraction digits and the same UTC offset.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from toshi.core.errors import BadRequestData
from toshi.core.times import EPOCH, to_ms, utc_datetime

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
    time_at_text: str | None = None  # as the client wrote them
    end_time_at_text: str | None = None

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

    def written_bounds(self) -> tuple[str | None, str | None]:
        """bounds() as the client wrote them."""
        if self.timerel == "before":
            return None, self.time_at_text
        if self.timerel == "after":
            return self.time_at_text, None
        if self.timerel == "between":
            return self.time_at_text, self.end_time_at_text
        return None, None


def parse_time_query(values: Mapping[str, Any]) -> TimeQuery:
    """From URL parameters or a Query's `temporalQ` (`time`/`endTime` are accepted as older names)."""
    timerel = _text(values, "timerel")
    time_at_text = _written(values, "timeAt", "time")
    end_time_at_text = _written(values, "endTimeAt", "endTime")
    time_at = _time(time_at_text, "timeAt")
    end_time_at = _time(end_time_at_text, "endTimeAt")
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
    between = timerel == "between"
    return TimeQuery(timerel, time_at if timerel else None, end_time_at if between else None,
                     timeproperty, _last_n(values), time_at_text if timerel else None,
                     end_time_at_text if between else None)


def _text(values: Mapping[str, Any], key: str) -> str | None:
    value = values.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequestData(f"{key} must be a non-empty string")
    return value


def _written(values: Mapping[str, Any], key: str, old_key: str) -> str | None:
    return _text(values, key if values.get(key) is not None else old_key)


def _time(text: str | None, name: str) -> int | None:
    return None if text is None else to_ms(utc_datetime(text, name))


_STYLE = re.compile(r".*T\d{2}:\d{2}(?::\d{2}(?:[.,](\d+))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?")


def written_like(ms: int, example: str) -> str:
    """The instant `ms` written as `example` (a DateTime a client wrote) is: as many fraction digits
    (none when it had none and `ms` is a whole second) and the same UTC offset."""
    fraction, offset = _STYLE.fullmatch(example).groups()
    zone = offset if offset and offset not in ("Z", "z") else "Z"
    minutes = 0
    if zone != "Z":
        digits = zone[1:].replace(":", "")
        minutes = (-1 if zone[0] == "-" else 1) * (int(digits[:2]) * 60 + int(digits[2:] or 0))
    moment = EPOCH + timedelta(milliseconds=ms, minutes=minutes)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    millis = ms % 1000
    digits = f"{millis:03d}".ljust(len(fraction or ""), "0")
    places = len(fraction or "")
    if places < 3 and digits[places:].strip("0"):
        places = 3  # fewer digits than the instant needs
    return text + ("." + digits[:places] if places else "") + zone


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
