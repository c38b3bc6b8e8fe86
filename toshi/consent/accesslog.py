"""Who read a resident's personal data: one record per (reader, data subject, request), with when,
which attributes, for which purpose, under which consents (or as a town official).

The read path's consent layer notes every release of personal data here (toshi/consent/guard.py);
notes are gathered in memory and written in batches (every FLUSH_SECONDS, before the log is read,
and at shutdown).

A batch is one step of the log's own hash chain (the step's hash covers every record of the batch
and the previous step's hash, so changing, removing or adding a record, or a step, breaks it) — not
one hash per record: a query page releases the data of up to a page of residents, and hashing each
of their records cost more than the query. The records of a batch are stored one row per (reader,
subject) — the records of that pair in the batch, in order — so a busy batch writes a row per
resident read, not one per read; rows are listed by subject and by reader, each record keeping its
own `seq`. A record that repeats the purpose, basis, attributes, consents and entities of the record
before it in its row (the same reader reading the same resident again) is stored as its seq, time and
request only (RECORD_FIELDS, SHORT) and read back whole; a flush makes these texts directly.

Notes not yet written are lost if the process is killed (kill -9, power loss): at most the last
FLUSH_SECONDS of reads. A clean stop (SIGTERM, SIGINT) writes them first (the feature's stop()). The log is its own chain rather than records of the audit trail: it needs its own indexes
and would drown the audit trail's admin records. Changes of consents and declarations do go to the
audit trail.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from itertools import islice

import orjson

from toshi.core.access import current_actor
from toshi.core.times import now_iso
from toshi.jsonld.context import core_context
from toshi.store import FeatureTables, atomic

SCHEMA = """
CREATE TABLE IF NOT EXISTS consent_access_chain (
    step INTEGER NOT NULL, at TEXT NOT NULL, last_seq INTEGER NOT NULL, prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS consent_access_chain_by_step ON consent_access_chain (step);
CREATE TABLE IF NOT EXISTS consent_access_records (
    step INTEGER NOT NULL, tenant TEXT NOT NULL, subject TEXT NOT NULL, reader TEXT NOT NULL,
    first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, records TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS consent_access_records_by_subject ON consent_access_records (tenant, subject, last_seq);
CREATE INDEX IF NOT EXISTS consent_access_records_by_reader ON consent_access_records (tenant, reader, last_seq);
"""
# a record inside a row: these fields, in this order (a JSON array, compact); a record whose fields
# after request_id are those of the record before it in its row keeps only the first SHORT
RECORD_FIELDS = ("seq", "at", "request_id", "purpose", "basis", "attrs", "consents", "entities")
SHORT = 3
ZERO_HASH = "0" * 64
FLUSH_SECONDS = 0.25
OFFICIAL, CONSENTED = "official", "consent"
BODIES_KEPT = 10_000  # records' texts remembered by what was noted (_body)
TEXTS_KEPT = 1_000  # the records' texts of a request's notes, remembered by the notes (_texts_of)


def step_hash(step: int, at: str, last_seq: int, prev_hash: str, rows: Iterable[tuple]) -> str:
    """The hash of one step: its fields, the previous step's hash and its rows (tenant, subject,
    reader, first_seq, last_seq, records as stored), in seq order."""
    digest = hashlib.sha256(orjson.dumps([step, at, last_seq, prev_hash]))
    for tenant, subject, reader, first_seq, row_last, records in rows:  # each piece a whole JSON array
        digest.update(orjson.dumps([tenant, subject, reader, first_seq, row_last]))
        digest.update(records.encode())
    return digest.hexdigest()


class AccessLog:
    def __init__(self, store):
        self._tables = FeatureTables(store, SCHEMA)
        # (tenant, reader, request, purpose, basis) -> [at, [(subject, attrs, consents, entity id), ...]]
        self._pending: dict[tuple, list] = {}
        self._lock = threading.Lock()  # notes may come from the event loop and from worker threads
        self._bodies: dict[tuple, tuple] = {}  # see _body
        self._texts: dict[tuple, tuple] = {}  # see _texts_of
        self._upgraded = False

    @property
    def _db(self):
        db = self._tables.db
        if not self._upgraded:
            self.upgrade()
        return db

    def upgrade(self) -> int:
        """Move the log of an older Toshi into these tables (once; toshi/consent/accesslog_upgrade.py):
        the number of records moved."""
        from toshi.consent.accesslog_upgrade import upgrade  # it builds on this module

        moved = upgrade(self._tables.db)
        self._upgraded = True
        return moved

    # -- noting (called by the read path for every release: an append, the rest waits for flush) ----

    def note(self, tenant: str, reader: str, subject: str, purpose: str | None, basis: str,
             attrs, consents, entity_id: str) -> None:
        """A release of `attrs` (expanded attribute names) of `subject`'s entity to `reader` under
        `consents`; both are kept as given until the next flush and never changed."""
        self.note_many(tenant, reader, purpose, basis, [(subject, attrs, consents, entity_id)])

    def note_many(self, tenant: str, reader: str, purpose: str | None, basis: str, notes) -> None:
        """Releases to one reader in the current request: (subject, attrs, consents, entity id) each.
        `notes` is kept as given (never changed); a tuple the read path gives again for the same
        releases (a page read again, see ConsentGuard.release) has its records' texts made once."""
        actor = current_actor.get()
        key = (tenant, reader, actor.get("request") if actor else None, purpose, basis)
        with self._lock:
            read = self._pending.get(key)
            if read is None:
                self._pending[key] = [now_iso(), notes]
            else:  # more releases in the same request: one record per subject still (_by_subject)
                read[1] = [*read[1], *notes]

    # -- writing ----------------------------------------------------------------------------------

    def flush(self) -> int:
        """Write what was noted as one step of the chain; the number of records written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        by_row = _records(pending, self._bodies, self._texts)
        with self._atomic() as db:
            step, seq, prev = tail(db)
            rows, start = [], seq
            for (tenant, reader, subject), runs in by_row.items():
                first, last, parts = seq + 1, None, []
                for heads, rest in runs:  # requests in turn; a run's requests share `rest`
                    seq += 1
                    if rest is last or rest == last:  # as the record before: left out (see RECORD_FIELDS)
                        parts.append(f"[{seq},{heads[0]}]")
                    else:
                        parts.append(f"[{seq},{heads[0]},{rest}]")
                        last = rest
                    if len(heads) > 1:
                        parts.append(",".join([f"[{n},{head}]" for n, head in zip(range(seq + 1, seq + len(heads)),
                                                                                  islice(heads, 1, None))]))
                        seq += len(heads) - 1
                rows.append((tenant, subject, reader, first, seq, f"[{','.join(parts)}]"))
            write_step(db, step + 1, now_iso(), prev, rows)
        return seq - start

    def _atomic(self):
        return atomic(self._db)

    # -- reading ----------------------------------------------------------------------------------

    def of_subject(self, tenant: str, subject: str, after: int = 0, limit: int = 100) -> list[dict]:
        return self._select("subject", tenant, subject, after, limit)

    def of_reader(self, tenant: str, reader: str, after: int = 0, limit: int = 100) -> list[dict]:
        return self._select("reader", tenant, reader, after, limit)

    def _select(self, column: str, tenant: str, who: str, after: int, limit: int) -> list[dict]:
        """The records after `after` (a seq), at most `limit`, in seq order."""
        self.flush()
        out: list[dict] = []
        if limit <= 0:
            return out
        rows = self._db.execute(
            "SELECT r.subject, r.reader, r.records, c.hash FROM consent_access_records r "
            "JOIN consent_access_chain c ON c.step = r.step "
            f"WHERE r.tenant=? AND r.{column}=? AND r.last_seq > ? ORDER BY r.last_seq LIMIT ?",
            (tenant, who, after, limit))  # each row holds at least one record
        for subject, reader, records, digest in rows:
            last = None
            for record in orjson.loads(records):
                if len(record) == SHORT:
                    record = [*record, *last[SHORT:]]
                last = record
                if record[0] > after:
                    out.append({**dict(zip(RECORD_FIELDS, record)), "tenant": tenant, "subject": subject,
                                "reader": reader, "hash": digest})
                    if len(out) >= limit:
                        return out
        return out

    def verify(self) -> list[int]:
        """The steps where the chain is broken (empty: intact): a step whose rows or fields were
        changed, a step removed or added (its successor's link no longer fits), rows moved."""
        self.flush()
        return broken_steps(self._db)


def tail(db) -> tuple[int, int, str]:
    """The last step, the last record's seq and the last step's hash."""
    row = db.execute("SELECT step, last_seq, hash FROM consent_access_chain ORDER BY step DESC LIMIT 1").fetchone()
    return (row[0], row[1], row[2]) if row else (0, 0, ZERO_HASH)


def write_step(db, step: int, at: str, prev_hash: str, rows: list[tuple]) -> str:
    """Write one step of the chain: `rows` (tenant, subject, reader, first_seq, last_seq, records as
    stored), in seq order, each range following the one before; returns the step's hash."""
    last_seq = rows[-1][4]
    digest = step_hash(step, at, last_seq, prev_hash, rows)
    db.executemany(_INSERT_ROW, [(step, *row) for row in rows])  # one statement for the batch
    db.execute(_INSERT_STEP, (step, at, last_seq, prev_hash, digest))
    return digest


def broken_steps(db) -> list[int]:
    """The steps of the chain in `db` that are broken (see AccessLog.verify)."""
    rows = iter(db.execute("SELECT step, tenant, subject, reader, first_seq, last_seq, records "
                           "FROM consent_access_records ORDER BY step, first_seq").fetchall())
    row = next(rows, None)
    broken, prev, last = [], ZERO_HASH, 0
    for step, at, last_seq, prev_hash, digest in db.execute(
            "SELECT step, at, last_seq, prev_hash, hash FROM consent_access_chain ORDER BY step").fetchall():
        while row is not None and row[0] < step:  # rows of no step
            broken.append(row[0])
            row = next(rows, None)
        mine = []
        while row is not None and row[0] == step:
            mine.append(row[1:])
            row = next(rows, None)
        contiguous = all(r[3] == before + 1 for r, before in zip(mine, [last, *(r[4] for r in mine)]))
        if (prev_hash != prev or step_hash(step, at, last_seq, prev_hash, mine) != digest or not contiguous
                or not mine or mine[-1][4] != last_seq):
            broken.append(step)
        prev, last = digest, last_seq
    broken.extend(r[0] for r in [row, *rows] if r is not None)  # rows after the last step
    return sorted(set(broken))


def _records(pending: dict[tuple, list], bodies: dict, texts: dict) -> dict[tuple, list[tuple[list[str], str]]]:
    """The notes as records, by (tenant, reader, subject) in the order first noted: one record per
    (reader, subject, request, purpose, basis) with the union of its attributes, consents and entities,
    each as the JSON texts of its fields after `seq` (given when written): its time and request (the
    head), and the rest, so a flush makes strings, not objects. Requests in turn whose notes are the
    same object (a page read again) are one run: (their heads, in turn, and each subject's rest), kept
    once per subject rather than once per record."""
    rows: dict[tuple, list[tuple[list[str], str]]] = {}
    run = None  # (the notes, tenant, reader, why, the heads) of the run the last request was in
    for (tenant, reader, request, purpose, basis), (at, notes) in pending.items():
        head = orjson.dumps([at, request]).decode()[1:-1]
        if run is not None and run[0] is notes and run[1] == tenant and run[2] == reader and run[3] == (purpose, basis):
            run[4].append(head)  # every subject of the run has its record of this request
            continue
        heads = [head]
        run = (notes, tenant, reader, (purpose, basis), heads)
        for subject, rest in _texts_of(notes, purpose, basis, bodies, texts):
            found = rows.get((tenant, reader, subject))
            if found is None:
                rows[(tenant, reader, subject)] = [(heads, rest)]
            else:
                found.append((heads, rest))
    return rows


def _texts_of(notes, purpose: str | None, basis: str, bodies: dict, texts: dict) -> list[tuple[str, str]]:
    """_by_subject of one request's notes; remembered in `texts` by the notes when they are a tuple
    (the read path gives a page's releases again as the same tuple; kept with its entry, so an id is
    never reused while remembered)."""
    why = orjson.dumps([purpose, basis]).decode()[1:-1]
    if not isinstance(notes, tuple):
        return _by_subject(notes, why, bodies)
    key = (why, id(notes))
    known = texts.get(key)
    if known is not None and known[0] is notes:
        return known[1]
    if len(texts) >= TEXTS_KEPT:
        texts.clear()
    made = _by_subject(notes, why, bodies)
    texts[key] = (notes, made)
    return made


def _by_subject(notes: list[tuple], why: str, bodies: dict) -> list[tuple[str, str]]:
    """(subject, the JSON of `why` (purpose and basis), its attributes, consents and entities) for each
    subject of one request's notes (subject, attrs, consents, entity id)."""
    if len({note[0] for note in notes}) == len(notes):  # each subject once: the common case
        return [(note[0], _body(why, note, bodies)) for note in notes]
    merged: dict[str, list] = {}
    for subject, attrs, consents, entity_id in notes:
        entry = merged.get(subject)
        if entry is None:
            merged[subject] = [attrs, consents, [entity_id]]
            continue
        if entry[0] is not attrs:  # several entities (or states) of one subject: the union
            entry[0] = frozenset({*entry[0], *attrs})
        if entry[1] is not consents:
            entry[1] = frozenset({*entry[1], *consents})
        if entity_id not in entry[2]:
            entry[2].append(entity_id)
    return [(subject, _text(why, attrs, consents, sorted(entities))) for subject, (attrs, consents, entities)
            in merged.items()]


def _body(why: str, note: tuple, bodies: dict) -> str:
    """_text of one note, remembered in `bodies` by the note object: the read path notes an entity
    state's releases with one object (each kept with its entry, so an id is never reused while
    remembered)."""
    key = (why, id(note))
    known = bodies.get(key)
    if known is not None and known[0] is note:
        return known[1]
    if len(bodies) >= BODIES_KEPT:
        bodies.clear()
    text = _text(why, note[1], note[2], [note[3]])
    bodies[key] = (note, text)
    return text


def _text(why: str, attrs, consents, entities: list[str]) -> str:
    """`why`, then the JSON of sorted compact attribute names, sorted consents and the entities."""
    compact = core_context().compact_iri
    body = orjson.dumps([sorted({compact(a) for a in attrs}), sorted(set(consents)), entities]).decode()[1:-1]
    return f"{why},{body}"


_INSERT_ROW = ("INSERT INTO consent_access_records (step, tenant, subject, reader, first_seq, last_seq, records) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)")
_INSERT_STEP = "INSERT INTO consent_access_chain (step, at, last_seq, prev_hash, hash) VALUES (?, ?, ?, ?, ?)"
