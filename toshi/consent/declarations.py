"""Which data is personal: a town's declarations, per tenant.

A declaration names an entity type, the attributes of it that are personal data with the category of
each, and whose data they are (the data subject):

    {"id": "patients",                     # optional (generated)
     "type": "Patient",                    # a term of the core @context or a full IRI
     "subject": "patient",                 # the attribute (Property value or Relationship object)
                                           # holding the resident's id; "@id": the entity is the resident
     "attributes": {"diagnosis": "sensitive", "careLevel": "sensitive",
                    "phone": "personal", "location": "location"},
     "entityPersonal": false,              # true: without any consent the entity itself is hidden
     "description": "..."}

Categories: `personal` (ordinary personal information), `sensitive` (要配慮個人情報: health, care
level, ...), `location`. One declaration per type and tenant (declaring a type again replaces it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import orjson

from toshi.jsonld.context import core_context
from toshi.store import FeatureTables

CATEGORIES = ("personal", "sensitive", "location")
SUBJECT_IS_ENTITY = "@id"
SCHEMA = """CREATE TABLE IF NOT EXISTS consent_declarations (
    tenant TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant, id))"""
MEMBERS = {"id", "type", "subject", "attributes", "entityPersonal", "description"}


def check_declaration(doc: object) -> dict:
    """A declaration as stored (ValueError when malformed)."""
    if not isinstance(doc, dict):
        raise ValueError("a personal-data declaration is a JSON object")
    if unknown := set(doc) - MEMBERS:
        raise ValueError(f"unknown member(s): {', '.join(sorted(unknown))} (members: {', '.join(sorted(MEMBERS))})")
    for key in ("type", "subject"):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            raise ValueError(f"{key} is required: a non-empty string")
    attributes = doc.get("attributes")
    if not isinstance(attributes, dict) or not attributes:
        raise ValueError("attributes must map each personal attribute to its category")
    for name, category in attributes.items():
        if not name or category not in CATEGORIES:
            raise ValueError(f"attribute {name!r}: category must be one of {', '.join(CATEGORIES)}")
    if not isinstance(doc.get("entityPersonal", False), bool):
        raise ValueError("entityPersonal must be true or false")
    if doc.get("id") is not None and (not isinstance(doc["id"], str) or not doc["id"] or "/" in doc["id"]):
        raise ValueError("id must be a non-empty string without '/'")
    return {"id": doc.get("id") or f"pd-{uuid.uuid4().hex[:12]}", "type": doc["type"], "subject": doc["subject"],
            "attributes": dict(attributes), "entityPersonal": doc.get("entityPersonal", False),
            **({"description": doc["description"]} if doc.get("description") else {})}


def expand(name: str) -> str:
    return core_context().expand_term(name)


@dataclass(frozen=True)
class Declared:
    """A declaration compiled for the read path: expanded names."""

    id: str
    subject: str                  # an expanded attribute name, or SUBJECT_IS_ENTITY
    categories: dict[str, str]    # expanded attribute name -> category
    entity_personal: bool

    def subject_of(self, entity: dict) -> str | None:
        """The resident the entity's personal data is about (None: it does not say)."""
        if self.subject == SUBJECT_IS_ENTITY:
            return entity["id"]
        for instance in entity["attrs"].get(self.subject, ()):
            found = instance.get("object") if "object" in instance else instance.get("value")
            if isinstance(found, list) and found:
                found = found[0]
            if isinstance(found, str) and found:
                return found
        return None


def compile_declaration(doc: dict) -> Declared:
    subject = doc["subject"] if doc["subject"] == SUBJECT_IS_ENTITY else expand(doc["subject"])
    return Declared(doc["id"], subject, {expand(name): category for name, category in doc["attributes"].items()},
                    doc["entityPersonal"])


class Declarations:
    """The declarations of every tenant, kept in the store's database, compiled on first use."""

    def __init__(self, store, changed):
        self._tables = FeatureTables(store, SCHEMA)
        self._changed = changed  # called after every change (the consent guards depend on declarations)
        self._compiled: dict[str, dict[str, Declared]] = {}

    @property
    def _db(self):
        return self._tables.db

    def forget(self) -> None:
        self._compiled.clear()

    def list(self, tenant: str) -> list[dict]:
        rows = self._db.execute("SELECT doc FROM consent_declarations WHERE tenant=? ORDER BY rowid", (tenant,))
        return [orjson.loads(row[0]) for row in rows]

    def get(self, tenant: str, declaration_id: str) -> dict | None:
        row = self._db.execute("SELECT doc FROM consent_declarations WHERE tenant=? AND id=?",
                               (tenant, declaration_id)).fetchone()
        return orjson.loads(row[0]) if row else None

    def put(self, tenant: str, doc: object) -> dict:
        """Store a declaration (replacing the one of the same id, or of the same type)."""
        declared = check_declaration(doc)
        type_iri = expand(declared["type"])
        self._db.execute("DELETE FROM consent_declarations WHERE tenant=? AND type=? AND id<>?",
                         (tenant, type_iri, declared["id"]))
        self._db.execute("INSERT INTO consent_declarations (tenant, id, type, doc) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (tenant, id) DO UPDATE SET type=excluded.type, doc=excluded.doc",
                         (tenant, declared["id"], type_iri, orjson.dumps(declared).decode()))
        self._changed()
        return declared

    def remove(self, tenant: str, declaration_id: str) -> bool:
        removed = self._db.execute("DELETE FROM consent_declarations WHERE tenant=? AND id=?",
                                   (tenant, declaration_id)).rowcount > 0
        if removed:
            self._changed()
        return removed

    def of_tenant(self, tenant: str) -> dict[str, Declared]:
        """Entity type IRI -> its compiled declaration."""
        compiled = self._compiled.get(tenant)
        if compiled is None:
            rows = self._db.execute("SELECT type, doc FROM consent_declarations WHERE tenant=?", (tenant,))
            compiled = self._compiled[tenant] = {row[0]: compile_declaration(orjson.loads(row[1])) for row in rows}
        return compiled
