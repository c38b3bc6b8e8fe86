"""The access log of a town made before the log was kept in chain steps: its table
`consent_access_log` (one hash per record, each covering the previous record's hash) moved into
`consent_access_chain` / `consent_access_records` (toshi/consent/accesslog.py), so residents still
see every access of before the upgrade and `toshi consent verify-log` checks all of it.

Run when the access log's tables are first used (the server does so at start-up), in one write
transaction that ends by dropping the old table: idempotent, and a failure leaves both as they were.
Both chains are checked first; a broken one is not moved (its evidence would be re-hashed as if
intact) and the error names where it breaks. The old records come first, seqs 1..n as they were;
records the newer log already holds (a town that ran before this upgrade existed) follow, their seqs
moved on by n, so a paging position from before the upgrade shows some records again, never skips.
"""

from __future__ import annotations

import hashlib
from itertools import groupby

import orjson

from toshi.consent.accesslog import ZERO_HASH, broken_steps, write_step
from toshi.jsonld.context import core_context
from toshi.store import atomic, table_exists

OLD_TABLE = "consent_access_log"
# the old record's fields, as its hash covered them (the stored hash follows)
OLD_FIELDS = ("seq", "at", "tenant", "subject", "reader", "request_id", "purpose", "basis", "attrs",
              "consents", "entities", "prev_hash")
RECORDS_PER_STEP = 1000


class BrokenAccessLog(ValueError):
    """A chain that does not verify: not moved."""


def upgrade(db) -> int:
    """Move the old table's records into the chain steps; the number moved (0: nothing to do)."""
    if not table_exists(db, OLD_TABLE):
        return 0
    with atomic(db):
        if not table_exists(db, OLD_TABLE):  # another process moved it while this one waited
            return 0
        old = _old_records(db)
        broken = broken_steps(db)
        if broken:
            raise BrokenAccessLog(f"the access log's chain is broken at steps {broken[:10]}: "
                                  f"{OLD_TABLE} was not moved into it")
        newer = _steps(db)
        db.execute("DELETE FROM consent_access_records")
        db.execute("DELETE FROM consent_access_chain")
        step, prev = 0, ZERO_HASH
        for start in range(0, len(old), RECORDS_PER_STEP):
            chunk = old[start:start + RECORDS_PER_STEP]
            step += 1
            prev = write_step(db, step, chunk[-1][1]["at"], prev, _rows(chunk))
        for at, rows in newer:
            step += 1
            prev = write_step(db, step, at, prev, [_moved(row, len(old)) for row in rows])
        db.execute(f"DROP TABLE {OLD_TABLE}")
    return len(old)


def _old_records(db) -> list[tuple[tuple, dict]]:
    """((tenant, subject, reader), record) of the old table in seq order, its chain checked."""
    out, prev = [], ZERO_HASH
    for row in db.execute(f"SELECT {', '.join(OLD_FIELDS)}, hash FROM {OLD_TABLE} ORDER BY seq").fetchall():
        record = dict(zip(OLD_FIELDS, row))
        for key in ("attrs", "consents", "entities"):
            record[key] = orjson.loads(record[key])
        digest = hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()
        if record["seq"] != len(out) + 1 or record["prev_hash"] != prev or digest != row[-1]:
            raise BrokenAccessLog(f"the old access log ({OLD_TABLE}) is broken at seq {record['seq']}: "
                                  "not moved (keep a backup of the data directory as evidence)")
        prev = row[-1]
        out.append(((record["tenant"], record["subject"], record["reader"]), record))
    return out


def _rows(chunk: list[tuple[tuple, dict]]) -> list[tuple]:
    """The chunk's records as rows: one per run of records of one (tenant, subject, reader)."""
    compact = core_context().compact_iri
    rows = []
    for (tenant, subject, reader), run in groupby(chunk, key=lambda item: item[0]):
        records = [[r["seq"], r["at"], r["request_id"], r["purpose"], r["basis"],
                    sorted({compact(a) for a in r["attrs"]}), r["consents"], r["entities"]] for _, r in run]
        rows.append((tenant, subject, reader, records[0][0], records[-1][0], orjson.dumps(records).decode()))
    return rows


def _steps(db) -> list[tuple[str, list[tuple]]]:
    """The newer log's steps in order: (at, rows in seq order)."""
    rows = db.execute("SELECT step, tenant, subject, reader, first_seq, last_seq, records "
                      "FROM consent_access_records ORDER BY step, first_seq").fetchall()
    by_step = {step: [row[1:] for row in group] for step, group in groupby(rows, key=lambda row: row[0])}
    return [(at, by_step[step]) for step, at in
            db.execute("SELECT step, at FROM consent_access_chain ORDER BY step").fetchall()]


def _moved(row: tuple, by: int) -> tuple:
    tenant, subject, reader, first, last, records = row
    records = orjson.loads(records)
    for record in records:
        record[0] += by
    return (tenant, subject, reader, first + by, last + by, orjson.dumps(records).decode())
