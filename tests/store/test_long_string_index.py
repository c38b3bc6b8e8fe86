"""Long strings in the value index. PostgreSQL keeps only a prefix of each string (postgres_plan.KEPT:
a B-tree entry holds at most 2704 bytes), so q comparisons of strings around and beyond that length
must still give exactly what QNode.matches gives, whichever index drives the query, on both stores,
and over rows written before that limit, which hold whole strings."""

from __future__ import annotations

import random

import pytest

from toshi.core.entity import new_entity
from toshi.query.planner import EntityQuery
from toshi.query.qparse import parse_q

VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
NOW = "2026-11-24T00:00:00.000Z"
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789あ漢"
BASE = "".join(random.Random(5).choice(ALPHABET) for _ in range(3000))
LENGTHS = (1, 100, 255, 256, 257, 258, 1000, 2999, 3000)
TEXTS = [BASE[:n] for n in LENGTHS] + [BASE[:n] + "~" for n in (255, 256, 1000)] + [
    BASE[:256] + "0" + BASE[257:], BASE + BASE, "~", "zzz"]
LITERALS = [BASE[:n] for n in (255, 256, 257, 1000, 2999, 3000)] + [BASE[:256] + "~", BASE[:1000] + "0", "a"]
OPS = ("==", "!=", "<", "<=", ">", ">=")


def expand(term: str) -> str:
    return VOCAB + term


def note(n: int, value) -> dict:
    attrs = {VOCAB + "text": [{"type": "Property", "value": value, "createdAt": NOW, "modifiedAt": NOW}]}
    return new_entity({"id": f"urn:ngsi-ld:Note:{n:02d}", "type": [VOCAB + "Note"], "attrs": attrs}, NOW)


ENTITIES = [note(n, text) for n, text in enumerate(TEXTS)] + [note(len(TEXTS), [BASE[:300], "b"])]


def queries() -> list[str]:
    found = [f'text{op}"{literal}"' for op in OPS for literal in LITERALS]
    found += [f'text=="{BASE[:255]}".."{BASE[:1000]}"', f'text=="{BASE[:257]}".."{BASE[:3000]}"',
              f'text=="{BASE[:2999]}","{BASE[:100]}"', f'text=="{BASE[:300]}";text=="b"']
    return found


async def answers(store) -> dict[str, list[str]]:
    found = {}
    for q in queries():
        query = EntityQuery(limit=100, count=True, q=parse_q(q, expand))
        page, total = await store.query_entities("town", query)
        found[q] = [e["id"] for e in page]
        assert total == len(page)
    return found


def expected() -> dict[str, list[str]]:
    return {q: [e["id"] for e in ENTITIES if parse_q(q, expand).matches(e)] for q in queries()}


async def write(store) -> None:
    async with store.transaction("town") as tx:
        for entity in ENTITIES:
            tx.put(entity)


@pytest.mark.parametrize("selective_rows", [0, 5000], ids=["scan-driven", "index-driven"])
async def test_q_on_long_strings_is_exact(store, selective_rows, monkeypatch):
    monkeypatch.setattr("toshi.store.sqlite_plan.SELECTIVE_ROWS", selective_rows)
    monkeypatch.setattr("toshi.store.postgres_plan.SELECTIVE_ROWS", selective_rows)
    await write(store)
    assert await answers(store) == expected()


async def test_rows_written_before_the_prefix_limit_still_answer(pg_url):
    """Older versions put whole strings in attr_values.str (as long as their B-tree entry fitted)."""
    from toshi.store.postgres import PostgresStore

    store = PostgresStore(pg_url)
    await store.open()
    try:
        await write(store)
        whole = [(e["attrs"][VOCAB + "text"][0]["value"], e["id"]) for e in ENTITIES]
        whole = [(text, entity_id) for text, entity_id in whole if isinstance(text, str) and len(text.encode()) < 2000]
        store.db.run_many("UPDATE attr_values SET str = %s FROM entities e WHERE e.rowid = attr_values.entity "
                          "AND e.id = %s", whole)
        legacy = store.db.run("SELECT count(*) FROM attr_values WHERE length(str) > 256").fetchone()[0]
        assert legacy > 0
        assert await answers(store) == expected()
    finally:
        await store.close()
