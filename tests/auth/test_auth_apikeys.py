"""API keys of service accounts: shown once, stored hashed, revocable, rotatable, cached safely."""

from __future__ import annotations

import asyncio
import hashlib
import re

import pytest

from toshi.auth import apikeys
from toshi.auth.apikeys import ApiKeys, api_keys_of, split_key

KEY_SHAPE = re.compile(r"^toshi_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{43}$")


class CountingDb:
    """The store's connection, counting the statements run through it."""

    def __init__(self, db):
        self.db = db
        self.statements = 0

    def execute(self, *args):
        self.statements += 1
        return self.db.execute(*args)

    def __getattr__(self, name):
        return getattr(self.db, name)


def travel(monkeypatch, to: str) -> None:
    monkeypatch.setattr(apikeys, "now_iso", lambda: to)


@pytest.fixture
def keys(store) -> ApiKeys:
    return api_keys_of(store)


@pytest.fixture
def sensor(keys) -> dict:
    return keys.create_account("sensor-gateway", ["osaka:provider", "default:consumer"], ["iot", "osaka"])


def test_one_api_keys_per_store(store):
    assert api_keys_of(store) is api_keys_of(store)


def test_accounts_are_created_listed_and_read(keys, sensor):
    assert sensor["id"].startswith("acct_") and sensor["name"] == "sensor-gateway"
    assert sensor["roles"] == {"default": ["consumer"], "osaka": ["provider"]}
    assert sensor["groups"] == ["iot", "osaka"]
    other = keys.create_account("dashboard", {"*": ["consumer"]})
    assert [a["id"] for a in keys.accounts()] == [sensor["id"], other["id"]]
    assert keys.account(sensor["id"]) == sensor
    assert keys.account("acct_nope") is None


@pytest.mark.parametrize("name, roles, groups", [
    ("", ["osaka:admin"], ()), ("x", ["osaka:root"], ()), ("x", ["osaka:admin"], "iot"), ("x", ["osaka:admin"], [""]),
])
def test_invalid_accounts_are_refused(keys, name, roles, groups):
    with pytest.raises(ValueError):
        keys.create_account(name, roles, groups)
    assert keys.accounts() == []


def test_a_key_is_shown_once_and_stored_hashed(store, keys, sensor):
    record, plaintext = keys.create_key(sensor["id"])
    assert KEY_SHAPE.match(plaintext)
    key_id, secret = split_key(plaintext)
    assert record == {"id": key_id, "account": sensor["id"], "created": record["created"], "expires": None,
                      "revoked": None, "last4": secret[-4:]}
    assert keys.keys() == [record] and keys.keys(sensor["id"]) == [record] and keys.keys("acct_x") == []
    stored = store.db.execute("SELECT hash FROM auth_keys WHERE id=?", (key_id,)).fetchone()[0]
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    dump = everything_stored(store.db)
    assert sensor["id"] in dump and secret not in dump and plaintext not in dump


def everything_stored(db) -> str:
    """Every row of every table, as text."""
    if getattr(db, "dialect", "sqlite") != "postgresql":
        return "\n".join(db.iterdump())
    tables = [r[0] for r in db.execute("SELECT table_name FROM information_schema.tables "
                                       "WHERE table_schema = current_schema()")]
    return "\n".join(str(row) for table in tables for row in db.execute(f"SELECT * FROM {table}"))


def test_a_valid_key_authenticates_as_its_account(keys, sensor):
    _, plaintext = keys.create_key(sensor["id"])
    principal = keys.authenticate(plaintext)
    assert principal.kind == "key" and principal.id == sensor["id"] and principal.name == "sensor-gateway"
    assert principal.roles_in("osaka") == {"provider"} and principal.roles_in("") == {"consumer"}
    assert principal.groups == {"iot", "osaka"}


def test_split_key():
    assert split_key("toshi_abcdefghijkl_se_cr-et") == ("abcdefghijkl", "se_cr-et")
    assert split_key("toshi_abc_defghijkl") is None
    assert split_key("toshi_abcdefghijklXsecret") is None
    assert split_key("other_abcdefghijkl_secret") is None
    assert split_key("toshi_abcdefghijkl_") is None


def test_wrong_unknown_and_malformed_keys_are_refused(keys, sensor):
    _, plaintext = keys.create_key(sensor["id"])
    key_id, secret = split_key(plaintext)
    wrong_secret = f"toshi_{key_id}_{'A' * len(secret)}"
    unknown_id = f"toshi_{'B' * 12}_{secret}"
    for presented in (wrong_secret, unknown_id, plaintext[:-1], plaintext + "x", "", "toshi_", "Bearer x", secret):
        assert keys.authenticate(presented) is None, presented


def test_revoked_keys_are_refused_even_when_cached(keys, sensor):
    record, plaintext = keys.create_key(sensor["id"])
    assert keys.authenticate(plaintext) is not None
    keys.revoke(record["id"])
    assert keys.authenticate(plaintext) is None
    revoked = keys.key(record["id"])["revoked"]
    keys.revoke(record["id"])  # again: nothing changes
    assert keys.key(record["id"])["revoked"] == revoked
    with pytest.raises(KeyError):
        keys.revoke("nosuchkey123")


def test_expired_keys_are_refused_even_when_cached(monkeypatch, keys, sensor):
    _, plaintext = keys.create_key(sensor["id"], expires="2099-01-01T09:00:00+09:00")
    assert keys.keys()[0]["expires"] == "2099-01-01T00:00:00.000Z"
    assert keys.authenticate(plaintext) is not None
    travel(monkeypatch, "2098-12-31T23:59:59.999Z")
    assert keys.authenticate(plaintext) is not None
    travel(monkeypatch, "2099-01-01T00:00:00.000Z")
    assert keys.authenticate(plaintext) is None


def test_key_expiry_must_be_a_future_time(keys, sensor):
    with pytest.raises(ValueError):
        keys.create_key(sensor["id"], expires="2001-01-01T00:00:00Z")
    with pytest.raises(ValueError):
        keys.create_key(sensor["id"], expires="next tuesday")
    with pytest.raises(KeyError):
        keys.create_key("acct_nobody")
    assert keys.keys() == []


def test_rotation_without_grace_revokes_the_old_key_at_once(keys, sensor):
    old, old_plain = keys.create_key(sensor["id"])
    assert keys.authenticate(old_plain) is not None
    new, new_plain = keys.rotate(old["id"])
    assert new["account"] == sensor["id"] and new["id"] != old["id"] and new_plain != old_plain
    assert keys.authenticate(old_plain) is None
    assert keys.authenticate(new_plain).id == sensor["id"]
    assert keys.key(old["id"])["revoked"] is not None


def test_rotation_with_grace_keeps_the_old_key_until_then(monkeypatch, keys, sensor):
    old, old_plain = keys.create_key(sensor["id"])
    assert keys.authenticate(old_plain) is not None  # cached with no expiry
    _, new_plain = keys.rotate(old["id"], grace_seconds=300)
    until = keys.key(old["id"])["expires"]
    assert until is not None and keys.key(old["id"])["revoked"] is None
    assert keys.authenticate(old_plain) is not None
    travel(monkeypatch, until)
    assert keys.authenticate(old_plain) is None
    assert keys.authenticate(new_plain) is not None


def test_rotation_with_grace_never_extends_an_earlier_expiry(keys, sensor):
    old, _ = keys.create_key(sensor["id"], expires="2099-01-01T00:00:00Z")
    keys.rotate(old["id"], grace_seconds=10 * 365 * 86400 * 100)
    assert keys.key(old["id"])["expires"] == "2099-01-01T00:00:00.000Z"


def test_rotating_unknown_or_revoked_keys_fails(keys, sensor):
    with pytest.raises(KeyError):
        keys.rotate("nosuchkey123")
    record, _ = keys.create_key(sensor["id"])
    keys.revoke(record["id"])
    with pytest.raises(ValueError):
        keys.rotate(record["id"])
    assert len(keys.keys()) == 1


def test_repeated_authentication_does_not_touch_sqlite(store, keys, sensor):
    _, plaintext = keys.create_key(sensor["id"])
    counting = CountingDb(store.db)
    store.db = counting
    try:
        first = keys.authenticate(plaintext)
        after_first = counting.statements
        assert after_first >= 1
        assert keys.authenticate(plaintext) is first
        assert keys.authenticate(plaintext) is first
        assert counting.statements == after_first
        assert keys.authenticate(plaintext[:-1] + "?") is None  # failures are not cached
        assert keys.authenticate(plaintext[:-1] + "?") is None
        assert counting.statements == after_first + 2
    finally:
        store.db = counting.db


def test_account_changes_reach_cached_keys(keys, sensor):
    _, plaintext = keys.create_key(sensor["id"])
    assert keys.authenticate(plaintext).roles_in("osaka") == {"provider"}
    updated = keys.update_account(sensor["id"], roles=["osaka:admin"])
    assert updated["roles"] == {"osaka": ["admin"]} and updated["groups"] == ["iot", "osaka"]
    assert keys.authenticate(plaintext).roles_in("osaka") == {"admin"}
    assert keys.authenticate(plaintext).roles_in("") == frozenset()
    keys.update_account(sensor["id"], groups=["traffic"])
    assert keys.authenticate(plaintext).groups == {"traffic"}
    assert keys.account(sensor["id"])["roles"] == {"osaka": ["admin"]}
    with pytest.raises(ValueError):
        keys.update_account(sensor["id"], roles=["osaka:god"])
    with pytest.raises(KeyError):
        keys.update_account("acct_nobody", roles=["osaka:admin"])


def test_deleting_an_account_revokes_its_keys(keys, sensor):
    first, first_plain = keys.create_key(sensor["id"])
    _, second_plain = keys.create_key(sensor["id"])
    other = keys.create_account("other", ["osaka:consumer"])
    _, other_plain = keys.create_key(other["id"])
    assert keys.authenticate(first_plain) is not None
    keys.delete_account(sensor["id"])
    assert keys.account(sensor["id"]) is None
    assert keys.authenticate(first_plain) is None and keys.authenticate(second_plain) is None
    assert all(k["revoked"] for k in keys.keys(sensor["id"]))
    assert keys.authenticate(other_plain).id == other["id"]
    with pytest.raises(KeyError):
        keys.delete_account(sensor["id"])


def test_the_cache_is_bounded(monkeypatch, keys, sensor):
    monkeypatch.setattr(apikeys, "CACHE_SIZE", 2)
    plaintexts = [keys.create_key(sensor["id"])[1] for _ in range(4)]
    for plaintext in plaintexts:
        assert keys.authenticate(plaintext) is not None
    assert len(keys._cache) == 2


def test_keys_survive_a_restart(tmp_path, opener):
    store = opener(tmp_path / "t.db")
    account = api_keys_of(store).create_account("gw", ["default:provider"])
    _, plaintext = api_keys_of(store).create_key(account["id"])
    asyncio.run(store.close())
    reopened = opener(tmp_path / "t.db")
    try:
        assert api_keys_of(reopened).authenticate(plaintext).id == account["id"]
    finally:
        asyncio.run(reopened.close())


async def test_tables_made_inside_a_transaction_do_not_commit_it(store):
    """First use inside someone else's transaction must neither commit nor break it."""
    with pytest.raises(RuntimeError):
        async with store.transaction("t"):
            store.db.execute("INSERT INTO meta VALUES ('probe', 'x')")
            api_keys_of(store).accounts()
            raise RuntimeError("roll back")
    assert store.db.execute("SELECT * FROM meta WHERE key='probe'").fetchone() is None
    account = api_keys_of(store).create_account("after", ["default:consumer"])
    assert api_keys_of(store).account(account["id"]) is not None
