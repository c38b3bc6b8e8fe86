"""A dataset's distributions, always the live state: CSV (UTF-8 with a BOM, so Excel reads it; the
standard dataset's Japanese headers where one applies), GeoJSON and NGSI-LD JSON, streamed page by
page from the store's queries (memory stays flat however large the dataset), read as the public
reads it: the read path's filters apply, so only what is open for anonymous reading comes out."""

from __future__ import annotations

import csv
import io
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import format_datetime

import orjson

from toshi.auth import ANONYMOUS
from toshi.catalogue import rows
from toshi.catalogue.datasets import Dataset
from toshi.catalogue.saved_query import expand, query_of
from toshi.catalogue.standards import LOCATION, OTHER_COLUMNS, Standard, custom, standard
from toshi.core.access import Reader
from toshi.core.expiry import hide_expired
from toshi.core.times import parse_instant
from toshi.formats.ngsild_render import render_entity
from toshi.jsonld.context import CORE_URL, core_context

PAGE = 2000  # entities per store query while streaming
LOCATION_IRI = "https://uri.etsi.org/ngsi-ld/location"


@dataclass(frozen=True)
class Format:
    key: str          # the file suffix: /catalogue/datasets/<name>.<key>
    label: str        # CKAN's / DCAT's format name
    media: str


FORMATS = {f.key: f for f in (Format("csv", "CSV", "text/csv; charset=utf-8"),
                               Format("geojson", "GeoJSON", "application/geo+json"),
                               Format("jsonld", "JSON-LD", "application/ld+json"))}


def table_of(dataset: Dataset) -> Standard | None:
    """The columns of its CSV: its standard's, or its own mapping's; None for a plain entity type."""
    if dataset.columns:
        return custom(dataset.type, dataset.columns, dataset.id_column)
    return standard(dataset.standard) if dataset.standard else None


def csv_headers(dataset: Dataset) -> list[str]:
    table = table_of(dataset)
    if table is not None:
        return [*table.headers, *dataset.extra_columns]
    names = [a for a in dataset.attrs if a != LOCATION]
    return ["id", *names, *(("latitude", "longitude") if LOCATION in dataset.attrs else ())]


async def entities(services, dataset: Dataset) -> AsyncIterator[list[dict]]:
    """The dataset's entities as the public may see them, a page at a time (keyset paging: each page
    starts after the last entity of the one before, so the whole scan is linear)."""
    store, read_path = services.store, services.read_path
    guard = read_path.guard_for(Reader(ANONYMOUS, dataset.tenant))
    after = None
    while True:
        query = query_of(dataset, limit=PAGE)
        query.after = after
        await hide_expired(store, dataset.tenant, query)
        with read_path.reading_as(guard):
            found, _ = await store.query_entities(dataset.tenant, query)
        yield found
        if len(found) < PAGE:
            return
        after = query.next_after


class Values:
    """An entity's attributes as plain values (compact name -> value of the default instance), only
    those the dataset publishes."""

    def __init__(self, dataset: Dataset):
        ctx = core_context()
        self.names = {LOCATION_IRI if a == LOCATION else expand(a): a for a in dataset.attrs}
        self.names.setdefault(expand(OTHER_COLUMNS), OTHER_COLUMNS)  # the town's own columns
        if not dataset.attrs:
            self.names = None
        self.compact = ctx.compact_iri

    def __call__(self, entity: dict) -> dict:
        out = {}
        names = self.names
        for iri, instances in entity["attrs"].items():
            name = self.compact(iri) if names is None else names.get(iri)
            if name is not None:
                out[name] = _plain(_default(instances))
        return out


def _default(instances: list[dict]) -> dict:
    """The default instance (no datasetId), else the first."""
    if len(instances) == 1:
        return instances[0]
    return next((i for i in instances if "datasetId" not in i), instances[0])


def _plain(inst: dict):
    if "value" in inst:
        return inst["value"]
    for key in ("value", "object", "objectList", "valueList", "json", "vocab"):
        if key in inst:
            return inst[key]
    if "languageMap" in inst:
        language_map = inst["languageMap"]
        return language_map.get("ja") or language_map.get("en") or next(iter(language_map.values()), "")
    return None


async def csv_stream(services, dataset: Dataset) -> AsyncIterator[bytes]:
    headers, table, values = csv_headers(dataset), table_of(dataset), Values(dataset)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    yield "\ufeff".encode() + buffer.getvalue().encode()
    if table is not None and values.names is not None:
        line = _entity_cells(table, headers, values.names)
    elif table is not None:
        cells = rows.row_writer(table, headers)
        line = lambda entity: cells(values(entity))  # noqa: E731
    else:
        line = lambda entity: _plain_row(entity, values(entity), headers)  # noqa: E731
    async for page in entities(services, dataset):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(map(line, page))
        yield buffer.getvalue().encode()


def _entity_cells(table: Standard, headers: list[str], names: dict[str, str]):
    """entity -> its CSV cells for `headers`: each column's attribute (of those published, `names`:
    IRI -> compact name) and converter looked up once, then per entity only the attributes read."""
    iri_of = {name: iri for iri, name in names.items()}
    iris: list[str | None] = []
    specs = []
    for header in headers:
        column = table.column(header)
        attr = OTHER_COLUMNS if column is None else column.attr
        iri = iri_of.get(attr)
        if iri not in iris:
            iris.append(iri)
        specs.append((iris.index(iri), _other_cell(header) if column is None else rows.cell_converter(column)))

    def cells(entity: dict) -> list[str]:
        attrs = entity["attrs"]
        got = []
        for iri in iris:
            instances = attrs.get(iri)
            got.append(_plain(_default(instances)) if instances else None)
        return [convert(got[n]) for n, convert in specs]
    return cells


def _other_cell(header: str):
    def convert(others) -> str:
        return str(others.get(header, "")) if isinstance(others, dict) else ""
    return convert


def _plain_row(entity: dict, plain: dict, headers: list[str]) -> list[str]:
    cells = [entity["id"]]
    for name in headers[1:]:
        if name in ("latitude", "longitude"):
            point = plain.get(LOCATION)
            ok = isinstance(point, dict) and point.get("type") == "Point"
            cells.append(repr(point["coordinates"][1 if name == "latitude" else 0]) if ok else "")
            continue
        value = plain.get(name)
        cells.append("" if value is None else value if isinstance(value, str) else orjson.dumps(value).decode())
    return cells


async def geojson_stream(services, dataset: Dataset) -> AsyncIterator[bytes]:
    values = Values(dataset)
    compact, types = core_context().compact_iri, {}

    def feature(entity: dict) -> bytes:
        plain = values(entity)
        geometry = plain.pop(LOCATION, None)
        kind = entity["type"][0]
        name = types.get(kind) or types.setdefault(kind, compact(kind))
        return orjson.dumps({"type": "Feature", "id": entity["id"], "geometry": geometry,
                             "properties": {"type": name, **plain}})
    yield b'{"type":"FeatureCollection","features":['
    first = True
    async for page in entities(services, dataset):
        # each feature encoded as it is made: a page's worth of dicts held for one encoding made the
        # cyclic GC walk them (and the store's cached entities) several times per page
        encoded = [feature(entity) for entity in page]
        if encoded:
            yield (b"" if first else b",") + b",".join(encoded)
            first = False
    yield b"]}"


async def jsonld_stream(services, dataset: Dataset) -> AsyncIterator[bytes]:
    ctx = core_context()
    names = {LOCATION_IRI if a == LOCATION else expand(a) for a in dataset.attrs} or None
    yield b"["
    first = True
    async for page in entities(services, dataset):
        items = [orjson.dumps({**render_entity(e, ctx, attrs=names), "@context": CORE_URL}) for e in page]
        if items:
            yield (b"" if first else b",") + b",".join(items)
            first = False
    yield b"]"


STREAMS = {"csv": csv_stream, "geojson": geojson_stream, "jsonld": jsonld_stream}


async def validators(services, dataset: Dataset, fmt: str) -> tuple[str, str]:
    """(ETag, Last-Modified) of a distribution: it changes when any entity of the town changes (the
    change log's last sequence number) or the dataset's description does (opening it, say)."""
    seq = await services.store.changes.last_seq()
    stamp = zlib.crc32(orjson.dumps(dataset.doc(), option=orjson.OPT_SORT_KEYS))
    latest = dataset.modified
    records = await services.store.changes.read(seq - 1, 1) if seq else []
    if records and records[-1].at > latest:
        latest = records[-1].at
    return f'W/"{fmt}-{seq}-{stamp:08x}"', format_datetime(parse_instant(latest), usegmt=True)
