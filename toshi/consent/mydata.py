"""My data: everything Toshi holds about a resident, as JSON or CSV, and requests to erase it.

The export gathers, in one tenant: the entities the resident is the data subject of (read through
the consent layer as the resident, so through the one read path), the recorded history of their
personal attributes (of live entities and of deleted ones the history still holds), their consent
records with every signed version, the access log of their data, and their erasure requests.

An erasure request is recorded when the resident makes it and decided by a town official: carried
out, or refused with the legal reason (e.g. a retention duty under the Long-Term Care Insurance Act).
Carried out, it is one transaction of the one write path: entities that are the resident or are
declared personal as a whole are deleted, from the others the declared personal attributes and the
attribute naming the resident are removed; an erasure Operation per entity then takes the erased
values out of the change log and the waiting notifications, and (its listener) the attribute history,
deleted entities' included; last the resident's consents are revoked and the request marked erased.
Backups made afterwards hold none of it (they copy rows). Consent records, receipts and the access
log (attribute names, never values) are kept: they are the proof of what happened. Each decision
goes to the audit trail, and the write itself is audited as every write is.
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass

import orjson

from toshi.consent.declarations import SUBJECT_IS_ENTITY
from toshi.core.access import Reader, current_guard
from toshi.core.entity import delete_attribute
from toshi.core.errors import BadRequestData, NgsiError, ResourceNotFound
from toshi.core.times import now_iso
from toshi.core.write import ERASURE, Operation
from toshi.formats.ngsild_render import render_attribute, render_entity
from toshi.jsonld.context import core_context
from toshi.query.planner import EntityQuery
from toshi.query.typeexpr import TypeName
from toshi.store import FeatureTables
from toshi.temporal import attribute_history, former_entities

SCHEMA = """CREATE TABLE IF NOT EXISTS consent_erasure_requests (
    tenant TEXT NOT NULL, id TEXT NOT NULL, subject TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant, id));
CREATE INDEX IF NOT EXISTS consent_erasure_by_subject ON consent_erasure_requests (tenant, subject)"""
PAGE = 1000
PENDING, ERASED, REFUSED = "pending", "erased", "refused"
ERASED_REQUEST = "erasure-decided"  # the kind of the write path's Operation that closes an erasure


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
            "history": history_of(service, store, tenant, resident, resident_id, entities),
            "consents": consents, "accessLog": log, "erasureRequests": ErasureRequests(store).of(tenant, resident_id)}


def history_of(service, store, tenant: str, resident, resident_id: str, entities: list[dict]) -> list[dict]:
    """The recorded history of the resident's personal attributes: of their live entities and of those
    only the history still has (deleted ones), every instance as the temporal API shows it (with its
    instanceId; deletions with deletedAt), as far as the resident may read them (the read path's guard
    for them). All attributes of an entity that is the resident or is declared personal as a whole."""
    declared = service.declarations.of_tenant(tenant)
    ids = {e["id"] for e in entities}
    states = [*entities, *(state for state in former_entities(store, tenant, sorted(declared)) if state["id"] not in ids
                           and _declaration(declared, state) is not None
                           and _declaration(declared, state).subject_of(state) == resident_id)]
    guard = service.filter.guard_for(Reader(resident, tenant))
    ctx = core_context()
    out = []
    for state in states:
        declaration = _declaration(declared, state)
        whole = declaration.entity_personal or declaration.subject == SUBJECT_IS_ENTITY
        found = attribute_history(store, tenant, state["id"], None if whole else
                                  {*declaration.categories, declaration.subject})
        allowed = guard.permitted_attrs("read", state) if guard is not None else None
        attributes = {}
        for name, instances in sorted(found.items()):
            if allowed is None or name in allowed:
                attributes[ctx.compact_iri(name)] = [_instance(name, inst, ctx) for inst in instances]
        if attributes:
            types = [ctx.compact_iri(t) for t in state["type"]]
            out.append({"id": state["id"], "type": types[0] if len(types) == 1 else types,
                        "live": state["id"] in ids, "attributes": attributes})
    return out


def _declaration(declared: dict, state: dict):
    return next((declared[t] for t in state["type"] if t in declared), None)


def _instance(name: str, inst: dict, ctx) -> dict:
    rendered = render_attribute(name, [inst], ctx, sys_attrs=True)
    return {**rendered, "instanceId": inst["instanceId"], **({"deletedAt": inst["deletedAt"]} if "deletedAt" in inst
                                                              else {})}


def export_csv(data: dict) -> str:
    """One row per fact: section, id, name, value (JSON); a history row is one attribute instance."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "id", "name", "value"])
    for entity in data["entities"]:
        for name, value in entity.items():
            if name not in ("id", "@context"):
                writer.writerow(["entity", entity["id"], name, _json(value)])
    for entity in data["history"]:
        for name, instances in entity["attributes"].items():
            for instance in instances:
                writer.writerow(["history", entity["id"], name, _json(instance)])
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
        doc = requests.decided(tenant, {**doc, "status": REFUSED, "legalReason": reason, "decidedAt": now_iso(),
                                        "decidedBy": official})
    elif decision == "erase":
        doc = await _erase(service, services, tenant, subject, doc, official)
    else:
        raise BadRequestData('decision must be "erase" or "refuse"')
    service.audited(official, tenant, f"erasure {doc['status']}", subject, detail={"request": request_id})
    return doc


@dataclass(frozen=True)
class _Target:
    """One entity holding the resident's personal data, and what of it goes."""

    state: dict                     # as it is (live) or was last known (history only)
    names: frozenset[str] | None    # the attributes erased; None: the whole entity
    live: bool


async def _targets(service, store, tenant: str, subject: str) -> list[_Target]:
    """The resident's entities, live (read through the consent layer as the resident) and those only
    the history still has (deleted, or temporal only), with what the erasure removes from each: all of
    the resident's own entities and of the `entityPersonal` types, else the declared personal
    attributes and the attribute naming the resident."""
    declared = service.declarations.of_tenant(tenant)

    def target(state: dict, live: bool) -> _Target:
        declaration = next(declared[t] for t in state["type"] if t in declared)
        whole = declaration.entity_personal or declaration.subject == SUBJECT_IS_ENTITY
        return _Target(state, None if whole else frozenset([*declaration.categories, declaration.subject]), live)

    found = [target(e, True) for e in await entities_of(service, store, tenant, _Subject(subject), subject)]
    seen = {t.state["id"] for t in found}
    for state in former_entities(store, tenant, sorted(declared)):
        declaration = next((declared[t] for t in state["type"] if t in declared), None)
        if state["id"] not in seen and declaration is not None and declaration.subject_of(state) == subject:
            found.append(target(state, False))
            seen.add(state["id"])
    return found


async def _erase(service, services, tenant: str, subject: str, request: dict, official: str) -> dict:
    """One write transaction (the one write path): the live entities deleted or cleaned, then for each
    an erasure Operation that also removes the values from the change log, the waiting notifications
    and (through its listener) the attribute history; last, the resident's consents revoked and the
    request marked erased. The request is erased only when every entity is: an entity the write could
    not change leaves it pending (the others stay erased; deciding again finishes the work)."""
    store = services.store
    targets = await _targets(service, store, tenant, subject)
    edits: list = []
    for t in targets:
        if t.live:
            edits.append((t.state["id"], (lambda before: None) if t.names is None else _removing(sorted(t.names))))
        edits.append((t.state["id"], Operation(ERASURE, _erasing(store, tenant, t))))
    decided: dict = {}

    def finish(tx, check) -> dict:
        if left := [t.state["id"] for t in targets if _still_holds(tx.get(t.state["id"]), t.names)]:
            raise NgsiError(f"the personal data of {', '.join(left)} could not be erased", status=409,
                            title="Conflict")
        result = {"deleted": [t.state["id"] for t in targets if t.names is None],
                  "personalAttributesRemoved": [t.state["id"] for t in targets if t.names is not None],
                  "consentsRevoked": service.records.erase_subject(tenant, subject)}
        decided["doc"] = ErasureRequests(store).decided(tenant, {
            **request, "status": ERASED, "decidedAt": now_iso(), "decidedBy": official, "result": result})
        return {"request": request["id"]}

    edits.append((subject, Operation(ERASED_REQUEST, finish)))
    outcomes = await services.writer.apply(tenant, edits)
    service.changed()  # guards composed while the transaction was open must not outlive it
    failed = [{"id": o.entity_id, "error": o.error.detail} for o in outcomes if o.error is not None]
    if "doc" not in decided:
        return {**request, "result": {"failed": failed}}
    history = [o.change.detail for o in outcomes if o.change is not None and o.change.kind == ERASURE]
    doc = decided["doc"]
    doc["result"].update(failed=failed, changeRecordsRewritten=sum(d["changeRecords"] for d in history),
                         notificationsWithdrawn=sum(d["notifications"] for d in history))
    return ErasureRequests(store).decided(tenant, doc)


def _erasing(store, tenant: str, target: _Target) -> Operation:
    """The erasure Operation of one entity: after its state edit (which must have taken effect), the
    erased values leave the change log and the outbox here, and the history through the listeners
    (ERASURE, toshi/core/write.py)."""
    entity_id = target.state["id"]

    def run(tx, check) -> dict:
        if _still_holds(tx.get(entity_id), target.names):
            raise NgsiError(f"{entity_id} still holds the personal data: its write failed", status=409,
                            title="Conflict")
        state = target.state
        check(state, None if target.names is None else
              {**state, "attrs": {k: v for k, v in state["attrs"].items() if k not in target.names}})
        what = {"entity": True} if target.names is None else {"attributes": sorted(target.names)}
        return {**what, "changeRecords": store.changes.forget(tenant, {entity_id: target.names}),
                "notifications": store.outbox.withdraw(tenant, {entity_id})}
    return run


def _still_holds(current: dict | None, names: frozenset[str] | None) -> bool:
    if current is None:
        return False
    return names is None or bool(names & current["attrs"].keys())


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
