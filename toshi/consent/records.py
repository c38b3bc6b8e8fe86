"""Consent records: a resident (the data subject) lets one recipient (a service account or
organisation: the principal id of its API-key account or token subject) read personal data of some
categories (or named attributes) for one purpose, from a time until a time. Opt-in only: without a
record nothing personal is shown. A record is granted, revoked (by the resident or for them at the
town office) or runs out; every change is a new version, kept with its receipt signed by the town
(toshi/consent/receipts.py).

    {"recipient": "acct_...", "purpose": "care-planning",
     "categories": ["sensitive"], "attributes": ["phone"],       # at least one of the two
     "validFrom": "2026-04-01T00:00:00Z", "validUntil": "2027-03-31T00:00:00Z"}   # optional
"""

from __future__ import annotations

import secrets
from collections import Counter

import orjson

from toshi.consent import receipts
from toshi.consent.declarations import CATEGORIES
from toshi.core.signing import SigningKey
from toshi.core.times import now_iso, utc_datetime
from toshi.store import FeatureTables, atomic

SCHEMA = """
CREATE TABLE IF NOT EXISTS consent_records (
    tenant TEXT NOT NULL, id TEXT NOT NULL, subject TEXT NOT NULL, recipient TEXT NOT NULL, purpose TEXT NOT NULL,
    status TEXT NOT NULL, valid_from TEXT NOT NULL, valid_until TEXT, version INTEGER NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX IF NOT EXISTS consent_records_by_recipient ON consent_records (tenant, recipient);
CREATE INDEX IF NOT EXISTS consent_records_by_subject ON consent_records (tenant, subject);
CREATE TABLE IF NOT EXISTS consent_versions (
    tenant TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, at TEXT NOT NULL, receipt TEXT NOT NULL,
    jws TEXT NOT NULL, PRIMARY KEY (tenant, id, version)
);
"""
GRANT_MEMBERS = {"recipient", "purpose", "categories", "attributes", "validFrom", "validUntil", "description"}
ACTIVE, REVOKED, EXPIRED, PENDING = "active", "revoked", "expired", "pending"
COLUMNS = "doc"
MAX_SUBJECTS = 50_000  # residents in one bulk grant
_INSERT_VERSION = "INSERT INTO consent_versions (tenant, id, version, at, receipt, jws) VALUES (?, ?, ?, ?, ?, ?)"


class ConsentRecords:
    def __init__(self, store, signing_key: SigningKey, changed):
        self._tables = FeatureTables(store, SCHEMA)
        self._key = signing_key
        self._changed = changed  # called after every change: cached guards must not outlive it

    @property
    def _db(self):
        return self._tables.db

    # -- changes ----------------------------------------------------------------------------------

    def grant(self, tenant: str, subject: str, body: object, changed_by: str,
              method: str = "Toshi consent API") -> dict:
        """A new consent record (ValueError when the body is malformed)."""
        return self.grant_many(tenant, [subject], body, changed_by, method)[0]

    def grant_many(self, tenant: str, subjects: list[str], body: object, changed_by: str,
                   method: str = "Toshi consent API") -> list[dict]:
        """The same terms granted by each of these residents (a town office recording many residents'
        choice of one purpose and recipient): a record of its own for each, each version signed, all
        in one transaction (ValueError, and nothing recorded, when the body or a subject is malformed)."""
        terms = check_grant(body)
        check_subjects(subjects)
        now = now_iso()
        records, rows, versions = [], [], []
        for subject in subjects:
            record = {"id": "urn:toshi:consent:" + secrets.token_hex(8), "subject": subject, **terms,
                      "status": ACTIVE, "version": 1, "createdAt": now, "modifiedAt": now, "changedBy": changed_by,
                      "collectionMethod": method}
            record.setdefault("validFrom", now)
            records.append(record)
            rows.append((tenant, record["id"], subject, record["recipient"], record["purpose"], ACTIVE,
                         record["validFrom"], record.get("validUntil"), 1, _dumps(record)))
            versions.append(self._version_row(tenant, record, now))
        with self._atomic() as db:
            db.executemany("INSERT INTO consent_records (tenant, id, subject, recipient, purpose, status, valid_from, "
                           "valid_until, version, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.executemany(_INSERT_VERSION, versions)
        self._changed()
        return records

    def revoke(self, tenant: str, consent_id: str, changed_by: str) -> dict:
        """The record revoked (KeyError when there is none; a revoked one stays as it was)."""
        record = self._stored(tenant, consent_id)
        if record is None:
            raise KeyError(f"no consent {consent_id}")
        if record["status"] == REVOKED:
            return record
        now = now_iso()
        record = {**record, "status": REVOKED, "version": record["version"] + 1, "modifiedAt": now,
                  "revokedAt": now, "changedBy": changed_by}
        with self._atomic() as db:
            db.execute("UPDATE consent_records SET status=?, version=?, doc=? WHERE tenant=? AND id=?",
                       (REVOKED, record["version"], _dumps(record), tenant, consent_id))
            self._version(db, tenant, record, now)
        self._changed()
        return record

    def erase_subject(self, tenant: str, subject: str) -> int:
        """Revoke every active consent of a resident (erasure keeps the records: they are the proof)."""
        ids = [r["id"] for r in self.of_subject(tenant, subject) if r["status"] != REVOKED]
        for consent_id in ids:
            self.revoke(tenant, consent_id, "erasure")
        return len(ids)

    def _version(self, db, tenant: str, record: dict, at: str) -> None:
        db.execute(_INSERT_VERSION, self._version_row(tenant, record, at))

    def _version_row(self, tenant: str, record: dict, at: str) -> tuple:
        receipt = receipts.receipt_of(record, tenant, at)
        return (tenant, record["id"], record["version"], at, _dumps(receipt), receipts.sign(receipt, self._key))

    def _atomic(self):
        return atomic(self._db)

    # -- reading ----------------------------------------------------------------------------------

    def _stored(self, tenant: str, consent_id: str) -> dict | None:
        row = self._db.execute("SELECT doc FROM consent_records WHERE tenant=? AND id=?",
                               (tenant, consent_id)).fetchone()
        return orjson.loads(row[0]) if row else None

    def get(self, tenant: str, consent_id: str) -> dict | None:
        record = self._stored(tenant, consent_id)
        return None if record is None else shown(record)

    def of_subject(self, tenant: str, subject: str) -> list[dict]:
        rows = self._db.execute("SELECT doc FROM consent_records WHERE tenant=? AND subject=? ORDER BY rowid",
                                (tenant, subject))
        return [shown(orjson.loads(row[0])) for row in rows]

    def of_recipient(self, tenant: str, recipient: str) -> list[dict]:
        rows = self._db.execute("SELECT doc FROM consent_records WHERE tenant=? AND recipient=? ORDER BY rowid",
                                (tenant, recipient))
        return [shown(orjson.loads(row[0])) for row in rows]

    def in_force(self, tenant: str, recipient: str, purpose: str | None) -> tuple[list[dict], str | None]:
        """The recipient's unrevoked consents for `purpose` that hold now, and the next time that
        answer changes by itself (one starts or runs out; None: never)."""
        if purpose is None:
            return [], None
        rows = self._db.execute("SELECT doc FROM consent_records WHERE tenant=? AND recipient=? AND purpose=? "
                                "AND status=?", (tenant, recipient, purpose, ACTIVE))
        now, held, changes = now_iso(), [], []
        for row in rows:
            record = orjson.loads(row[0])
            until = record.get("validUntil")
            if until is not None and until <= now:
                continue
            if record["validFrom"] > now:
                changes.append(record["validFrom"])
                continue
            held.append(record)
            if until is not None:
                changes.append(until)
        return held, min(changes) if changes else None

    def history(self, tenant: str, consent_id: str) -> list[dict]:
        """Every version's receipt and its JWS, oldest first."""
        rows = self._db.execute("SELECT receipt, jws FROM consent_versions WHERE tenant=? AND id=? ORDER BY version",
                                (tenant, consent_id))
        return [{"receipt": orjson.loads(receipt), "jws": jws} for receipt, jws in rows]


def shown(record: dict) -> dict:
    """A record with its status as of now (an active one past its validUntil is expired)."""
    if record["status"] == ACTIVE:
        now = now_iso()
        if record.get("validUntil") is not None and record["validUntil"] <= now:
            return {**record, "status": EXPIRED}
        if record["validFrom"] > now:
            return {**record, "status": PENDING}
    return record


def check_grant(body: object) -> dict:
    """The terms of a grant request (ValueError when malformed)."""
    if not isinstance(body, dict):
        raise ValueError("a consent is a JSON object")
    if unknown := set(body) - GRANT_MEMBERS:
        raise ValueError(f"unknown member(s): {', '.join(sorted(unknown))} (members: {', '.join(sorted(GRANT_MEMBERS))})")
    for key in ("recipient", "purpose"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            raise ValueError(f"{key} is required: a non-empty string")
    if body["recipient"] == "anonymous":
        raise ValueError("consent cannot be given to anonymous readers")
    categories = _strings(body, "categories")
    if bad := [c for c in categories if c not in CATEGORIES]:
        raise ValueError(f"unknown categor(ies) {bad} (categories: {', '.join(CATEGORIES)})")
    attributes = _strings(body, "attributes")
    if not categories and not attributes:
        raise ValueError("a consent covers categories, attributes, or both: give at least one")
    terms = {"recipient": body["recipient"], "purpose": body["purpose"], "categories": sorted(set(categories)),
             "attributes": sorted(set(attributes))}
    try:
        if body.get("validFrom") is not None:
            terms["validFrom"] = utc_datetime(body["validFrom"], "validFrom")
        if body.get("validUntil") is not None:
            terms["validUntil"] = utc_datetime(body["validUntil"], "validUntil")
    except Exception as exc:  # BadRequestData: the same message as a ValueError
        raise ValueError(getattr(exc, "detail", str(exc))) from None
    start = terms.get("validFrom") or now_iso()
    if terms.get("validUntil") is not None and terms["validUntil"] <= start:
        raise ValueError("validUntil must be after validFrom (and in the future)")
    if isinstance(body.get("description"), str) and body["description"]:
        terms["description"] = body["description"]
    return terms


def check_subjects(subjects: object) -> None:
    """The residents of a bulk grant: a non-empty array of distinct non-empty strings (ValueError)."""
    if not isinstance(subjects, list) or not subjects:
        raise ValueError("residents must be a non-empty array of resident ids")
    if len(subjects) > MAX_SUBJECTS:
        raise ValueError(f"at most {MAX_SUBJECTS} residents in one grant")
    if bad := [s for s in subjects if not isinstance(s, str) or not s.strip()][:3]:
        raise ValueError(f"a resident id is a non-empty string, not {bad}")
    if twice := sorted(s for s, n in Counter(subjects).items() if n > 1)[:3]:
        raise ValueError(f"each resident once: {', '.join(twice)} repeat")


def _strings(body: dict, key: str) -> list[str]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{key} must be an array of non-empty strings")
    return value


def _dumps(value: dict) -> str:
    return orjson.dumps(value).decode()
