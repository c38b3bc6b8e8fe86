"""Temporal retention removes history older than the configured duration."""

from __future__ import annotations

import asyncio

from toshi.temporal.retention import keep_pruning


def test_retention_prunes_old_history(client):
    entity = {"id": "urn:ngsi-ld:River:9", "type": "River",
              "level": [{"type": "Property", "value": 1, "observedAt": "2020-01-01T00:00:00Z"}]}
    assert client.post("/ngsi-ld/v1/entities", json=entity).status_code == 201
    client.patch("/ngsi-ld/v1/entities/urn:ngsi-ld:River:9/attrs/level",
                 json={"value": 2, "observedAt": "2099-01-01T00:00:00Z"})
    url = "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:River:9"
    assert len(client.get(url, params={"options": "temporalValues"}).json()["level"]["values"]) == 2

    async def one_round():
        task = asyncio.create_task(keep_pruning(client.app.state.toshi.store, "P365D", every=60))
        await asyncio.sleep(0.05)
        task.cancel()

    client.portal.call(one_round)
    values = client.get(url, params={"options": "temporalValues"}).json()["level"]["values"]
    assert [v[0] for v in values] == [2]
