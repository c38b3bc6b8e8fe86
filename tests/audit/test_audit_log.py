"""The audit trail: records chained by hash, signed checkpoints, pruning; and every kind of tampering
with the SQLite rows found at the right seq."""

from __future__ import annotations

import hashlib

import orjson
import psycopg
import pytest

from toshi.audit.chain import COLUMNS, ZERO_HASH, record_hash
from toshi.audit.log import AuditLog, audit_log_of
from toshi.core.signing import SigningKey


def at(n: int) -> str:
    return f"2026-11-24T10:{n // 60:02d}:{n % 60:02d}.000Z"


def record(n: int, **changes) -> dict:
    base = {"at": at(n), "principal": f"acct_{n % 3}", "tenant": "osaka" if n % 2 else "", "operation": "create",
            "target": f"urn:ngsi-ld:Shelter:{n:03d}", "request_id": f"req-{n}", "outcome": "ok",
            "detail": {"n": n, "attrs": ["occupancy"]}}
    return {**base, **changes}


@pytest.fixture
def log(store) -> AuditLog:
    return audit_log_of(store)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def ten(log) -> AuditLog:
    log.append([record(n) for n in range(1, 11)])
    return log


def found(report) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in report.problems]


def row(store, seq: int) -> dict:
    values = store.db.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_log WHERE seq=?", (seq,)).fetchone()
    result = dict(zip(COLUMNS, values))
    result["detail"] = orjson.loads(result["detail"]) if result["detail"] else None
    return result


def insert(store, values: dict) -> None:
    stored = {**values, "detail": orjson.dumps(values["detail"], option=orjson.OPT_SORT_KEYS).decode()
              if values["detail"] is not None else None}
    store.db.execute(f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                     [stored[c] for c in COLUMNS])


def rehash(store, seq: int, **changes) -> str:
    """Rewrites record `seq` with `changes` and a correct hash of its own (a careful tamperer)."""
    values = {**row(store, seq), **changes}
    values["hash"] = record_hash(values)
    store.db.execute("UPDATE audit_log SET outcome=?, prev_hash=?, seq=?, hash=? WHERE seq=?",
                     (values["outcome"], values["prev_hash"], values["seq"], values["hash"], seq))
    return values["hash"]


# -- appending and reading --------------------------------------------------------------------------


def test_one_audit_log_per_store(store):
    assert audit_log_of(store) is audit_log_of(store)


def test_append_chains_records_from_seq_1(store, ten):
    records = ten.records(limit=1000)
    assert [r["seq"] for r in records] == list(range(1, 11))
    assert records[0]["prev_hash"] == ZERO_HASH
    for before, after in zip(records, records[1:]):
        assert after["prev_hash"] == before["hash"]
    first = records[0]
    assert first["hash"] == record_hash(first)
    canonical = orjson.dumps({k: first[k] for k in COLUMNS if k != "hash"}, option=orjson.OPT_SORT_KEYS)
    assert first["hash"] == hashlib.sha256(canonical).hexdigest()
    assert first == {**record(1), "seq": 1, "prev_hash": ZERO_HASH, "hash": first["hash"]}


def test_append_continues_the_chain_across_calls_and_restarts(tmp_path, opener):
    import asyncio

    store = opener(tmp_path / "t.db")
    audit_log_of(store).append([record(1)])
    asyncio.run(store.close())
    store = opener(tmp_path / "t.db")
    try:
        audit_log_of(store).append([record(2), record(3)])
        records = audit_log_of(store).records()
        assert [r["seq"] for r in records] == [1, 2, 3] and records[1]["prev_hash"] == records[0]["hash"]
        assert audit_log_of(store).verify().ok
    finally:
        asyncio.run(store.close())


def test_defaults_and_normalisation(log):
    log.append([{"operation": "login", "outcome": "denied", "at": "2026-11-24T19:00:00+09:00", "target": 42}])
    log.append([{"operation": "delete", "outcome": "error:500"}])
    first, second = log.records()
    assert first["at"] == "2026-11-24T10:00:00.000Z" and first["target"] == "42"
    assert first["principal"] is None and first["detail"] is None
    assert second["at"].endswith("Z") and len(second["at"]) == 24
    assert log.verify().ok


@pytest.mark.parametrize("bad", [
    {"operation": "x"},                                  # no outcome
    {"outcome": "ok"},                                   # no operation
    {"operation": "x", "outcome": "ok", "colour": "red"},
    {"operation": "x", "outcome": "ok", "detail": {1: "non-string key"}},
    {"operation": "x", "outcome": "ok", "detail": {"set": {1, 2}}},
    {"operation": "x", "outcome": "ok", "at": "yesterday"},
])
def test_invalid_records_are_refused_whole(log, bad):
    with pytest.raises(ValueError):
        log.append([record(1), bad])
    assert log.records() == []


def test_append_nothing(log):
    log.append([])
    assert log.records() == []


def test_filters(ten):
    assert [r["seq"] for r in ten.records(tenant="osaka")] == [1, 3, 5, 7, 9]
    assert [r["seq"] for r in ten.records(tenant="")] == [2, 4, 6, 8, 10]
    assert [r["seq"] for r in ten.records(principal="acct_0")] == [3, 6, 9]
    assert [r["seq"] for r in ten.records(after_seq=7)] == [8, 9, 10]
    assert [r["seq"] for r in ten.records(limit=2)] == [1, 2]
    assert [r["seq"] for r in ten.records(since=at(4), until=at(6))] == [4, 5]
    assert [r["seq"] for r in ten.records(since="2026-11-24T19:00:08+09:00")] == [8, 9, 10]
    assert ten.records(operation="delete") == [] and len(ten.records(operation="create")) == 10
    assert ten.records(outcome="denied") == []


async def test_append_inside_the_callers_transaction(store, log):
    async with store.transaction("osaka"):
        log.append([record(1), record(2)], db=store.db)
    with pytest.raises(RuntimeError):
        async with store.transaction("osaka"):
            log.append([record(3)], db=store.db)
            raise RuntimeError("the write failed")
    log.append([record(4)])  # continues from the committed tail, not the rolled-back one
    assert [r["seq"] for r in log.records()] == [1, 2, 3]
    assert log.records()[2]["target"] == record(4)["target"]
    assert log.verify().ok


async def test_first_use_inside_a_rolled_back_transaction(store, log):
    with pytest.raises(RuntimeError):
        async with store.transaction("osaka"):
            log.append([record(1)], db=store.db)
            raise RuntimeError("rolled back, tables and all")
    log.append([record(2)])
    assert [r["seq"] for r in log.records()] == [1] and log.verify().ok


def test_the_api_has_no_way_to_change_or_remove_records():
    public = {name for name in dir(AuditLog) if not name.startswith("_")}
    assert public == {"append", "records", "checkpoints", "anchor", "checkpoint", "verify", "prune"}


# -- checkpoints and verification -------------------------------------------------------------------


def test_a_clean_log_verifies(ten, key):
    report = ten.verify(key)
    assert report.ok and report.checked == 10 and report.problems == []
    assert ten.verify().ok


def test_an_empty_log_verifies(log, key):
    assert log.verify(key).ok and log.verify(key).checked == 0
    checkpoint = log.checkpoint(key)
    assert checkpoint["seq"] == 0 and checkpoint["hash"] == ZERO_HASH
    assert log.verify(key).ok


def test_checkpoint_signs_the_tail(ten, key):
    checkpoint = ten.checkpoint(key)
    tail = ten.records(after_seq=9)[0]
    assert checkpoint["seq"] == 10 and checkpoint["hash"] == tail["hash"] and checkpoint["kid"] == key.kid
    assert ten.checkpoints() == [checkpoint]
    ten.append([record(11)])
    assert ten.verify(key).ok


def test_modified_record(store, ten, key):
    store.db.execute("UPDATE audit_log SET outcome='denied' WHERE seq=5")
    report = ten.verify(key)
    assert not report.ok and found(report) == [(5, "modified")]
    assert "does not match its hash" in report.problems[0].detail


def test_modified_detail(store, ten):
    store.db.execute("""UPDATE audit_log SET detail='{"attrs":["occupancy"],"n":99}' WHERE seq=8""")
    assert found(ten.verify()) == [(8, "modified")]


def test_modified_record_with_recomputed_hash(store, ten):
    rehash(store, 5, outcome="denied")
    report = ten.verify()
    assert found(report) == [(5, "modified")]
    assert "record 6 links to a hash no record has" in report.problems[0].detail


def test_modified_first_record_with_recomputed_hash(store, ten):
    rehash(store, 1, prev_hash="f" * 64)
    assert found(ten.verify()) == [(1, "modified")]


def test_modified_last_record_is_found_by_the_checkpoint(store, ten, key):
    ten.checkpoint(key)
    rehash(store, 10, outcome="denied")
    report = ten.verify(key)
    assert found(report) == [(10, "checkpoint")]
    assert "differs from the signed one" in report.problems[0].detail


def test_rewriting_the_whole_tail_is_found_by_the_checkpoint(store, ten, key):
    ten.checkpoint(key)
    prev = row(store, 6)["prev_hash"]
    for seq in range(6, 11):
        prev = rehash(store, seq, outcome="denied", prev_hash=prev)
    assert found(ten.verify(key)) == [(10, "checkpoint")]


def test_a_value_sqlite_holds_but_json_cannot(store, ten):
    store.db.execute("UPDATE audit_log SET target=x'00ff' WHERE seq=3")
    assert found(ten.verify()) == [(3, "modified")]


def test_deleted_record(store, ten):
    store.db.execute("DELETE FROM audit_log WHERE seq=5")
    report = ten.verify()
    assert found(report) == [(5, "deleted")] and report.checked == 9
    assert report.problems[0].detail == "record 5 is missing"


def test_deleted_first_record(store, ten):
    store.db.execute("DELETE FROM audit_log WHERE seq=1")
    assert found(ten.verify()) == [(1, "deleted")]


def test_deleted_run_of_records(store, ten):
    store.db.execute("DELETE FROM audit_log WHERE seq BETWEEN 4 AND 6")
    report = ten.verify()
    assert found(report) == [(4, "deleted")] and report.problems[0].detail == "records 4..6 are missing"


def test_deleted_newest_records_are_found_by_the_checkpoint(store, ten, key):
    ten.checkpoint(key)
    store.db.execute("DELETE FROM audit_log WHERE seq >= 8")
    report = ten.verify(key)
    assert found(report) == [(8, "truncated")] and "records 8..10 are missing" in report.problems[0].detail
    assert found(ten.verify()) == [(8, "truncated")]  # unsigned checkpoints are still read without the key


def test_deleted_newest_records_after_the_last_checkpoint_cannot_be_seen(store, ten, key):
    """The limit of a hash chain: the end after the last checkpoint is not covered by anything."""
    ten.checkpoint(key)
    ten.append([record(11), record(12)])
    store.db.execute("DELETE FROM audit_log WHERE seq >= 11")
    assert ten.verify(key).ok


def test_truncation_then_new_records_is_found_by_the_checkpoint(store, ten, key):
    ten.checkpoint(key)
    store.db.execute("DELETE FROM audit_log WHERE seq >= 8")
    ten.append([record(20), record(21), record(22)])  # seq 8..10 again, with other hashes
    assert found(ten.verify(key)) == [(10, "checkpoint")]


def test_inserted_duplicate_seq(store, ten):
    forged = {**record(50, outcome="ok", principal="acct_admin"), "seq": 5, "prev_hash": row(store, 4)["hash"]}
    forged["hash"] = record_hash(forged)
    insert(store, forged)
    report = ten.verify()
    assert found(report) == [(5, "inserted")] and report.checked == 11
    assert report.problems[0].detail == "a second record with this seq"


def test_inserted_duplicate_seq_stored_before_the_genuine_one(store, log):
    """The genuine record is the one the chain goes through, not the one with the lower rowid."""
    log.append([record(1), record(2), record(3)])
    store.db.execute("UPDATE audit_log SET rowid=100 WHERE seq=2")
    forged = {**record(50), "seq": 2, "prev_hash": row(store, 1)["hash"]}
    forged["hash"] = record_hash(forged)
    insert(store, forged)
    store.db.execute("UPDATE audit_log SET rowid=50 WHERE hash=?", (forged["hash"],))
    report = log.verify()
    assert found(report) == [(2, "inserted")]


def test_inserted_record_at_the_end_linking_back(store, ten):
    forged = {**record(60), "seq": 11, "prev_hash": row(store, 4)["hash"]}
    forged["hash"] = record_hash(forged)
    insert(store, forged)
    report = ten.verify()
    assert found(report) == [(11, "inserted")] and "links to record 4, which has a successor" in \
        report.problems[0].detail


def test_inserted_record_with_a_made_up_hash(store, ten):
    insert(store, {**record(70), "seq": 11, "prev_hash": row(store, 10)["hash"], "hash": "a" * 64})
    assert found(ten.verify()) == [(11, "modified")]


def test_inserted_record_before_the_chain(store, ten):
    insert(store, {**record(0), "seq": 0, "prev_hash": ZERO_HASH, "hash": "b" * 64})
    if getattr(store.db, "dialect", "sqlite") == "postgresql":  # typed columns: no seq that is not an integer
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            insert(store, {**record(0), "seq": "seven", "prev_hash": ZERO_HASH, "hash": "c" * 64})
        assert found(ten.verify()) == [(0, "inserted")]
        return
    insert(store, {**record(0), "seq": "seven", "prev_hash": ZERO_HASH, "hash": "c" * 64})
    insert(store, {**record(0), "seq": 5.5, "prev_hash": ZERO_HASH, "hash": "e" * 64})
    assert found(ten.verify()) == [(0, "inserted"), (0, "inserted"), (5, "inserted")]


def swap(store, a: int, b: int) -> None:
    store.db.execute("UPDATE audit_log SET seq=-1 WHERE seq=?", (a,))
    store.db.execute("UPDATE audit_log SET seq=? WHERE seq=?", (a, b))
    store.db.execute("UPDATE audit_log SET seq=? WHERE seq=-1", (b,))


def test_reordered_records(store, ten):
    swap(store, 3, 7)
    report = ten.verify()
    assert found(report) == [(3, "reordered"), (7, "reordered")]
    assert report.problems[0].detail == "the record at seq 3 was written as seq 7"


def test_reordered_neighbours(store, ten):
    swap(store, 4, 5)
    assert found(ten.verify()) == [(4, "reordered"), (5, "reordered")]


def test_reordered_records_with_recomputed_hashes(store, ten):
    swap(store, 3, 7)
    rehash(store, 3)
    rehash(store, 7)
    report = ten.verify()
    assert found(report) == [(3, "reordered"), (7, "reordered")]
    assert "links to record 6" in report.problems[0].detail


def test_a_record_moved_to_the_end(store, ten):
    store.db.execute("UPDATE audit_log SET seq=11 WHERE seq=6")
    assert found(ten.verify()) == [(6, "deleted"), (11, "reordered")]


def test_checkpoint_with_a_forged_signature(store, ten, key):
    ten.checkpoint(key)
    store.db.execute("UPDATE audit_checkpoints SET signature='AAAA'")
    report = ten.verify(key)
    assert found(report) == [(10, "checkpoint")] and "signature" in report.problems[0].detail


def test_checkpoint_moved_to_another_record(store, ten, key):
    ten.checkpoint(key)
    store.db.execute("UPDATE audit_checkpoints SET seq=9, hash=(SELECT hash FROM audit_log WHERE seq=9)")
    assert found(ten.verify(key)) == [(9, "checkpoint")]
    assert ten.verify().ok  # without the key the moved checkpoint still agrees with the chain


def test_checkpoint_hash_changed_without_the_key(store, ten, key):
    ten.checkpoint(key)
    store.db.execute("UPDATE audit_checkpoints SET hash=?", ("d" * 64,))
    assert found(ten.verify()) == [(10, "checkpoint")]
    assert found(ten.verify(key)) == [(10, "checkpoint")]


def test_checkpoint_signed_by_another_key(ten, key):
    ten.checkpoint(SigningKey.generate())
    report = ten.verify(key)
    assert found(report) == [(10, "checkpoint")] and key.kid in report.problems[0].detail


def test_several_problems_are_reported_in_seq_order(store, ten):
    store.db.execute("UPDATE audit_log SET outcome='x' WHERE seq=8")
    store.db.execute("DELETE FROM audit_log WHERE seq=3")
    assert found(ten.verify()) == [(3, "deleted"), (8, "modified")]


# -- pruning ----------------------------------------------------------------------------------------


def test_prune_keeps_a_signed_anchor(store, ten, key):
    ten.checkpoint(key)
    assert ten.prune(at(6), key) == 5
    assert [r["seq"] for r in ten.records()] == [6, 7, 8, 9, 10]
    anchor = ten.anchor()
    assert anchor["seq"] == 5 and anchor["kid"] == key.kid
    assert ten.verify(key).ok and ten.verify(key).checked == 5
    ten.append([record(11)])
    assert ten.records(after_seq=10)[0]["seq"] == 11
    assert ten.verify(key).ok


def test_prune_stops_at_the_newest_checkpoint(store, log, key):
    log.append([record(n) for n in range(1, 4)])
    log.checkpoint(key)
    log.append([record(n) for n in range(4, 11)])
    assert log.prune(at(50), key) == 3
    assert [r["seq"] for r in log.records()][0] == 4
    assert log.verify(key).ok


def test_prune_needs_a_checkpoint(ten, key):
    assert ten.prune(at(50), key) == 0
    assert len(ten.records()) == 10 and ten.anchor() is None


def test_prune_everything_then_continue(store, ten, key):
    ten.checkpoint(key)
    assert ten.prune("2030-01-01T00:00:00Z", key) == 10
    assert ten.records() == [] and ten.verify(key).ok
    assert ten.checkpoints()[0]["seq"] == 10  # the checkpoint at the anchor stays
    ten.append([record(11)])
    first = ten.records()[0]
    assert first["seq"] == 11 and first["prev_hash"] == ten.anchor()["hash"]
    assert ten.verify(key).ok


def test_prune_twice(store, ten, key):
    ten.checkpoint(key)
    ten.prune(at(3), key)
    ten.append([record(n) for n in range(11, 15)])
    ten.checkpoint(key)
    assert ten.prune(at(9), key) == 6
    assert ten.anchor()["seq"] == 8 and [c["seq"] for c in ten.checkpoints()] == [10, 14]
    assert ten.verify(key).ok


def test_prune_refuses_a_log_that_does_not_verify(store, ten, key):
    ten.checkpoint(key)
    store.db.execute("UPDATE audit_log SET outcome='x' WHERE seq=2")
    with pytest.raises(ValueError):
        ten.prune(at(6), key)
    assert len(ten.records()) == 10


def test_prune_with_nothing_old_enough(ten, key):
    ten.checkpoint(key)
    assert ten.prune(at(1), key) == 0 and ten.anchor() is None


def test_a_forged_anchor_is_found(store, ten, key):
    """Deleting more old records and moving the anchor forward needs the key."""
    ten.checkpoint(key)
    ten.prune(at(4), key)
    seven = row(store, 7)
    store.db.execute("DELETE FROM audit_log WHERE seq <= 7")
    store.db.execute("UPDATE audit_anchor SET seq=7, hash=?", (seven["hash"],))
    assert found(ten.verify(key)) == [(7, "checkpoint")]


def test_a_checkpoint_signature_does_not_pass_for_an_anchor(store, ten, key):
    ten.checkpoint(key)
    ten.prune(at(4), key)  # anchor at 3, checkpoint at 10
    store.db.execute("DELETE FROM audit_log")
    store.db.execute("DELETE FROM audit_anchor")
    store.db.execute("INSERT INTO audit_anchor SELECT * FROM audit_checkpoints")
    assert found(ten.verify(key)) == [(10, "checkpoint")]


def test_a_deleted_anchor_shows_the_pruned_records_as_deleted(store, ten, key):
    ten.checkpoint(key)
    ten.prune(at(6), key)
    store.db.execute("DELETE FROM audit_anchor")
    assert found(ten.verify(key)) == [(1, "deleted")]
