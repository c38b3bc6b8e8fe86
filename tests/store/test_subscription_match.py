"""The store's subscription list narrowed in SQL by top-level fields of the document (`match`), on
both databases: the page and the total are of the matching subscriptions only."""

from __future__ import annotations

import asyncio


def test_match_narrows_the_page_and_the_total(store):
    docs = [{"id": f"s{i}", "api": "v2" if i % 2 else "ld", "servicePath": "/A" if i < 4 else "/B"} for i in range(6)]
    for doc in docs:
        asyncio.run(store.subscriptions.put("t", doc))
    page, total = asyncio.run(store.subscriptions.list("t", 1, 1, {"api": "v2", "servicePath": "/A"}))
    assert ([d["id"] for d in page], total) == (["s3"], 2)


def test_without_match_every_subscription_of_the_tenant_counts(store):
    asyncio.run(store.subscriptions.put("t", {"id": "s1", "api": "v2"}))
    asyncio.run(store.subscriptions.put("u", {"id": "s2", "api": "v2"}))
    page, total = asyncio.run(store.subscriptions.list("t", 10, 0))
    assert ([d["id"] for d in page], total) == (["s1"], 1)
