"""Signed statements about the chain: a checkpoint says "record `seq` has hash `hash`", signed by
Toshi's key; the anchor left by pruning says the same about the last pruned record. The anchor's
payload has a `purpose` field so a checkpoint's signature can never pass for an anchor's."""

from __future__ import annotations

import base64
import binascii

from toshi.audit.chain import canonical
from toshi.core.signing import SigningKey
from toshi.core.times import now_iso

ANCHOR = "prune-anchor"


def _payload(statement: dict, purpose: str | None) -> bytes:
    fields = {name: statement[name] for name in ("seq", "hash", "at", "kid")}
    return canonical(fields if purpose is None else {**fields, "purpose": purpose})


def sign(key: SigningKey, seq: int, hash_: str, purpose: str | None = None) -> dict:
    statement = {"seq": seq, "hash": hash_, "at": now_iso(), "kid": key.kid}
    signature = key.sign(_payload(statement, purpose))
    return {**statement, "signature": base64.urlsafe_b64encode(signature).rstrip(b"=").decode()}


def signature_ok(key: SigningKey, statement: dict, purpose: str | None = None) -> bool:
    if statement.get("kid") != key.kid or not isinstance(statement.get("signature"), str):
        return False
    try:
        signature = base64.urlsafe_b64decode(statement["signature"] + "=" * (-len(statement["signature"]) % 4))
        return key.verify(_payload(statement, purpose), signature)
    except (binascii.Error, ValueError, TypeError):
        return False
