"""Values as Japanese municipal CSVs write them: dates in the Western and Japanese calendars
(2024/4/1, 2024年4月1日, 令和6年4月1日, R6.4.1), times (9:00, 9時30分), and the 全国地方公共団体コード
(local government code) with its check digit, repaired when a spreadsheet dropped its leading zero."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

# The first year of each era in the Western calendar (the era's year 1 is this year).
ERAS = {"令和": 2019, "平成": 1989, "昭和": 1926, "大正": 1912, "明治": 1868,
        "R": 2019, "H": 1989, "S": 1926, "T": 1912, "M": 1868}
_ERA_DATE = re.compile(r"(令和|平成|昭和|大正|明治|[RHSTM])\s*(元|\d{1,2})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?")
_WESTERN_DATE = re.compile(r"(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_TIME = re.compile(r"(\d{1,2})\s*[:時]\s*(\d{1,2})?\s*分?(?:\s*[:]\s*(\d{1,2}))?")


def normalise(text: str) -> str:
    """Full-width digits and letters as half-width (NFKC), surrounding spaces gone."""
    return unicodedata.normalize("NFKC", text).strip()


def parse_date(text: str) -> str | None:
    """An ISO date (YYYY-MM-DD) from the ways Japanese data writes a date, None if it is not one."""
    text = normalise(text)
    found = _ERA_DATE.fullmatch(text)
    if found:
        era, year, month, day = found.groups()
        year = ERAS[era] + (1 if year == "元" else int(year)) - 1
    else:
        found = _WESTERN_DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
        if not found:
            return None
        year, month, day = found.groups()
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def parse_time(text: str) -> str | None:
    """HH:MM (or HH:MM:SS) from 9:00, 09:00, 9時, 9時30分; None if it is not a time of day."""
    found = _TIME.fullmatch(normalise(text))
    if not found:
        return None
    hour, minute, second = int(found.group(1)), int(found.group(2) or 0), found.group(3)
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        return None
    if second is not None:
        return f"{hour:02d}:{minute:02d}:{int(second):02d}" if int(second) < 60 else None
    return f"{hour:02d}:{minute:02d}"


def check_digit(code5: str) -> str:
    """The check digit of a 5-digit local government code (weights 6..2, modulus 11)."""
    remainder = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2))) % 11
    return str((11 - remainder) % 10)


@lru_cache(maxsize=4096)  # a CSV repeats its town's code on every row
def local_government_code(text: str) -> str | None:
    """The 6-digit 全国地方公共団体コード, from the code as written: 6 digits with a valid check digit,
    5 digits (the code without its check digit, or a 6-digit code whose leading zero a spreadsheet
    dropped: 092011 -> 92011), or 4 digits (a 5-digit code that lost its zero). None if it is not one."""
    text = normalise(text)
    if not text.isdigit() or not 4 <= len(text) <= 6:
        return None
    if len(text) == 6:
        return text if check_digit(text[:5]) == text[5] else None
    if len(text) == 5 and check_digit("0" + text[:4]) == text[4]:
        return "0" + text
    code5 = text.zfill(5)
    return code5 + check_digit(code5)
