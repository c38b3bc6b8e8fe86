"""One CSV row <-> one entity, by a standard's (or a town's own) columns: the values a row's cells
become (typed: integers, numbers, ISO dates and times, booleans, lists, the location) and the cells an
entity's attributes give back, so that a CSV goes in and comes out with the same columns."""

from __future__ import annotations

from urllib.parse import quote

from toshi.catalogue import japanese
from toshi.catalogue.standards import (
    CODE,
    CODE_HEADER,
    DATE,
    FLAG,
    ID_HEADER,
    INTEGER,
    LATITUDE,
    LIST,
    LOCATION,
    LONGITUDE,
    NUMBER,
    OTHER_COLUMNS,
    TEXT,
    TIME,
    YESNO,
    Column,
    Standard,
)

YES, NO = "有", "無"
_YES = {"有", "あり", "○", "〇", "1", "true", "yes", "可"}
_NO = {"無", "なし", "×", "0", "false", "no", "不可"}
NUMERIC = (INTEGER, NUMBER, LATITUDE, LONGITUDE)


class CellError(ValueError):
    """A cell that is not a value of its column."""


def cell_value(column: Column, text: str):
    """The value a (non-empty) cell holds, typed by its column; CellError says why it is not one."""
    return value_reader(column)(text)


def value_reader(column: Column, plain: bool = False):
    """(non-empty) cell -> the value it holds, typed by the column (as `cell_value`), with the column's
    kind looked at once: the import reads every row's cells with one of these per column. `plain`: the
    cells of a numeric column come as `numeric_text` made them already."""
    kind = column.kind
    numeric = (lambda text: text) if plain else numeric_text
    if kind == DATE:
        def a_date(text: str) -> str:
            found = japanese.parse_date(text)
            if found is None:
                raise CellError("is not a date (e.g. 2024-04-01, 2024/4/1, 2024年4月1日, 令和6年4月1日)")
            return found
        return a_date
    if kind == TIME:
        def a_time(text: str) -> str:
            found = japanese.parse_time(text)
            if found is None:
                raise CellError("is not a time of day (e.g. 9:00, 09:30, 9時30分)")
            return found
        return a_time
    if kind == CODE:
        def a_code(text: str) -> str:
            found = japanese.local_government_code(text)
            if found is None:
                raise CellError("is not a 全国地方公共団体コード (6 digits with a valid check digit)")
            return found
        return a_code
    if kind == YESNO:
        def yes_or_no(text: str) -> bool:
            value = japanese.normalise(text).lower()
            if value in _YES or value in _NO:
                return value in _YES
            raise CellError(f"must be {YES} or {NO}")
        return yes_or_no
    if kind == FLAG:
        def flag(text: str) -> bool:
            value = text if text in ("1", "0") else japanese.normalise(text)
            if value not in ("1", "0"):
                raise CellError("must be 1 (or empty)")
            return value == "1"
        return flag
    if kind == LIST:
        return lambda text: [part.strip() for part in text.replace("；", ";").split(";") if part.strip()]
    if kind == INTEGER:
        return int if plain else lambda text: int(numeric_text(text))
    if kind == NUMBER:
        def number(text: str) -> int | float:
            found = float(numeric(text))
            return int(found) if found.is_integer() and "." not in text else found
        return number
    if kind in (LATITUDE, LONGITUDE):
        return float if plain else lambda text: float(numeric_text(text))
    return lambda text: text


def numeric_text(text: str) -> str:
    """A number as municipal spreadsheets write it (full-width digits, thousands separators), plainly."""
    return japanese.normalise(text).replace(",", "")


def entity_id(standard: Standard, cells: dict[str, str], id_header: str = ID_HEADER) -> str:
    """urn:ngsi-ld:<Type>:<local government code>:<ID> (the code is left out when the CSV has none)."""
    code = (cells.get(CODE_HEADER) or "").strip()
    local = quote(cells[id_header].strip(), safe="-._~")
    # a code that is not one is an error of its row already: the id (for the same-ID check) keeps it as written
    prefix = f"{japanese.local_government_code(code) or code}:" if code else ""
    return f"urn:ngsi-ld:{standard.type}:{prefix}{local}"


def attributes(standard: Standard, values: dict[str, object], others: dict[str, str]) -> dict[str, object]:
    """Compact attribute name -> value, from the typed cells of a row (header -> value)."""
    return attributes_maker(standard)(values, others)


def attributes_maker(standard: Standard):
    """(values, others) -> the attributes, as `attributes` makes them, with each header's column
    looked up once (a header's column is asked for the first time it comes)."""
    parts: dict[str, tuple] = {}  # header -> (what it fills, attribute, key or flag)

    def part(header: str) -> tuple:
        column = standard.column(header)
        if column.kind in (LATITUDE, LONGITUDE):
            found = (column.kind, None, None)
        elif column.kind == FLAG:
            found = (FLAG, column.attr, column.flag)
        elif column.key is not None:
            found = ("key", column.attr, column.key)
        else:
            found = (None, column.attr, None)
        parts[header] = found
        return found

    def make(values: dict[str, object], others: dict[str, str]) -> dict[str, object]:
        attrs: dict[str, object] = {}
        lat = lon = None
        for header, value in values.items():
            fills, attr, member = parts.get(header) or part(header)
            if fills is None:
                attrs[attr] = value
            elif fills == "key":
                attrs.setdefault(attr, {})[member] = value
            elif fills == FLAG:
                flags = attrs.setdefault(attr, [])
                if value:
                    flags.append(member)
            elif fills == LATITUDE:
                lat = value
            else:
                lon = value
        if lat is not None and lon is not None:
            attrs[LOCATION] = {"type": "Point", "coordinates": [lon, lat]}
        if others:
            attrs[OTHER_COLUMNS] = others
        return attrs
    return make


def cells_of(standard: Standard, values: dict[str, object], headers: list[str]) -> list[str]:
    """The CSV cells of an entity (compact attribute name -> value), for `headers` in that order."""
    return row_writer(standard, headers)(values)


def row_writer(standard: Standard, headers: list[str]):
    """values -> the CSV cells for `headers`, with each header's column looked up once."""
    columns = [standard.column(h) for h in headers]
    plain = [c is not None and c.kind == TEXT and c.key is None for c in columns]

    def cells(values: dict[str, object]) -> list[str]:
        others = values.get(OTHER_COLUMNS) or {}
        out = []
        for header, column, simple in zip(headers, columns, plain):
            if column is None:
                out.append(str(others.get(header, "")))
            elif simple:
                value = values.get(column.attr)
                out.append(value if isinstance(value, str) else "" if value is None else _cell(column, values))
            else:
                out.append(_cell(column, values))
        return out
    return cells


def cell_converter(column: Column):
    """value of the column's attribute (None when the entity has none) -> the column's cell, the same
    as `_cell` gives, with the column's kind looked at once."""
    kind, key = column.kind, column.key
    if kind == FLAG:
        flag = column.flag
        return lambda value: "1" if isinstance(value, list) and flag in value else ""
    if kind in (LATITUDE, LONGITUDE):
        axis = 1 if kind == LATITUDE else 0

        def point(value) -> str:
            if isinstance(value, dict) and value.get("type") == "Point":
                coordinates = value.get("coordinates")
                if coordinates:
                    return _number(coordinates[axis])
            return ""
        return point
    if key is not None:
        def member(value) -> str:
            value = value.get(key) if isinstance(value, dict) else None
            return value if isinstance(value, str) else "" if value is None else _value_cell(column, value, False)
        return member
    return lambda value: value if isinstance(value, str) else "" if value is None else _value_cell(column, value)


def _cell(column: Column, values: dict[str, object]) -> str:
    value = values.get(column.attr)
    return "" if value is None else _value_cell(column, value)


def _value_cell(column: Column, value, whole: bool = True) -> str:
    """The cell of a (not None) value; `whole`: the attribute's value, not yet its column's member."""
    if column.kind in (LATITUDE, LONGITUDE):
        coordinates = value.get("coordinates") if isinstance(value, dict) else None
        if not coordinates or value.get("type") != "Point":
            return ""
        return _number(coordinates[1] if column.kind == LATITUDE else coordinates[0])
    if column.kind == FLAG:
        return "1" if isinstance(value, list) and column.flag in value else ""
    if column.key is not None and whole:
        value = value.get(column.key) if isinstance(value, dict) else None
        if value is None:
            return ""
    if column.kind == YESNO and isinstance(value, bool):
        return YES if value else NO
    if column.kind == LIST and isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if not isinstance(value, dict | list) else ""


def _number(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)
