"""My data: everything Toshi holds about a resident, as JSON or CSV, and requests to erase it.

The export gathers, in one tenant: the entities the resident is the data subject of (read through
the consent layer as the resident, so through the one read path), their consent records with every
signed version, the access log of their data, and their erasure requests.

An erasure request is recorded when the resident makes it and decided by a town official: carried
out (through the Writer: entities that are the resident or are declared personal as a whole are
deleted; from the others the declared personal attributes and the attribute naming the resident are
removed; the resident's consents are revoked), or refused with the legal reason (e.g. a retention
duty under the Long-Term Care Insurance Act). Consent records, receipts and the access log are kept:
they are the proof of what happened. Each decision goes to the audit trail.
"""

from __future__ import annotations

import csv
import io
import secrets

import orjson

from toshi.consent.declarations import SUBJECT_IS_ENTITY
from toshi.core.access import Reader, current_guard
from toshi.core.entity import delete_attribute
from toshi.core.errors import BadRequestData, NgsiError, ResourceNotFound
from toshi.core.times import now_iso
from toshi.formats.ngsild_render import render_entity
from toshi.jsonld.context import core_context
from toshi.query.planner import EntityQuery
from toshi.query.typeexpr import TypeName
from toshi.store import FeatureTables

SCHEMA = """CREATE TABLE IF NOT EXISTS consent_erasure_requests (
    tenant TEXT NOT NULL, id TEXT NOT NULL, subject TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant, id));
CREATE INDEX IF NOT EXISTS consent_erasure_by_subject ON consent_erasure_requests (tenant, subject)"""
PAGE = 1000
PENDING, ERASED, REFUSED = "pending", "erased", "refused"


async def entities_of(service, store, tenant: str, resident, resident_id: str) -> list[dict]:
    """The resident's entities (the internal form), as the resident may see them."""
    found: list[dict] = []
    guard = service.filter.guard_for(Reader(resident, tenant))
    mark = current_guard.set(guard)
    try:
        for type_iri, declaration in service.declarations.of_tenant(tenant).items():
            if declaration.subject == SUBJECT_IS_ENTITY:
                entity = await store.get_entity(tenant, resident_id)
                if entity is not None and type_iri in entity["type"]:
                    found.append(entity)
                continue
            offset = 0
            while True:
                page, _ = await store.query_entities(tenant, EntityQuery(types=TypeName(type_iri), limit=PAGE,
                                                                         offset=offset))
                found.extend(e for e in page if e is not None and declaration.subject_of(e) == resident_id)
                if len(page) < PAGE:
                    break
                offset += PAGE
    finally:
        current_guard.reset(mark)
    return found


async def export(service, store, tenant: str, resident, resident_id: str) -> dict:
    ctx = core_context()
    entities = await entities_of(service, store, tenant, resident, resident_id)
    consents = [{**record, "versions": service.records.history(tenant, record["id"])}
                for record in service.records.of_subject(tenant, resident_id)]
    log, after = [], 0
    while batch := service.log.of_subject(tenant, resident_id, after=after, limit=PAGE):
        log.extend(batch)
        after = batch[-1]["seq"]
    return {"resident": resident_id, "tenant": tenant, "exportedAt": now_iso(),
            "entities": [render_entity(e, ctx, sys_attrs=True) for e in entities],
            "consents": consents, "accessLog": log, "erasureRequests": ErasureRequests(store).of(tenant, resident_id)}


def export_csv(data: dict) -> str:
    """One row per fact: section, id, name, value (JSON)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "id", "name", "value"])
    for entity in data["entities"]:
        for name, value in entity.items():
            if name not in ("id", "@context"):
                writer.writerow(["entity", entity["id"], name, _json(value)])
    for record in data["consents"]:
        for name, value in record.items():
            if name != "versions":
                writer.writerow(["consent", record["id"], name, _json(value)])
        for version in record["versions"]:
            writer.writerow(["receipt", record["id"], f"v{version['receipt']['version']}", version["jws"]])
    for entry in data["accessLog"]:
        writer.writerow(["access", entry["seq"], entry["reader"], _json(entry)])
    for request in data["erasureRequests"]:
        writer.writerow(["erasure", request["id"], request["status"], _json(request)])
    return out.getvalue()


def _json(value) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


class ErasureRequests:
    def __init__(self, store):
        self._tables = FeatureTables(store, SCHEMA)

    @property
    def _db(self):
        return self._tables.db

    def of(self, tenant: str, subject: str) -> list[dict]:
        rows = self._db.execute("SELECT doc FROM consent_erasure_requests WHERE tenant=? AND subject=? ORDER BY rowid",
                                (tenant, subject))
        return [orjson.loads(row[0]) for row in rows]

    def get(self, tenant: str, request_id: str) -> dict | None:
        row = self._db.execute("SELECT doc FROM consent_erasure_requests WHERE tenant=? AND id=?",
                               (tenant, request_id)).fetchone()
        return orjson.loads(row[0]) if row else None

    def request(self, tenant: str, subject: str, reason: str | None) -> dict:
        doc = {"id": "urn:toshi:erasure:" + secrets.token_hex(8), "subject": subject, "status": PENDING,
               "requestedAt": now_iso(), **({"reason": reason} if reason else {})}
        self._db.execute("INSERT INTO consent_erasure_requests (tenant, id, subject, doc) VALUES (?, ?, ?, ?)",
                         (tenant, doc["id"], subject, orjson.dumps(doc).decode()))
        return doc

    def decided(self, tenant: str, doc: dict) -> dict:
        self._db.execute("UPDATE consent_erasure_requests SET doc=? WHERE tenant=? AND id=?",
                         (orjson.dumps(doc).decode(), tenant, doc["id"]))
        return doc


async def decide(service, services, tenant: str, subject: str, request_id: str, body: dict, official: str) -> dict:
    """Carry out or refuse an erasure request (body: {"decision": "erase"} or {"decision": "refuse",
    "legalReason": "..."})."""
    requests = ErasureRequests(services.store)
    doc = requests.get(tenant, request_id)
    if doc is None or doc["subject"] != subject:
        raise ResourceNotFound(f"no erasure request {request_id} of {subject}")
    if doc["status"] != PENDING:
        raise NgsiError(f"erasure request {request_id} was already {doc['status']}", status=409, title="Conflict")
    decision = body.get("decision")
    if decision == "refuse":
        reason = body.get("legalReason")
        if not isinstance(reason, str) or not reason.strip():
            raise BadRequestData("refusing an erasure needs legalReason: the law or duty that requires keeping the data")
        doc = {**doc, "status": REFUSED, "legalReason": reason, "decidedAt": now_iso(), "decidedBy": official}
    elif decision == "erase":
        result = await _erase(service, services, tenant, subject)
        doc = {**doc, "status": ERASED, "decidedAt": now_iso(), "decidedBy": official, "result": result}
    else:
        raise BadRequestData('decision must be "erase" or "refuse"')
    requests.decided(tenant, doc)
    service.audited(official, tenant, f"erasure {doc['status']}", subject, detail={"request": request_id})
    return doc


async def _erase(service, services, tenant: str, subject: str) -> dict:
    entities = await entities_of(service, services.store, tenant, _Subject(subject), subject)
    declared = service.declarations.of_tenant(tenant)
    edits, deleted, cleaned = [], [], []
    for entity in entities:
        declaration = next(declared[t] for t in entity["type"] if t in declared)
        if declaration.entity_personal or declaration.subject == SUBJECT_IS_ENTITY:
            edits.append((entity["id"], lambda before: None))
            deleted.append(entity["id"])
        else:
            names = [*declaration.categories, declaration.subject]
            edits.append((entity["id"], _removing(names)))
            cleaned.append(entity["id"])
    outcomes = await services.writer.apply(tenant, edits) if edits else []
    failed = [{"id": o.entity_id, "error": o.error.detail} for o in outcomes if o.error is not None]
    revoked = service.records.erase_subject(tenant, subject)
    return {"deleted": deleted, "personalAttributesRemoved": cleaned, "consentsRevoked": revoked, "failed": failed}


def _removing(names: list[str]):
    def edit(before: dict | None) -> dict | None:
        after = before
        for name in names:
            if after is not None and name in after["attrs"]:
                after = delete_attribute(after, name, now_iso(), after["id"], delete_all=True)
        return after
    return edit


class _Subject:
    """The resident as a reader of their own data (the export reads through the consent layer as them)."""

    kind = "resident"

    def __init__(self, resident_id: str):
        self.id = resident_id

    def roles_in(self, tenant: str) -> frozenset:
        return frozenset()
