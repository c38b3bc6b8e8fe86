"""ISO 8601 times: the one place that reads, writes and compares them.

System times are UTC with milliseconds (`2026-11-24T09:00:00.123Z`); times a client wrote (observedAt)
are kept as written (`written_datetime`) and compare by instant key, never as strings; the
history stores integer milliseconds since the epoch; queries compare instant keys (sortable UTC text
with 9 fraction digits, which the SQL of the q language computes the same way).

Two readings of a time are kept apart on purpose: `utc_datetime` holds a request to NGSI-LD's DateTime
grammar (BadRequestData naming the field), `normalize_instant` takes whatever Python reads as a time
(ValueError), for stored records and settings.
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from toshi.core.errors import BadRequestData

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_DAY_MS = 86_400_000


# ---------------------------------------------------------------------------------------------------
# Now

_second: list = [-1, ""]  # the last whole second formatted, reused within that second


def now_iso() -> str:
    """Current UTC time as ISO 8601 with milliseconds, e.g. 2026-11-24T09:00:00.123Z."""
    now = time.time()
    whole = int(now)
    if whole != _second[0]:
        _second[:] = [whole, utc_seconds(whole)]
    return f"{_second[1]}.{int((now - whole) * 1000):03d}Z"


def in_seconds(seconds: float) -> str:
    """The time `seconds` from now."""
    return format_instant(datetime.now(UTC) + timedelta(seconds=seconds))


# ---------------------------------------------------------------------------------------------------
# Reading and writing

_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?"
)


def utc_datetime(value: Any, what: str) -> str:
    """An ISO 8601 DateTime -> UTC `YYYY-MM-DDTHH:MM:SS.mmmZ` (no offset means UTC); BadRequestData
    naming `what` otherwise."""
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        raise BadRequestData(f"{what} must be an ISO 8601 DateTime, got {_shown(value)}")
    return _normalized_datetime(value, what)


@lru_cache(maxsize=4096)
def _normalized_datetime(value: str, what: str) -> str:
    match = _DATETIME.fullmatch(value)
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    millis = int((fraction or "0")[:3].ljust(3, "0"))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                          millis * 1000, tzinfo=UTC)
    except ValueError as exc:
        raise BadRequestData(f"{what} is not a valid DateTime: {value!r} ({exc})") from None
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
            f"{moment.second:02d}.{moment.microsecond // 1000:03d}Z")


def written_datetime(value: Any, what: str) -> str:
    """A client's DateTime, checked as utc_datetime does, kept as written when instant_key reads it (so
    it is returned as sent and still compares by instant); other accepted spellings in UTC form."""
    normal = utc_datetime(value, what)
    return value if instant_key(value) is not None else normal


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_instant(value: str) -> datetime:
    """Any ISO 8601 time Python reads (a Date too); one without a zone is taken as UTC. ValueError when
    it is not a time."""
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"not an ISO 8601 time: {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_instant(moment: datetime) -> str:
    """An aware datetime -> UTC `YYYY-MM-DDTHH:MM:SS.mmmZ`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def normalize_instant(value: str) -> str:
    """parse_instant, then format_instant."""
    return format_instant(parse_instant(value))


def utc_seconds(epoch: float) -> str:
    """Seconds since the epoch -> UTC `YYYY-MM-DDTHH:MM:SS` (the whole second, no zone)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


def local_time(timestamp: str | None, zone: tzinfo) -> str:
    """A timestamp without an offset read as local time in `zone` (None: now there), written with the
    offset and milliseconds. One with an offset, or one Python does not read, is kept as sent."""
    if timestamp is None:
        return datetime.now(zone).isoformat(timespec="milliseconds")
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    if moment.tzinfo is not None:
        return timestamp
    return moment.replace(tzinfo=zone).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------------------------------------
# Milliseconds since the epoch (how the history stores and compares times)


@lru_cache(maxsize=8192)
def to_ms(iso: str) -> int:
    """A DateTime (`2026-11-24T09:00:00.123Z`, or any spelling utc_datetime reads) -> milliseconds."""
    return (datetime.fromisoformat(utc_datetime(iso, "time")) - EPOCH) // _MS


def to_iso(ms: int) -> str:
    """Milliseconds -> `YYYY-MM-DDTHH:MM:SS.mmmZ`."""
    return format_instant(EPOCH + timedelta(milliseconds=ms))


# ---------------------------------------------------------------------------------------------------
# Instant keys: both sides of a comparison become sortable UTC strings, so Python and SQLite compare
# the same keys (toshi.store.q_sql holds the SQL twins).

_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATETIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_TIME_RE = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?Z?")


def _fraction(digits: str | None) -> str:
    return ((digits or "") + "000000000")[:9]


@lru_cache(maxsize=4096)
def instant_key(text: str) -> str | None:
    """'YYYY-MM-DDTHH:MM:SS' in UTC plus 9 fraction digits for an ISO 8601 DateTime or Date, else None.

    No offset means UTC. Offsets are limited to +-14:59 and years to 0001-9999, as in SQLite.
    """
    if m := _DATE_RE.fullmatch(text):
        try:
            date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
        return f"{text}T00:00:00{_fraction(None)}"
    if m := _DATETIME_RE.fullmatch(text):
        try:
            local = datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]))
            return (local - _utc_offset(m[8])).isoformat() + _fraction(m[7])
        except (ValueError, OverflowError):
            return None
    return None


def _utc_offset(tz: str | None) -> timedelta:
    if tz is None or tz == "Z":
        return timedelta()
    hours, minutes = int(tz[1:3]), int(tz[4:6])
    if hours > 14 or minutes > 59:
        raise ValueError(tz)
    sign = -1 if tz[0] == "-" else 1
    return sign * timedelta(hours=hours, minutes=minutes)


@lru_cache(maxsize=4096)
def time_key(text: str) -> str | None:
    """'HH:MM:SS' plus 9 fraction digits for an ISO 8601 Time (optionally ending in Z), else None."""
    m = _TIME_RE.fullmatch(text)
    if m is None or int(m[1]) > 23 or int(m[2]) > 59 or int(m[3]) > 59:
        return None
    return text[:8] + _fraction(m[4])


def is_datetime(value: Any) -> bool:
    """A string holding an ISO 8601 DateTime (a bare Date does not count)."""
    return isinstance(value, str) and "T" in value and instant_key(value) is not None


# ---------------------------------------------------------------------------------------------------
# Durations

_DURATION = re.compile(
    r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d{1,3})?)S)?)?")


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
    return (moved - EPOCH) // _MS
