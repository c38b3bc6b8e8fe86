"""DateTime values as the manual's "Datetime support" reads them and Orion writes them back.

Accepted: `<date>`, `<date>T<time>`, `<date>T<time><timezone>`; date `YYYY-MM-DD`; time `hh:mm:ss.sss`,
`hhmmss.sss`, `hh:mm:ss`, `hhmmss`, `hh:mm`, `hhmm` or `hh`; timezone `Z`, `±hh:mm`, `±hhmm`, `±hh`
(none means `Z`). Orion always renders `YYYY-MM-DDThh:mm:ss.sssZ` (UTC), so values are stored that way.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from toshi.core.times import format_instant

DATE_TYPES = ("DateTime", "ISO8601")  # the manual: "ISO8601" as type has the same effect
_DATE = r"(\d{4})-(\d{2})-(\d{2})"
_TIME = r"(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d+))?)?)?"
_ZONE = r"(Z|[+-]\d{2}(?::?\d{2})?)"
_DATETIME = re.compile(rf"{_DATE}(?:T{_TIME}{_ZONE}?)?")


def canonical_datetime(text: object) -> str | None:
    """`YYYY-MM-DDThh:mm:ss.sssZ` for a datetime the manual accepts, else None."""
    if not isinstance(text, str):
        return None
    m = _DATETIME.fullmatch(text)
    if m is None or not _consistent_separators(text):
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                          int(((fraction or "") + "000000")[:6]), tzinfo=_zone(zone))
    except ValueError:
        return None
    return format_instant(moment)


def _consistent_separators(text: str) -> bool:
    """`hh:mm:ss` or `hhmmss`, not a mix of both."""
    time = text.partition("T")[2]
    clock = re.split(r"[Z+-]", time, maxsplit=1)[0].split(".")[0]
    return ":" not in clock or len(clock) in (5, 8)


def _zone(zone: str | None) -> timezone:
    if zone in (None, "Z"):
        return UTC
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(zone)
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if zone[0] == "-" else offset)


def orion_expires(text: str) -> str:
    """An `expires` (of a subscription or registration) as Orion renders it: it keeps whole seconds and
    shows them as `YYYY-MM-DDThh:mm:ss.000Z` in UTC; a text it cannot read is shown as it is."""
    canonical = canonical_datetime(text)
    return text if canonical is None else canonical[:-5] + ".000Z"
