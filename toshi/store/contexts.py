"""Stored @contexts (toshi.jsonld.registry's persistence), the same on both databases."""

from __future__ import annotations

import orjson


class StoredContexts:
    """Mixed into a store that has `db`: the `contexts` table, one JSON record per @context."""

    async def load_contexts(self) -> list[dict]:
        return [orjson.loads(r[0]) for r in self.db.execute("SELECT record FROM contexts")]

    async def save_context(self, record: dict) -> None:
        self.db.execute("INSERT INTO contexts VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET record=excluded.record",
                        (record["id"], orjson.dumps(record).decode()))

    async def delete_context(self, context_id: str) -> None:
        self.db.execute("DELETE FROM contexts WHERE id=?", (context_id,))
