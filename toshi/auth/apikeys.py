"""API keys of service accounts, in two tables of the store's database (created on first use).

A key is shown once, as `toshi_<key id>_<secret>`; only the SHA-256 of the secret is kept. The secret
is 256 random bits, so a plain hash is enough (a slow KDF protects guessable passwords, not these).
Verified keys are remembered in memory (by the hash of the whole presented key, so a hit means this
exact key was checked before) and every change to keys or accounts empties that memory.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections import OrderedDict
from collections.abc import Iterable, Mapping

import orjson

from toshi.auth.principal import Principal, format_roles, parse_roles
from toshi.core.times import in_seconds, normalize_instant, now_iso
from toshi.store import FeatureTables, attached

PREFIX = "toshi_"
KEY_ID_LENGTH = 12
CACHE_SIZE = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS auth_accounts (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, roles TEXT NOT NULL, groups TEXT NOT NULL, created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS auth_keys (
    id TEXT PRIMARY KEY, account TEXT NOT NULL, hash TEXT NOT NULL, created TEXT NOT NULL,
    expires TEXT, revoked TEXT, last4 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS auth_keys_by_account ON auth_keys (account);
"""
KEY_COLUMNS = "id, account, created, expires, revoked, last4"
ACCOUNT_COLUMNS = "id, name, roles, groups, created"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _key_id() -> str:
    """12 letters and digits: an id never starts with "-", which a command line would take for an option."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(KEY_ID_LENGTH))


def split_key(presented: str) -> tuple[str, str] | None:
    """(key id, secret) of a presented key, None when it is not shaped like one of ours. The key id has
    a fixed length because both it and the secret may contain "_"."""
    rest = presented[len(PREFIX):]
    if not presented.startswith(PREFIX) or len(rest) < KEY_ID_LENGTH + 2 or rest[KEY_ID_LENGTH] != "_":
        return None
    return rest[:KEY_ID_LENGTH], rest[KEY_ID_LENGTH + 1:]


class ApiKeys:
    def __init__(self, store):
        self._store = store
        self._tables = FeatureTables(store, SCHEMA)
        self._cache: OrderedDict[str, tuple[Principal, str | None]] = OrderedDict()
        store.watch("auth.keys", lambda _: self._cache.clear())  # changed by another process

    def _changed(self) -> None:
        """Forget what was authenticated, here and in every process serving the same database."""
        self._cache.clear()
        self._store.publish("auth.keys")

    @property
    def _db(self):
        return self._tables.db

    # -- accounts ---------------------------------------------------------------------------------

    def create_account(self, name: str, roles: Mapping | Iterable[str], groups: Iterable[str] = ()) -> dict:
        if not name:
            raise ValueError("an account needs a name")
        account = {"id": "acct_" + secrets.token_urlsafe(9), "name": name,
                   "roles": format_roles(parse_roles(roles)), "groups": _groups(groups), "created": now_iso()}
        self._db.execute(f"INSERT INTO auth_accounts ({ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                         (account["id"], name, orjson.dumps(account["roles"]).decode(),
                          orjson.dumps(account["groups"]).decode(), account["created"]))
        return account

    def accounts(self) -> list[dict]:
        rows = self._db.execute(f"SELECT {ACCOUNT_COLUMNS} FROM auth_accounts ORDER BY rowid")
        return [_account(row) for row in rows]

    def account(self, account_id: str) -> dict | None:
        row = self._db.execute(f"SELECT {ACCOUNT_COLUMNS} FROM auth_accounts WHERE id=?",
                               (account_id,)).fetchone()
        return _account(row) if row else None

    def update_account(self, account_id: str, roles: Mapping | Iterable[str] | None = None,
                       groups: Iterable[str] | None = None) -> dict:
        account = self._existing_account(account_id)
        if roles is not None:
            account["roles"] = format_roles(parse_roles(roles))
        if groups is not None:
            account["groups"] = _groups(groups)
        self._db.execute("UPDATE auth_accounts SET roles=?, groups=? WHERE id=?",
                         (orjson.dumps(account["roles"]).decode(), orjson.dumps(account["groups"]).decode(),
                          account_id))
        self._changed()
        return account

    def delete_account(self, account_id: str) -> None:
        """Deletes the account and revokes its keys (their rows stay, for the record)."""
        self._existing_account(account_id)
        self._db.execute("UPDATE auth_keys SET revoked=? WHERE account=? AND revoked IS NULL",
                         (now_iso(), account_id))
        self._db.execute("DELETE FROM auth_accounts WHERE id=?", (account_id,))
        self._changed()

    def _existing_account(self, account_id: str) -> dict:
        account = self.account(account_id)
        if account is None:
            raise KeyError(f"no account {account_id!r}")
        return account

    # -- keys -------------------------------------------------------------------------------------

    def create_key(self, account_id: str, expires: str | None = None) -> tuple[dict, str]:
        """A new key for the account: (its record, the plaintext key, which is not kept)."""
        self._existing_account(account_id)
        if expires is not None:
            expires = normalize_instant(expires)
            if expires <= now_iso():
                raise ValueError(f"expires {expires} is in the past")
        key_id, secret = _key_id(), secrets.token_urlsafe(32)
        record = {"id": key_id, "account": account_id, "created": now_iso(), "expires": expires,
                  "revoked": None, "last4": secret[-4:]}
        self._db.execute("INSERT INTO auth_keys (id, account, hash, created, expires, revoked, last4) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (key_id, account_id, _sha256(secret), record["created"], expires, None, record["last4"]))
        return record, f"{PREFIX}{key_id}_{secret}"

    def keys(self, account_id: str | None = None) -> list[dict]:
        sql, args = f"SELECT {KEY_COLUMNS} FROM auth_keys", ()
        if account_id is not None:
            sql, args = sql + " WHERE account=?", (account_id,)
        return [_key(row) for row in self._db.execute(sql + " ORDER BY rowid", args)]

    def key(self, key_id: str) -> dict | None:
        row = self._db.execute(f"SELECT {KEY_COLUMNS} FROM auth_keys WHERE id=?", (key_id,)).fetchone()
        return _key(row) if row else None

    def rotate(self, key_id: str, grace_seconds: float = 0, expires: str | None = None) -> tuple[dict, str]:
        """A new key for the same account; the old one stops working after `grace_seconds` (at once
        when 0). `expires` is the new key's own expiry."""
        old = self.key(key_id)
        if old is None:
            raise KeyError(f"no key {key_id!r}")
        if old["revoked"] is not None:
            raise ValueError(f"key {key_id} is revoked")
        new = self.create_key(old["account"], expires)
        if grace_seconds <= 0:
            self.revoke(key_id)
        else:
            until = in_seconds(grace_seconds)
            self._db.execute("UPDATE auth_keys SET expires=? WHERE id=?",
                             (min(until, old["expires"] or until), key_id))
            self._changed()
        return new

    def revoke(self, key_id: str) -> None:
        if self.key(key_id) is None:
            raise KeyError(f"no key {key_id!r}")
        self._db.execute("UPDATE auth_keys SET revoked=? WHERE id=? AND revoked IS NULL", (now_iso(), key_id))
        self._changed()

    # -- authentication ---------------------------------------------------------------------------

    def authenticate(self, presented: str) -> Principal | None:
        """The account's Principal for a valid key; None for anything else (unknown, wrong secret,
        revoked, expired, or the account gone)."""
        digest = _sha256(presented)
        cached = self._cache.get(digest)
        if cached is not None:
            principal, expires = cached
            if expires is None or now_iso() < expires:
                return principal
            del self._cache[digest]
        found = self._check(presented)
        if found is not None:
            self._cache[digest] = found
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return found[0] if found else None

    def _check(self, presented: str) -> tuple[Principal, str | None] | None:
        parts = split_key(presented)
        if parts is None:
            return None
        key_id, secret = parts
        row = self._db.execute(
            "SELECT k.hash, k.expires, k.revoked, a.id, a.name, a.roles, a.groups FROM auth_keys k "
            "JOIN auth_accounts a ON a.id = k.account WHERE k.id=?", (key_id,)).fetchone()
        if row is None or not hmac.compare_digest(_sha256(secret), row[0]):
            return None
        expires, revoked = row[1], row[2]
        if revoked is not None or (expires is not None and now_iso() >= expires):
            return None
        principal = Principal(row[3], "key", parse_roles(orjson.loads(row[5])),
                              frozenset(orjson.loads(row[6])), row[4])
        return principal, expires


def _groups(groups: Iterable[str]) -> list[str]:
    names = [] if isinstance(groups, str) else list(groups)
    if isinstance(groups, str) or not all(isinstance(g, str) and g for g in names):
        raise ValueError("groups must be a list of non-empty names")
    return sorted(set(names))


def _account(row) -> dict:
    return {"id": row[0], "name": row[1], "roles": orjson.loads(row[2]), "groups": orjson.loads(row[3]),
            "created": row[4]}


def _key(row) -> dict:
    return dict(zip(("id", "account", "created", "expires", "revoked", "last4"), row))


def api_keys_of(store) -> ApiKeys:
    """The ApiKeys of a store, made on first use."""
    return attached(store, ApiKeys)
