"""CSV -> entities: read a town's CSV (UTF-8 with or without BOM, UTF-16, or Shift_JIS/CP932),
recognise the standard dataset by its headers (or use the dataset's own column mapping), validate
every row (frictionless checks the types and constraints; the Japanese formats are checked here),
report each error by row and column, and — only when there is none and the import is confirmed —
write the entities through the one write path, in chunks: new rows create entities, changed rows
update the attributes the CSV holds (other attributes, e.g. live sensor values, are kept), unchanged
rows write nothing, and with `prune` the dataset's entities whose row has gone are deleted."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field

from toshi.catalogue import rows as cells
from toshi.catalogue.datasets import Dataset
from toshi.catalogue.saved_query import expand, query_of
from toshi.catalogue.standards import (
    ID_HEADER,
    INTEGER,
    LATITUDE,
    LOCATION,
    LONGITUDE,
    NUMBER,
    Standard,
    custom,
    recognise,
    standard,
)
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
    """Frictionless checks each row against the schema (types, required cells, coordinates inside
    Japan); the cells it passes are then read as their column's kind (dates, codes, ...)."""
    from frictionless import Resource

    standard_ = result.standard
    headers = result.headers
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
    result.rows = len(body)
    checked = [i for i, _, c in known if c is not None and (c.required or c.kind in cells.NUMERIC)]
    table = [[headers[i] for i in checked], *([line[i] if i < len(line) else "" for i in checked] for line in body)]
    seen: dict[str, int] = {}
    with Resource(data=table, schema=_schema(standard_, table[0])) as resource:
        for row in resource.row_stream:  # only the typed or required columns: plain text cannot fail
            if progress is not None and row.row_number % PROGRESS_EVERY == 0:
                progress("checking rows", row.row_number - 1, len(body))
            line = body[row.row_number - 2]
            number = numbers[row.row_number - 2]
            if len(line) != len(headers):
                result.error(number, None, None, f"the row has {len(line)} cells, the header {len(headers)}")
                continue
            bad = {e.field_name for e in row.errors if getattr(e, "field_name", None)}
            for error in row.errors:
                result.error(number, getattr(error, "field_name", None), _cell_text(error), _message(error))
            values, others = {}, {}
            for i, header, column in known:
                text = line[i].strip() if i < len(line) else ""
                if not text or header in bad:
                    continue
                if column is None:
                    others[header] = text
                    continue
                try:
                    values[header] = cells.cell_value(column, text)
                except (cells.CellError, ValueError) as exc:
                    result.error(number, header, text, str(exc) if isinstance(exc, cells.CellError) else "is not valid")
            if bad or id_header not in values:
                continue
            has_lat = any(standard_.column(h).kind == LATITUDE for h in values)
            has_lon = any(standard_.column(h).kind == LONGITUDE for h in values)
            if has_lat != has_lon:
                result.error(number, None, None, "give both 緯度 (latitude) and 経度 (longitude), or neither")
                continue
            raw = {h: line[i] for i, h, _ in known if i < len(line)}
            entity_id = cells.entity_id(standard_, raw, id_header)
            if entity_id in seen:
                result.error(number, id_header, raw[id_header], f"the same ID as row {seen[entity_id]}")
                continue
            seen[entity_id] = number
            result.entities[entity_id] = cells.attributes(standard_, values, others)
    if progress is not None:
        progress("checking rows", len(body), len(body))


def _schema(standard_: Standard, headers: list[str]):
    from frictionless import Schema, fields

    made = []
    for header in headers:
        column = standard_.column(header)
        constraints = {"required": True} if column is not None and column.required else {}
        kind = column.kind if column is not None else None
        if kind in JAPAN:
            low, high = JAPAN[kind]
            made.append(fields.NumberField(name=header, constraints={**constraints, "minimum": low, "maximum": high}))
        elif kind == INTEGER:
            made.append(fields.IntegerField(name=header, constraints=constraints))
        elif kind == NUMBER:
            made.append(fields.NumberField(name=header, constraints=constraints))
        else:
            made.append(fields.StringField(name=header, constraints=constraints))
    return Schema(fields=made)


def _cell_text(error) -> str | None:
    cell = getattr(error, "cell", None)
    return None if cell in (None, "") else str(cell)


def _message(error) -> str:
    kind = error.type
    if kind == "type-error":
        return f"is not {'an integer' if 'integer' in error.note else 'a number'}"
    if kind == "constraint-error":
        if "required" in error.note:
            return "is required"
        if "minimum" in error.note or "maximum" in error.note:
            return f"is outside Japan ({error.note})"
        return error.note
    if kind == "extra-cell":
        return "the row has more cells than the header"
    if kind == "missing-cell":
        return "the row has fewer cells than the header"
    return f"{error.title}: {error.note}" if error.note else error.title


# -- writing --------------------------------------------------------------------------------------

async def write(services, dataset: Dataset, result: Plan, *, prune: bool = False,
                progress: Progress | None = None) -> dict:
    """Apply a valid plan through the Writer; returns what changed (`progress` hears of each chunk)."""
    if result.error_count:
        raise ValueError("a plan with errors is never written")
    store, tenant, now = services.store, dataset.tenant, now_iso()
    type_iri = expand(result.standard.type)
    owned = [expand(a) for a in result.standard.attrs] + [expand(cells.OTHER_COLUMNS)]
    owned = [LOCATION_IRI if a == expand(LOCATION) else a for a in owned]
    counts = {"created": 0, "updated": 0, "unchanged": 0, "deleted": 0}
    edits = []
    for entity_id, values in result.entities.items():
        before = await store.get_entity(tenant, entity_id)
        if before is not None and _merged(before, entity_id, type_iri, values, owned, now) is None:
            counts["unchanged"] += 1
            continue
        counts["created" if before is None else "updated"] += 1

        def edit(current, entity_id=entity_id, values=values):  # merged with the state in the transaction
            return _merged(current, entity_id, type_iri, values, owned, now) or current
        edits.append((entity_id, edit))
    if prune:
        gone = [e async for e in _existing_ids(store, dataset) if e not in result.entities]
        edits.extend((entity_id, lambda current: None) for entity_id in gone)
        counts["deleted"] = len(gone)
    for start in range(0, len(edits), CHUNK):
        if progress is not None:
            progress("writing entities", start, len(edits))
        for outcome in await services.writer.apply(tenant, edits[start:start + CHUNK]):
            if outcome.error is not None:
                raise outcome.error
    if progress is not None:
        progress("writing entities", len(edits), len(edits))
    return counts


def _merged(before: dict | None, entity_id: str, type_iri: str, values: dict, owned: list[str],
            now: str) -> dict | None:
    """The entity with the row's attributes (the owned ones it lacks removed, every other kept); None
    when the row changes nothing."""
    new = {}
    for name, value in values.items():
        iri = LOCATION_IRI if name == LOCATION else expand(name)
        kind = "GeoProperty" if name == LOCATION else "Property"
        old = (before or {}).get("attrs", {}).get(iri)
        if old and len(old) == 1 and old[0].get("value") == value and old[0]["type"] == kind:
            new[iri] = old
        else:
            new[iri] = [{"type": kind, "value": value, "createdAt": old[0]["createdAt"] if old else now,
                         "modifiedAt": now}]
    if before is None:
        return {"id": entity_id, "type": [type_iri], "createdAt": now, "modifiedAt": now, "attrs": new}
    kept = {iri: inst for iri, inst in before["attrs"].items() if iri not in owned}
    attrs = {**kept, **new}
    types = before["type"] if type_iri in before["type"] else [*before["type"], type_iri]
    if attrs == before["attrs"] and types == before["type"]:
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
