"""Pseudonymous ids per recipient: HMAC-SHA-256 of the resident id under a key derived for that
recipient from one secret of the town (kept in the data directory, never shown).

The same resident gets the same pseudonym in every extract for one recipient (so a study can follow
its cohort over time), and unrelated pseudonyms for two recipients: without the secret, two
recipients' extracts cannot be joined on their ids, and a pseudonym cannot be turned back into a
resident id.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_BYTES = 32
LABEL = b"toshi research pseudonym v1"


def secret_file(data_dir: str | Path) -> Path:
    return Path(data_dir) / "keys" / "research-pseudonyms.key"


def load_or_create_secret(path: Path) -> bytes:
    """The secret in `path`; a new random one written there (mode 0600) when there is none."""
    path = Path(path)
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes()
    secret = secrets.token_bytes(SECRET_BYTES)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secret)
    return secret


class Pseudonyms:
    """The pseudonyms of one recipient in one tenant."""

    def __init__(self, secret: bytes, tenant: str, recipient: str):
        if len(secret) < SECRET_BYTES:
            raise ValueError("the pseudonym secret is too short")
        info = b"\x00".join((LABEL, tenant.encode(), recipient.encode()))
        self._key = hmac.new(secret, info, hashlib.sha256).digest()

    def of(self, resident_id: str) -> str:
        return hmac.new(self._key, resident_id.encode(), hashlib.sha256).hexdigest()[:32]
