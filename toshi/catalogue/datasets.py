"""A dataset of the catalogue: a tenant's entity type, or a saved query over it (type + q + geo-query +
attributes), described for people (title and description in Japanese and English, publisher, licence,
keywords, update frequency, spatial and temporal coverage, the standard dataset it implements) and
kept in the feature's table. Whether it is open is part of it; opening it is toshi/catalogue/opening.py."""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass, field, fields

import orjson

from toshi.catalogue.standards import STANDARDS, custom
from toshi.core.times import now_iso
from toshi.store import FeatureTables

SCHEMA = "CREATE TABLE IF NOT EXISTS catalogue_datasets (name TEXT PRIMARY KEY, doc TEXT NOT NULL)"
NAME = re.compile(r"[a-z0-9_\-]{2,100}")  # CKAN's rule for dataset names
# The licences a town can choose (CKAN licence ids, as CKAN's default licence list spells them).
LICENCES = {
    "CC-BY-4.0": ("Creative Commons Attribution 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "CC0-1.0": ("Creative Commons CCZero", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "CC-BY-SA-4.0": ("Creative Commons Attribution Share-Alike 4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    "ODbL-1.0": ("Open Data Commons Open Database License (ODbL)", "https://opendatacommons.org/licenses/odbl/1-0/"),
    "PDL-1.0": ("公共データ利用規約（第1.0版）", "https://www.digital.go.jp/resources/open_data/public_data_license_v1.0"),
}
# Update frequencies: the EU Publications Office frequency vocabulary that DCAT-AP uses.
FREQUENCIES = ("CONT", "UPDATE_CONT", "DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "ANNUAL", "IRREG", "NEVER", "UNKNOWN")
TEXTS = ("ja", "en")


@dataclass
class Dataset:
    name: str                           # the URL name (CKAN `name`), unique in the town
    type: str                           # the entity type (as the core @context compacts it)
    tenant: str = ""                    # "" = the default tenant
    title: dict = field(default_factory=dict)        # {"ja": ..., "en": ...}
    description: dict = field(default_factory=dict)
    attrs: list = field(default_factory=list)        # the attributes it publishes (compact names)
    q: str = ""                         # NGSI-LD q of a saved query
    georel: str = ""                    # geo-query of a saved query
    geometry: str = ""
    coordinates: str = ""
    publisher: str = ""
    licence: str = "CC-BY-4.0"
    keywords: list = field(default_factory=list)
    frequency: str = "UNKNOWN"
    spatial: str = ""                   # a place name or a bounding box "west,south,east,north"
    temporal_start: str = ""            # ISO dates of the temporal coverage
    temporal_end: str = ""
    standard: str = ""                  # toshi/catalogue/standards.py id, if it implements one
    columns: dict = field(default_factory=dict)      # a town's own CSV: header -> "attr" or "attr:kind"
    id_column: str = ""                 # ... and the header of its identifying column
    extra_columns: list = field(default_factory=list)  # headers beyond the standard's, from the last import
    open: bool = False
    id: str = ""                        # a UUID (CKAN `id`), set on creation
    created: str = ""
    modified: str = ""

    def doc(self) -> dict:
        return asdict(self)

    @property
    def organisation(self) -> str:
        """The CKAN organisation of its tenant."""
        return self.tenant or "default"


def checked(doc: object, *, existing: Dataset | None = None) -> Dataset:
    """A Dataset from a document (ValueError saying what is wrong); `existing` for an update."""
    if not isinstance(doc, dict):
        raise ValueError("a dataset is a JSON object")
    known = {f.name for f in fields(Dataset)} - {"id", "created", "modified", "open", "extra_columns"}
    if unknown := sorted(set(doc) - known):
        raise ValueError(f"unknown dataset member(s): {', '.join(unknown)}")
    merged = {**(existing.doc() if existing else {}), **doc}
    for key in ("name", "type"):
        if not isinstance(merged.get(key), str) or not merged[key]:
            raise ValueError(f"{key} is required (a string)")
    if not NAME.fullmatch(merged["name"]):
        raise ValueError("name must be 2-100 characters of a-z, 0-9, - and _")
    for key in ("title", "description"):
        value = merged.get(key) or {}
        if not isinstance(value, dict) or set(value) - set(TEXTS) or not all(isinstance(v, str) for v in value.values()):
            raise ValueError(f'{key} is {{"ja": "...", "en": "..."}}')
    for key in ("attrs", "keywords"):
        value = merged.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError(f"{key} must be an array of strings")
    strings = ("tenant", "q", "georel", "geometry", "coordinates", "publisher", "spatial", "temporal_start",
               "temporal_end", "standard", "id_column")
    for key in strings:
        if not isinstance(merged.get(key, ""), str):
            raise ValueError(f"{key} must be a string")
    if merged.get("licence", "CC-BY-4.0") not in LICENCES:
        raise ValueError(f"licence must be one of {', '.join(LICENCES)}")
    if merged.get("frequency", "UNKNOWN") not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {', '.join(FREQUENCIES)}")
    columns = merged.get("columns") or {}
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise ValueError('columns is {"CSV header": "attribute" or "attribute:kind"}')
    if columns:
        custom(merged["type"], columns, merged.get("id_column", ""))
    if merged.get("standard") and merged["standard"] not in STANDARDS:
        raise ValueError(f"standard must be one of {', '.join(STANDARDS)}")
    if existing and merged["name"] != existing.name:
        raise ValueError("a dataset's name cannot change")
    return Dataset(**merged)


class Datasets:
    """The catalogue's datasets in the store's database."""

    def __init__(self, store):
        self._tables = FeatureTables(store, SCHEMA)

    @property
    def _db(self):
        return self._tables.db

    def all(self) -> list[Dataset]:
        return [Dataset(**orjson.loads(r[0])) for r in self._db.execute(
            "SELECT doc FROM catalogue_datasets ORDER BY name")]

    def get(self, name: str) -> Dataset | None:
        row = self._db.execute("SELECT doc FROM catalogue_datasets WHERE name=?", (name,)).fetchone()
        return None if row is None else Dataset(**orjson.loads(row[0]))

    def by_id(self, name_or_id: str) -> Dataset | None:
        """By name or by UUID (CKAN's package_show takes either)."""
        return self.get(name_or_id) or next((d for d in self.all() if d.id == name_or_id), None)

    def save(self, dataset: Dataset) -> Dataset:
        dataset.modified = now_iso()
        dataset.created = dataset.created or dataset.modified
        dataset.id = dataset.id or str(uuid.uuid4())
        self._db.execute("INSERT INTO catalogue_datasets (name, doc) VALUES (?, ?) "
                         "ON CONFLICT (name) DO UPDATE SET doc=excluded.doc",
                         (dataset.name, orjson.dumps(dataset.doc()).decode()))
        return dataset

    def delete(self, name: str) -> bool:
        return self._db.execute("DELETE FROM catalogue_datasets WHERE name=?", (name,)).rowcount > 0
