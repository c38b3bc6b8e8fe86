"""Resident accounts: one identifier per resident across every service of the town (the `sub` of the
tokens Toshi's OpenID Connect provider issues, and the id the consent feature knows them by).

A resident has a password, kept only as an argon2id hash (argon2-cffi, memory-hard: a stolen table
cannot be brute-forced cheaply), and an assurance level: how the town identified them. The levels are
ordered, lowest first; the level is the `acr` claim of their tokens and a policy can ask for a minimum
(`acr:<level>` in a rule's principals).

A resident may also be linked to identities of the town's trusted external identity provider (issuer +
subject, at most one resident per identity): a token of that identity is then the resident's own
principal (toshi/auth/identify.py), as if they had signed in here.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from toshi.core.times import now_iso
from toshi.store import FeatureTables

# how the resident was identified, lowest assurance first
ASSURANCE_LEVELS = ("email", "phone", "office-id-document", "my-number-card")
SCHEMA = """CREATE TABLE IF NOT EXISTS auth_residents (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, assurance TEXT NOT NULL, password TEXT NOT NULL,
    created TEXT NOT NULL, modified TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS auth_resident_links (
    issuer TEXT NOT NULL, subject TEXT NOT NULL, resident TEXT NOT NULL, created TEXT NOT NULL,
    PRIMARY KEY (issuer, subject))"""
MIN_PASSWORD = 10
MAX_ID = 200
MAX_LINK = 1000  # an issuer URL or a subject
_FIELDS = ("id", "name", "assurance", "created", "modified")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters (RFC 9106)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the resident does not exist, so an unknown id costs as much as a wrong
    password. Made on first use: an argon2id hash takes a noticeable part of a second, which every
    process paid at import before."""
    return _hasher.hash("not a password of anyone")


def meets(level: str, required: str) -> bool:
    """Whether an assurance level is at least the required one (unknown levels meet nothing)."""
    if level not in ASSURANCE_LEVELS or required not in ASSURANCE_LEVELS:
        return False
    return ASSURANCE_LEVELS.index(level) >= ASSURANCE_LEVELS.index(required)


def check_assurance(level: object) -> str:
    if level not in ASSURANCE_LEVELS:
        raise ValueError(f"assurance must be one of {', '.join(ASSURANCE_LEVELS)}")
    return level


class LinkTaken(Exception):
    """The external identity is linked to another resident already (409)."""


def check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValueError(f"a password has at least {MIN_PASSWORD} characters")
    return password


class Residents:
    def __init__(self, store):
        self._tables = FeatureTables(store, SCHEMA)

    @property
    def _db(self):
        return self._tables.db

    def create(self, resident_id: str, name: str, assurance: str, password: str) -> dict:
        """A new resident (ValueError when a value is invalid or the id is taken)."""
        if not isinstance(resident_id, str) or not resident_id.strip() or len(resident_id) > MAX_ID \
                or any(c.isspace() for c in resident_id):
            raise ValueError(f"id: a resident id of up to {MAX_ID} characters without spaces is required")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("name is required")
        check_assurance(assurance)
        hashed = _hasher.hash(check_password(password))
        if self.get(resident_id) is not None:
            raise ValueError(f"resident {resident_id} exists")
        now = now_iso()
        self._db.execute("INSERT INTO auth_residents (id, name, assurance, password, created, modified) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (resident_id, name.strip(), assurance, hashed, now, now))
        return self.get(resident_id)

    def get(self, resident_id: str) -> dict | None:
        account = self._account(resident_id)
        return None if account is None else {**account, "links": self.links(resident_id)}

    def exists(self, resident_id: str) -> bool:
        return self._account(resident_id) is not None

    def _account(self, resident_id: str) -> dict | None:
        """The account without its links (what a request's identification needs)."""
        row = self._db.execute("SELECT id, name, assurance, created, modified FROM auth_residents WHERE id=?",
                               (resident_id,)).fetchone()
        return None if row is None else dict(zip(_FIELDS, row))

    def all(self) -> list[dict]:
        links: dict[str, list[dict]] = {}
        for issuer, subject, resident in self._db.execute(
                "SELECT issuer, subject, resident FROM auth_resident_links ORDER BY issuer, subject"):
            links.setdefault(resident, []).append({"issuer": issuer, "subject": subject})
        rows = self._db.execute("SELECT id, name, assurance, created, modified FROM auth_residents ORDER BY id")
        return [{**dict(zip(_FIELDS, row)), "links": links.get(row[0], [])} for row in rows]

    # -- external identities ----------------------------------------------------------------------

    def links(self, resident_id: str) -> list[dict]:
        rows = self._db.execute("SELECT issuer, subject FROM auth_resident_links WHERE resident=? "
                                "ORDER BY issuer, subject", (resident_id,))
        return [{"issuer": issuer, "subject": subject} for issuer, subject in rows]

    def link(self, resident_id: str, issuer: object, subject: object, own_issuer: str = "") -> dict:
        """Link an external identity to the resident: the resident as it is then. KeyError: no such
        resident; LinkTaken: another resident holds it; ValueError: a value is wrong."""
        for name, value in (("issuer", issuer), ("subject", subject)):
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_LINK:
                raise ValueError(f"{name}: a non-empty string of up to {MAX_LINK} characters is required")
        if issuer == own_issuer:  # Toshi's own tokens name the resident already
            raise ValueError(f"issuer {issuer} is Toshi itself: its tokens' subject is the resident id")
        if self.get(resident_id) is None:
            raise KeyError(f"no resident {resident_id}")
        self._db.execute("INSERT INTO auth_resident_links (issuer, subject, resident, created) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (issuer, subject) DO NOTHING", (issuer, subject, resident_id, now_iso()))
        holder = self._holder(issuer, subject)
        if holder != resident_id:
            raise LinkTaken(f"{subject} of {issuer} is linked to another resident ({holder}): unlink it there first")
        return self.get(resident_id)

    def unlink(self, resident_id: str, issuer: str, subject: str) -> dict:
        if self._db.execute("DELETE FROM auth_resident_links WHERE issuer=? AND subject=? AND resident=?",
                            (issuer, subject, resident_id)).rowcount == 0:
            raise KeyError(f"resident {resident_id} is not linked to {subject} of {issuer}")
        return self.get(resident_id)

    def linked(self, issuer: str, subject: str) -> dict | None:
        """The resident account (without its links) an external identity is linked to (None: it is not)."""
        holder = self._holder(issuer, subject)
        return None if holder is None else self._account(holder)

    def _holder(self, issuer: str, subject: str) -> str | None:
        row = self._db.execute("SELECT resident FROM auth_resident_links WHERE issuer=? AND subject=?",
                               (issuer, subject)).fetchone()
        return row[0] if row else None

    def stored_hash(self, resident_id: str) -> str | None:
        row = self._db.execute("SELECT password FROM auth_residents WHERE id=?", (resident_id,)).fetchone()
        return row[0] if row else None

    def authenticate(self, resident_id: str, password: str) -> dict | None:
        """The resident when the password is theirs, else None (the same work either way)."""
        stored = self.stored_hash(resident_id)
        try:
            _hasher.verify(stored or _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if stored is None:
            return None
        if _hasher.check_needs_rehash(stored):  # the parameters were raised since: upgrade on login
            self._set("password", _hasher.hash(password), resident_id)
        return self.get(resident_id)

    def set_password(self, resident_id: str, password: str) -> None:
        self._set("password", _hasher.hash(check_password(password)), resident_id)

    def set_assurance(self, resident_id: str, assurance: str) -> dict:
        self._set("assurance", check_assurance(assurance), resident_id)
        return self.get(resident_id)

    def _set(self, column: str, value: str, resident_id: str) -> None:
        if self._db.execute(f"UPDATE auth_residents SET {column}=?, modified=? WHERE id=?",
                            (value, now_iso(), resident_id)).rowcount == 0:
            raise KeyError(f"no resident {resident_id}")
