"""`toshi audit verify | list | checkpoint | prune`, through a real argparse parser and store."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from toshi.audit.log import audit_log_of
from toshi.core.signing import key_file


@pytest.fixture
def on_store(tmp_path, opener):
    """Calls fn(store) on the store the commands use, then closes it."""
    def call(fn):
        store = opener(tmp_path / "data" / "toshi.db")
        try:
            return fn(store)
        finally:
            asyncio.run(store.close())
    return call


@pytest.fixture
def filled(on_store):
    records = [{"operation": "create", "outcome": "ok", "tenant": "osaka" if n % 2 else "kyoto",
                "principal": "acct_a", "target": f"urn:ngsi-ld:Bus:{n}", "at": f"2026-11-24T10:00:{n:02d}Z"}
               for n in range(1, 9)]
    on_store(lambda store: audit_log_of(store).append(records))


def test_verify_a_clean_log(toshi, filled):
    code, out, err = toshi("audit", "verify")
    assert code == 0 and out.strip() == "ok: 8 records verified"
    assert "signatures not checked" in err  # no signing key yet


def test_verify_reports_each_problem_on_its_own_line(toshi, filled, on_store):
    def tamper(store):
        store.db.execute("UPDATE audit_log SET outcome='denied' WHERE seq=2")
        store.db.execute("DELETE FROM audit_log WHERE seq=6")
    on_store(tamper)
    code, out, _ = toshi("audit", "verify")
    assert code == 1
    assert out.splitlines() == ["seq 2: modified: its content does not match its hash",
                                "seq 6: deleted: record 6 is missing"]


def test_checkpoint_then_truncation_is_found(toshi, filled, on_store, tmp_path):
    code, out, _ = toshi("audit", "checkpoint")
    assert code == 0 and out.startswith("checkpoint at seq 8 ")
    assert key_file(tmp_path / "data").exists()
    code, _, err = toshi("audit", "verify")
    assert code == 0 and err == ""
    on_store(lambda store: store.db.execute("DELETE FROM audit_log WHERE seq >= 7"))
    code, out, _ = toshi("audit", "verify")
    assert code == 1 and out.startswith("seq 7: truncated: records 7..8 are missing")


def test_a_forged_checkpoint_fails_with_the_key(toshi, filled, on_store):
    toshi("audit", "checkpoint")
    on_store(lambda store: store.db.execute("UPDATE audit_checkpoints SET signature='AAAA'"))
    code, out, _ = toshi("audit", "verify")
    assert code == 1 and out.startswith("seq 8: checkpoint:")


def test_list_filters_and_limits(toshi, filled):
    code, out, _ = toshi("audit", "list", "--tenant", "osaka", "--limit", "3")
    records = [orjson.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["seq"] for r in records] == [1, 3, 5]
    assert records[0]["target"] == "urn:ngsi-ld:Bus:1" and len(records[0]["hash"]) == 64
    _, out, _ = toshi("audit", "list", "--after", "6")
    assert [orjson.loads(line)["seq"] for line in out.splitlines()] == [7, 8]
    _, out, _ = toshi("audit", "list", "--since", "2026-11-24T10:00:04Z", "--until", "2026-11-24T10:00:06Z")
    assert [orjson.loads(line)["seq"] for line in out.splitlines()] == [4, 5]
    _, out, _ = toshi("audit", "list", "--outcome", "denied")
    assert out == ""


def test_prune(toshi, filled, on_store):
    code, out, _ = toshi("audit", "prune", "--before", "2026-11-24T10:00:05Z")
    assert code == 0 and out.strip() == "pruned 0 records"  # nothing is covered by a checkpoint yet
    toshi("audit", "checkpoint")
    code, out, _ = toshi("audit", "prune", "--before", "2026-11-24T10:00:05Z")
    assert code == 0 and out.strip() == "pruned 4 records"
    records = on_store(lambda store: audit_log_of(store).records())
    assert [r["seq"] for r in records if not r["operation"].startswith("cli ")] == [5, 6, 7, 8]
    assert [r["operation"] for r in records if r["operation"].startswith("cli ")] == [
        "cli audit prune", "cli audit checkpoint", "cli audit prune"]  # management commands are audited
    code, out, _ = toshi("audit", "verify")
    assert code == 0 and out.strip() == f"ok: {len(records)} records verified"
