"""An attribute holding a long string (100 000 random characters, some of them multi-byte): created,
read back, updated and queried with q through NGSI-LD and NGSI-v2, with the answers plain string
comparison gives, on SQLite and on PostgreSQL (whose value index keeps only a prefix of long strings)."""

from __future__ import annotations

import operator
import random

import pytest

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789あいうえおかきくけこ漢字"
LONG = 100_000
OPS = {"==": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt,
       "<=": operator.le}


def random_text(seed: int, length: int = LONG) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(ALPHABET) for _ in range(length))


A = random_text(1)
# Values sharing long prefixes with A, around any prefix length an index may keep, and a short one.
VALUES = {
    "full": A,
    "p3000": A[:3000],
    "p1000x": A[:1000] + "~",
    "p257": A[:257],
    "p256": A[:256],
    "p255": A[:255],
    "short": "abc",
    "other": random_text(2),
}
# Literals a q may hold (q is at most 4000 characters long)
LITERALS = [A[:3000], A[:2999], A[:1000] + "~", A[:257], A[:256], A[:255], "abc", "b"]


def expected(op: str, literal: str, values: dict = VALUES) -> list[str]:
    return sorted(name for name, value in values.items() if OPS[op](value, literal))


def ld_id(name: str) -> str:
    return f"urn:ngsi-ld:Note:{name}"


@pytest.fixture
def ld_notes(client):
    entities = [{"id": ld_id(name), "type": "Note", "text": {"type": "Property", "value": value}}
                for name, value in VALUES.items()]
    response = client.post("/ngsi-ld/v1/entityOperations/create", json=entities)
    assert response.status_code == 201, response.text[:500]
    return client


@pytest.fixture
def v2_notes(client):
    for name, value in VALUES.items():
        response = client.post("/v2/entities", json={"id": name, "type": "Note", "text": {"type": "Text", "value": value}})
        assert response.status_code == 201, response.text[:500]
    return client


def ld_query(client, q: str) -> list[str]:
    response = client.get("/ngsi-ld/v1/entities", params={"type": "Note", "q": q, "limit": 100})
    assert response.status_code == 200, response.text[:500]
    return sorted(e["id"].rsplit(":", 1)[1] for e in response.json())


def v2_query(client, q: str) -> list[str]:
    response = client.get("/v2/entities", params={"type": "Note", "q": q, "limit": 100, "attrs": "id"})
    assert response.status_code == 200, response.text[:500]
    return sorted(e["id"] for e in response.json())


def test_ngsild_long_strings_read_back_and_update(ld_notes):
    got = ld_notes.get(f"/ngsi-ld/v1/entities/{ld_id('full')}")
    assert got.status_code == 200 and got.json()["text"]["value"] == A
    new = random_text(3)
    response = ld_notes.patch(f"/ngsi-ld/v1/entities/{ld_id('full')}/attrs",
                              json={"text": {"type": "Property", "value": new}})
    assert response.status_code == 204, response.text[:500]
    assert ld_notes.get(f"/ngsi-ld/v1/entities/{ld_id('full')}").json()["text"]["value"] == new
    assert ld_query(ld_notes, f'text=="{new[:3000]}"') == []
    assert ld_query(ld_notes, f'text>"{new[:3000]}"') == expected(">", new[:3000], {**VALUES, "full": new})
    assert ld_query(ld_notes, f'text=="{A[:3000]}"') == ["p3000"]


@pytest.mark.parametrize("op", list(OPS))
def test_ngsild_q_on_long_strings(ld_notes, op):
    for literal in LITERALS:
        assert ld_query(ld_notes, f'text{op}"{literal}"') == expected(op, literal), (op, len(literal))


def test_ngsild_q_range_and_pattern_on_long_strings(ld_notes):
    low, high = A[:257], A[:3000]
    assert ld_query(ld_notes, f'text=="{low}".."{high}"') == sorted(
        name for name, value in VALUES.items() if low <= value <= high)
    assert ld_query(ld_notes, f'text~="^{A[:900]}"') == ["full", "p1000x", "p3000"]
    assert ld_query(ld_notes, f'text~="{A[-500:]}$"') == ["full"]


def test_ngsiv2_long_strings_read_back_and_update(v2_notes):
    assert v2_notes.get("/v2/entities/full").json()["text"]["value"] == A
    new = random_text(4)
    response = v2_notes.patch("/v2/entities/full/attrs", json={"text": {"type": "Text", "value": new}})
    assert response.status_code == 204, response.text[:500]
    assert v2_notes.get("/v2/entities/full").json()["text"]["value"] == new
    assert v2_query(v2_notes, f"text=='{new[:3000]}'") == []
    assert v2_query(v2_notes, f"text>'{new[:3000]}'") == expected(">", new[:3000], {**VALUES, "full": new})
    assert v2_query(v2_notes, f"text=='{A[:3000]}'") == ["p3000"]


@pytest.mark.parametrize("op", list(OPS))
def test_ngsiv2_q_on_long_strings(v2_notes, op):
    for literal in LITERALS:
        assert v2_query(v2_notes, f"text{op}'{literal}'") == expected(op, literal), (op, len(literal))


def test_ngsiv2_q_pattern_on_long_strings(v2_notes):
    assert v2_query(v2_notes, f"text~={A[:900]}") == ["full", "p1000x", "p3000"]
