"""How audit records are chained: each record's hash is the SHA-256 of a canonical encoding (orjson,
sorted keys) of all its fields but `hash`, `prev_hash` included, so changing, removing, adding or
moving a record breaks the chain from there on."""

from __future__ import annotations

import hashlib

import orjson

ZERO_HASH = "0" * 64
FIELDS = ("seq", "at", "principal", "tenant", "operation", "target", "request_id", "outcome", "detail",
          "prev_hash")
COLUMNS = (*FIELDS, "hash")


def canonical(value: dict) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def record_hash(record: dict) -> str:
    return hashlib.sha256(canonical({name: record[name] for name in FIELDS})).hexdigest()


def encode_detail(detail) -> str | None:
    """The stored text of `detail`; ValueError when it is not JSON (orjson refuses NaN, non-str keys)."""
    if detail is None:
        return None
    try:
        return canonical(detail).decode()
    except TypeError as exc:
        raise ValueError(f"audit detail is not JSON: {exc}") from None


def decode_detail(text: str | None):
    """The stored detail as a JSON value; text that is not JSON (only after tampering) as it is."""
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def from_row(row) -> dict:
    """A record from a row of `rowid, <COLUMNS>`."""
    record = dict(zip(("rowid", *COLUMNS), row))
    record["detail"] = decode_detail(record["detail"])
    return record
