"""Checking the audit chain: one streaming pass over the records in seq order, then a closer look at
the few places where something is wrong, to say what happened there and at which seq.

Without Toshi's key only the chain is checked; with it, checkpoints and the pruning anchor must also
carry valid signatures, and the newest signed checkpoint reveals records deleted from the end.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field

from toshi.audit import statements
from toshi.audit.chain import COLUMNS, ZERO_HASH, from_row, record_hash
from toshi.core.signing import SigningKey

MODIFIED = "modified"      # a record's content does not match its hash (or was rewritten, hash and all)
DELETED = "deleted"        # a seq is missing
INSERTED = "inserted"      # an extra record: a duplicate seq, or one linking to a record that has a successor
REORDERED = "reordered"    # a record sits at another seq than the one it was chained at
CHECKPOINT = "checkpoint"  # a signed statement that fails its signature or disagrees with the chain
TRUNCATED = "truncated"    # records after the last one present are covered by a signed checkpoint

NEARBY = 32  # a moved record is looked for this many candidate seqs either side
SELECT = f"SELECT rowid, {', '.join(COLUMNS)} FROM audit_log"


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str
    detail: str


@dataclass
class VerifyReport:
    ok: bool
    checked: int
    problems: list[Problem] = field(default_factory=list)


def _content_ok(record: dict) -> bool:
    try:
        return record_hash(record) == record["hash"]
    except TypeError:  # a value orjson cannot encode (a BLOB written into the table)
        return False


class ChainCheck:
    def __init__(self, db, anchor: dict | None, checkpoints: list[dict], key: SigningKey | None):
        self.db = db
        self.anchor = anchor
        self.checkpoints = checkpoints
        self.key = key
        self.start_seq, self.start_hash = (anchor["seq"], anchor["hash"]) if anchor else (0, ZERO_HASH)
        self.last_seq = self.start_seq
        self.checked = 0
        self.problems: list[Problem] = []
        self.mismatched: list[tuple[int, int]] = []          # (seq, rowid): content does not match hash
        self.broken_links: list[tuple[int, int, str]] = []  # (seq, rowid, prev_hash): links elsewhere
        self.missing: set[int] = set()                      # seqs of small gaps: where moved records came from
        self.hash_at: dict[int, str] = {}                   # the chain's hash at each checkpoint's seq

    def run(self) -> VerifyReport:
        self._check_anchor()
        self._walk()
        self._explain_mismatches()
        self._explain_links()
        self._check_checkpoints()
        problems = sorted(self.problems, key=lambda p: p.seq)
        return VerifyReport(not problems, self.checked, problems)

    def _problem(self, seq: int, kind: str, detail: str) -> None:
        self.problems.append(Problem(seq, kind, detail))

    # -- the pass over all records ----------------------------------------------------------------

    def _groups(self):
        rows = (from_row(row) for row in self.db.execute(SELECT + " ORDER BY seq, rowid"))
        for seq, group in itertools.groupby(rows, key=lambda r: r["seq"]):
            yield seq, list(group)

    def _walk(self) -> None:
        wanted = {cp["seq"] for cp in self.checkpoints}
        prev_hash, prev_bad, expected = self.start_hash, False, self.start_seq + 1
        groups = self._groups()
        current = next(groups, None)
        while current is not None:
            following = next(groups, None)
            seq, rows = current
            self.checked += len(rows)
            if not isinstance(seq, int) or seq < expected:
                where = int(seq) if isinstance(seq, int | float) else 0
                for _ in rows:
                    self._problem(where, INSERTED, f"record with seq {seq!r} before or outside the chain")
                current = following
                continue
            if seq > expected:
                self._gap(expected, seq)
                prev_bad = True
            row = self._genuine(rows, prev_hash, following)
            for other in rows:
                if other is not row:
                    self._problem(seq, INSERTED, "a second record with this seq")
            prev_bad = self._check_row(row, prev_hash, prev_bad)
            if seq in wanted:
                self.hash_at[seq] = row["hash"]
            prev_hash, expected, current = row["hash"], seq + 1, following
        self.last_seq = expected - 1

    def _gap(self, first: int, after: int) -> None:
        last = after - 1
        self._problem(first, DELETED, f"record {first} is missing" if first == last
                      else f"records {first}..{last} are missing")
        if last - first < 2 * NEARBY:
            self.missing.update(range(first, after))

    def _genuine(self, rows: list[dict], prev_hash: str, following) -> dict:
        """Of records sharing a seq, the one the chain goes through (the next record links to it)."""
        if len(rows) == 1:
            return rows[0]
        seq = rows[0]["seq"]
        successors = {r["prev_hash"] for r in following[1]} if following and following[0] == seq + 1 else set()
        return max(rows, key=lambda r: (r["hash"] in successors, _content_ok(r), r["prev_hash"] == prev_hash,
                                        -r["rowid"]))

    def _check_row(self, row: dict, prev_hash: str, prev_bad: bool) -> bool:
        """Whether the record is suspect (then the next record's link to it is not looked at)."""
        if not _content_ok(row):
            self.mismatched.append((row["seq"], row["rowid"]))
            return True
        if row["prev_hash"] != prev_hash and not prev_bad:
            self.broken_links.append((row["seq"], row["rowid"], row["prev_hash"]))
            return True
        return False

    # -- explaining what was found ----------------------------------------------------------------

    def _explain_mismatches(self) -> None:
        candidates = sorted({seq for seq, _ in self.mismatched} | self.missing)
        for seq, rowid in self.mismatched:
            row = from_row(self.db.execute(SELECT + " WHERE rowid=?", (rowid,)).fetchone())
            at = bisect.bisect_left(candidates, seq)
            nearby = [t for t in candidates[max(0, at - NEARBY):at + NEARBY + 1] if t != seq]
            origin = next((t for t in nearby if _content_ok({**row, "seq": t})), None)
            if origin is not None:
                self._problem(seq, REORDERED, f"the record at seq {seq} was written as seq {origin}")
            else:
                self._problem(seq, MODIFIED, "its content does not match its hash")

    def _explain_links(self) -> None:
        if not self.broken_links:
            return
        seq_of = self._seqs_of({h for _, _, h in self.broken_links})
        seq_of.setdefault(self.start_hash, self.start_seq)
        links = self._links_to(set(seq_of))
        for seq, rowid, target in self.broken_links:
            if target not in seq_of:
                self._unknown_link(seq)
            elif any(s == seq_of[target] + 1 and r != rowid for s, r in links.get(target, ())):
                self._problem(seq, INSERTED, f"it links to record {seq_of[target]}, which has a successor")
            else:
                self._problem(seq, REORDERED, f"it links to record {seq_of[target]}: "
                                              "its place in the chain disagrees with its seq")

    def _unknown_link(self, seq: int) -> None:
        if seq - 1 <= self.start_seq:
            self._problem(seq, MODIFIED, "it does not link to the start of the chain")
        else:
            self._problem(seq - 1, MODIFIED, f"record {seq} links to a hash no record has: "
                                             f"record {seq - 1} was rewritten (hash and all)")

    def _seqs_of(self, hashes: set[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in _chunks(sorted(hashes)):
            marks = ",".join("?" * len(chunk))
            for hash_, seq in self.db.execute(f"SELECT hash, seq FROM audit_log WHERE hash IN ({marks})", chunk):
                found[hash_] = min(seq, found.get(hash_, seq))
        return found

    def _links_to(self, hashes: set[str]) -> dict[str, list[tuple[int, int]]]:
        links: dict[str, list[tuple[int, int]]] = {}
        for chunk in _chunks(sorted(hashes)):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT prev_hash, seq, rowid FROM audit_log WHERE prev_hash IN ({marks})"
            for prev_hash, seq, rowid in self.db.execute(sql, chunk):
                links.setdefault(prev_hash, []).append((seq, rowid))
        return links

    # -- signed statements ------------------------------------------------------------------------

    def _check_anchor(self) -> None:
        if self.anchor and self.key and not statements.signature_ok(self.key, self.anchor, statements.ANCHOR):
            self._problem(self.anchor["seq"], CHECKPOINT, "the pruning anchor's signature does not verify")

    def _check_checkpoints(self) -> None:
        newest = None
        for cp in self.checkpoints:
            if not isinstance(cp["seq"], int):
                self._problem(0, CHECKPOINT, f"checkpoint with seq {cp['seq']!r}")
            elif self.key is not None and not statements.signature_ok(self.key, cp):
                self._problem(cp["seq"], CHECKPOINT, f"checkpoint of {cp['at']}: signature does not verify "
                                                     f"with key {self.key.kid}")
            elif cp["seq"] > self.last_seq:
                newest = cp
            elif cp["seq"] == self.start_seq and cp["hash"] != self.start_hash:
                self._problem(cp["seq"], CHECKPOINT, f"checkpoint of {cp['at']} disagrees with the chain's start")
            elif cp["seq"] in self.hash_at and self.hash_at[cp["seq"]] != cp["hash"]:
                self._problem(cp["seq"], CHECKPOINT, f"checkpoint of {cp['at']}: the record's hash differs "
                                                     "from the signed one")
        if newest is not None:
            first, last = self.last_seq + 1, newest["seq"]
            self._problem(first, TRUNCATED, f"records {first}..{last} are missing: "
                                            f"a checkpoint of {newest['at']} covers seq {last}")


def _chunks(items: list, size: int = 500):
    for start in range(0, len(items), size):
        yield items[start:start + size]
