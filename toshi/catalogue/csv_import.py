"""CSV -> entities: read a town's CSV (UTF-8 with or without BOM, UTF-16, or Shift_JIS/CP932),
recognise the standard dataset by its headers (or use the dataset's own column mapping), validate
every row (types, required cells, coordinates inside Japan, the Japanese formats),
report each error by row and column, and — only when there is none and the import is confirmed —
write the entities through the one write path, in chunks: new rows create entities, changed rows
update the attributes the CSV holds (other attributes, e.g. live sensor values, are kept), unchanged
rows write nothing, and with `prune` the dataset's entities whose row has gone are deleted."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from toshi.catalogue import rows as cells
from toshi.catalogue.datasets import Dataset
from toshi.catalogue.saved_query import expand, query_of
from toshi.catalogue.standards import (
    CODE_HEADER,
    ID_HEADER,
    INTEGER,
    LATITUDE,
    LOCATION,
    LONGITUDE,
    Column,
    Standard,
    custom,
    recognise,
    standard,
)
from toshi.core.errors import NgsiError
from toshi.core.progress import Progress
from toshi.core.times import now_iso

CHUNK = 1000          # entities per Writer call (one transaction each)
PROGRESS_EVERY = 1000  # rows checked between two progress reports
MAX_ERRORS = 1000     # errors reported (the count is always complete)
JAPAN = {LATITUDE: (20.0, 46.0), LONGITUDE: (122.0, 154.0)}  # Okinotorishima..Etorofu, Yonaguni..Minamitorishima
LOCATION_IRI = "https://uri.etsi.org/ngsi-ld/location"


class ImportRefused(ValueError):
    """The file cannot be read as a CSV of this dataset at all (encoding, no header, no standard)."""


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (a BOM is dropped), UTF-16 with its BOM, else Shift_JIS (as CP932,
    Windows' superset of it that municipal spreadsheets write)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError as exc:
        raise ImportRefused(f"the file is neither UTF-8 nor Shift_JIS (byte {exc.start})") from None


@dataclass
class Plan:
    """What an import would do: the standard (or mapping) used, errors, and the entities' attributes."""

    standard: Standard
    encoding: str
    headers: list[str]
    rows: int = 0
    errors: list[dict] = field(default_factory=list)
    error_count: int = 0
    entities: dict[str, dict] = field(default_factory=dict)  # entity id -> compact attrs
    row_of: dict[str, int] = field(default_factory=dict)  # entity id -> its row's number in the file

    def error(self, row: int, column: str | None, value: str | None, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": row, "column": column, "value": value, "message": message})

    def report(self) -> dict:
        return {"standard": self.standard.id or None, "type": self.standard.type, "encoding": self.encoding,
                "rows": self.rows, "valid": self.error_count == 0, "errorCount": self.error_count,
                "errors": self.errors}


def standard_of(dataset: Dataset, headers: list[str]) -> Standard:
    if dataset.columns:
        return custom(dataset.type, dataset.columns, dataset.id_column)
    if dataset.standard:
        return standard(dataset.standard)
    found = recognise(headers)
    if found is None:
        raise ImportRefused("the headers are not those of a standard dataset this Toshi knows: "
                            "give the dataset a column mapping (columns and id_column)")
    return found


def plan(dataset: Dataset, data: bytes, progress: Progress | None = None) -> Plan:
    """Read and validate the whole file; nothing is written. `progress` hears of the rows checked."""
    text, encoding = decode(data)
    reader = csv.reader(io.StringIO(text))
    headers = [h.strip() for h in next(reader, [])]
    if not any(headers):
        raise ImportRefused("the file has no header row")
    found = standard_of(dataset, headers)
    if found.type != dataset.type and not dataset.columns:
        raise ImportRefused(f"the file is {found.title_ja} ({found.type}), the dataset holds {dataset.type}")
    result = Plan(found, encoding, headers)
    id_header = dataset.id_column or ID_HEADER
    for column in found.columns:
        if column.required and column.header not in headers:
            result.error(1, column.header, None, "required column is missing")
    if len(set(headers)) != len(headers):
        result.error(1, None, None, "the header row names a column twice")
    if result.error_count:
        return result
    _check_rows(result, reader, id_header, progress)
    return result


def _check_rows(result: Plan, reader, id_header: str, progress: Progress | None = None) -> None:
    """Check every row: the cells of the typed or required columns as a Table Schema would (an integer,
    a number, a required cell, a latitude or longitude inside Japan; a row none of whose checked cells
    is filled is a blank row), then every filled cell as its column's kind (dates, codes, ...), with
    each column's checks made once."""
    standard_ = result.standard
    headers = result.headers
    width = len(headers)
    known = [(i, h, standard_.column(h)) for i, h in enumerate(headers)]
    numeric = [i for i, _, c in known if c is not None and c.kind in cells.NUMERIC]
    body, numbers = [], []  # the rows, and each one's number in the file (the header is row 1)
    for number, line in enumerate(reader, start=2):
        if not any(cell.strip() for cell in line):
            continue  # blank lines (a spreadsheet's trailing rows) are no rows
        numbers.append(number)
        for i in numeric:
            if i < len(line):
                line[i] = cells.numeric_text(line[i])
        body.append(line)
    result.rows = total = len(body)
    checks = [_typed_check(i, h, c) for i, h, c in known if c is not None and (c.required or c.kind in cells.NUMERIC)]
    readers = [(i, h, None if c is None else cells.value_reader(c, plain=True)) for i, h, c in known]
    attributes = cells.attributes_maker(standard_)
    latitudes = {h for _, h, c in known if c is not None and c.kind == LATITUDE}
    longitudes = {h for _, h, c in known if c is not None and c.kind == LONGITUDE}
    code_at = headers.index(CODE_HEADER) if CODE_HEADER in headers else None
    id_at = headers.index(id_header) if id_header in headers else None
    seen = result.row_of
    error = result.error
    for position, (number, line) in enumerate(zip(numbers, body), start=2):
        if progress is not None and position % PROGRESS_EVERY == 0:
            progress("checking rows", position - 1, total)
        if len(line) != width:
            error(number, None, None, f"the row has {len(line)} cells, the header {width}")
            continue
        found, blank = [], 0
        for check in checks:
            problems = check(line)
            if problems is None:
                continue
            if problems is _BLANK or type(problems) is _Missing:
                blank += 1
            found.extend(problems)
        if blank == len(checks):
            found = [(None, None, "Blank Row")]  # as a Table Schema's blank-row error, in place of the others
        bad = {header for header, _, _ in found if header}
        for header, text, message in found:
            error(number, header, text, message)
        values, others = {}, {}
        for i, header, read in readers:
            text = line[i].strip()
            if not text or header in bad:
                continue
            if read is None:
                others[header] = text
                continue
            try:
                values[header] = read(text)
            except cells.CellError as exc:
                error(number, header, text, str(exc))
            except ValueError:
                error(number, header, text, "is not valid")
        if bad or id_header not in values:
            continue
        if any(h in latitudes for h in values) != any(h in longitudes for h in values):
            error(number, None, None, "give both 緯度 (latitude) and 経度 (longitude), or neither")
            continue
        raw = {id_header: line[id_at]} if code_at is None else {id_header: line[id_at], CODE_HEADER: line[code_at]}
        entity_id = cells.entity_id(standard_, raw, id_header)
        if entity_id in seen:
            error(number, id_header, line[id_at], f"the same ID as row {seen[entity_id]}")
            continue
        seen[entity_id] = number
        result.entities[entity_id] = attributes(values, others)
    if progress is not None:
        progress("checking rows", total, total)


_BLANK = ()  # what the check of an empty cell that may be empty answers (no problem, but blank)


class _Missing(tuple):
    """The problem of a required cell left empty (a blank cell too)."""


def _typed_check(i: int, header: str, column: Column) -> Callable[[list[str]], tuple | None]:
    """row -> None (the cell is fine), _BLANK (empty, and it may be), or its problems, (header, cell,
    message) each (_Missing: a required cell is empty): the cell of a typed or required column read as a Table Schema field reads it (an
    empty cell is missing; an integer is Python's int of the cell, a number its Decimal; a latitude
    or longitude lies within JAPAN's bounds, NaN outside both). A required cell of spaces alone is
    missing too."""
    kind, required = column.kind, column.required
    missing = _Missing([(header, None, "is required")])
    parse = int if kind == INTEGER else Decimal if kind in cells.NUMERIC else None
    not_type = "is not an integer" if kind == INTEGER else "is not a number"
    low = high = None
    if kind in JAPAN:
        low, high = (Decimal(str(bound)) for bound in JAPAN[kind])
        below, above = (f'is outside Japan (constraint "{name}" is "{bound}")'
                        for name, bound in zip(("minimum", "maximum"), JAPAN[kind]))

    def check(line: list[str]) -> tuple | None:
        cell = line[i]
        if not cell or (required and cell.isspace()):
            return missing if required else _BLANK
        if parse is None:
            return None
        try:
            value = parse(cell.strip())
        except (ValueError, ArithmeticError):
            return ((header, cell, not_type),)
        if low is None:
            return None
        if value.is_nan():
            return (header, cell, below), (header, cell, above)
        if value < low:
            return ((header, cell, below),)
        if value > high:
            return ((header, cell, above),)
        return None
    return check


# -- writing --------------------------------------------------------------------------------------

class _Unchanged(NgsiError):
    """An edit's answer when its row changes nothing: the Writer skips an edit that raises, so an
    unchanged row writes nothing (no entity row, change-log record or history)."""


async def write(services, dataset: Dataset, result: Plan, *, prune: bool = False,
                progress: Progress | None = None) -> tuple[dict, list[dict]]:
    """Apply a valid plan through the Writer, CHUNK edits a transaction (`progress` hears of each
    chunk); returns what changed and the rows the write path refused (row, entity id, message: the
    other rows are written). Each row is merged with its entity's state inside the write
    transaction, and counted there as created, updated or unchanged."""
    if result.error_count:
        raise ValueError("a plan with errors is never written")
    store, tenant, now = services.store, dataset.tenant, now_iso()
    type_iri = expand(result.standard.type)
    names = _Names()
    owned = frozenset(names.iri(a) for a in [*result.standard.attrs, cells.OTHER_COLUMNS])
    counts = {"created": 0, "updated": 0, "unchanged": 0, "deleted": 0, "failed": 0}
    refused: list[dict] = []

    def edit_of(entity_id: str, values: dict):
        def edit(current):
            merged = _merged(current, entity_id, type_iri, values, owned, now, names)
            if merged is None:
                raise _Unchanged()
            return merged
        return edit

    def delete(current):
        return None
    edits = [(entity_id, edit_of(entity_id, values)) for entity_id, values in result.entities.items()]
    if prune:
        edits.extend([(entity_id, delete) async for entity_id in _existing_ids(store, dataset)
                      if entity_id not in result.entities])
    for start in range(0, len(edits), CHUNK):
        if progress is not None:
            progress("writing entities", start, len(edits))
        for outcome in await services.writer.apply(tenant, edits[start:start + CHUNK]):
            _count(outcome, counts, refused, result.row_of)
    if progress is not None:
        progress("writing entities", len(edits), len(edits))
    return counts, refused


def _count(outcome, counts: dict, refused: list[dict], row_of: dict[str, int]) -> None:
    """Count what the write path did with one edit (counted from its outcome, so that a row the
    caller's guard refuses after the edit ran is counted as refused, not as written)."""
    change, error = outcome.change, outcome.error
    if isinstance(error, _Unchanged):
        counts["unchanged"] += 1
    elif error is not None:
        counts["failed"] += 1
        if len(refused) < MAX_ERRORS:
            refused.append({"row": row_of.get(outcome.entity_id), "id": outcome.entity_id, "message": error.detail})
    elif change.before is None:
        counts["created"] += change.after is not None
    else:
        counts["deleted" if change.after is None else "updated"] += 1


class _Names:
    """Compact attribute name -> (expanded name, attribute type), each expanded once per import."""

    def __init__(self):
        self._known: dict[str, tuple[str, str]] = {}

    def iri(self, name: str) -> str:
        return self.of(name)[0]

    def of(self, name: str) -> tuple[str, str]:
        found = self._known.get(name)
        if found is None:
            found = self._known[name] = (LOCATION_IRI, "GeoProperty") if name == LOCATION else (expand(name), "Property")
        return found


def _merged(before: dict | None, entity_id: str, type_iri: str, values: dict, owned: frozenset[str],
            now: str, names: _Names) -> dict | None:
    """The entity with the row's attributes (the owned ones it lacks removed, every other kept); None
    when the row changes nothing."""
    new = {}
    old_attrs = before["attrs"] if before is not None else {}
    for name, value in values.items():
        iri, kind = names.of(name)
        old = old_attrs.get(iri)
        if old and len(old) == 1 and old[0].get("value") == value and old[0]["type"] == kind:
            new[iri] = old
        else:
            new[iri] = [{"type": kind, "value": value, "createdAt": old[0]["createdAt"] if old else now,
                         "modifiedAt": now}]
    if before is None:
        return {"id": entity_id, "type": [type_iri], "createdAt": now, "modifiedAt": now, "attrs": new}
    kept = {iri: inst for iri, inst in old_attrs.items() if iri not in owned}
    attrs = {**kept, **new}
    types = before["type"] if type_iri in before["type"] else [*before["type"], type_iri]
    if attrs == old_attrs and types == before["type"]:
        return None
    return {**before, "type": types, "modifiedAt": now, "attrs": attrs}


async def _existing_ids(store, dataset: Dataset):
    after = None
    while True:
        query = query_of(dataset, limit=CHUNK)
        query.after = after  # keyset paging: linear however many there are
        found, _ = await store.query_entities(dataset.tenant, query)
        for entity in found:
            yield entity["id"]
        if len(found) < CHUNK:
            return
        after = query.next_after
