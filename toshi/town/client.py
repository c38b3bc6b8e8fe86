"""How the town's programs talk to Toshi: over HTTP only, as any third-party service would.

One `Api` per program: the server's URL, the program's API key, the tenant, the purpose it names
for personal data (`Toshi-Purpose`), and the town's @context (sent as a Link header)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    import httpx

LD = "/ngsi-ld/v1"
LD_JSON = "application/ld+json"
MAX_BATCH_BYTES = 800_000  # under the server's 1 MB request limit


class ApiError(RuntimeError):
    def __init__(self, response: httpx.Response):
        super().__init__(f"{response.request.method} {response.request.url.path}: {response.status_code} "
                         f"{response.text[:300]}")
        self.status = response.status_code


class Api:
    def __init__(self, base: str, key: str | None = None, *, tenant: str = "", purpose: str | None = None,
                 context: str | None = None, timeout: float = 30.0):
        import httpx

        headers = {}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if tenant:
            headers["NGSILD-Tenant"] = tenant
        if purpose:
            headers["Toshi-Purpose"] = purpose
        self.context = context
        self.http = httpx.AsyncClient(base_url=base, headers=headers, timeout=timeout)

    async def close(self) -> None:
        await self.http.aclose()

    def _link(self) -> dict:
        if not self.context:
            return {}
        return {"Link": f'<{self.context}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}

    async def call(self, method: str, path: str, body=None, *, params=None, headers=None,
                   ok: Iterable[int] = (200, 201, 204)) -> httpx.Response:
        content = None if body is None else orjson.dumps(body)
        sent = {"Content-Type": "application/json", **(headers or {})} if content is not None else headers
        response = await self.http.request(method, path, content=content, params=params, headers=sent)
        if response.status_code not in tuple(ok):
            raise ApiError(response)
        return response

    # -- NGSI-LD --------------------------------------------------------------------------------------

    async def upsert(self, entities: list[dict], progress=None, *, parallel: int = 1) -> int:
        """Batch upsert (update mode) in request-sized pieces, `parallel` of them in flight at once;
        returns the number of requests. `progress(step, done, total)` hears of each piece
        (toshi/core/progress.py). The first failed piece fails the whole (the others are cancelled);
        an upsert can be sent again."""
        chunks = list(_chunks(entities))
        gate, done = asyncio.Semaphore(max(1, parallel)), 0

        async def send(chunk: list[dict]) -> None:
            nonlocal done
            async with gate:
                await self.call("POST", f"{LD}/entityOperations/upsert", chunk, params={"options": "update"},
                                headers=self._link())
            done += len(chunk)
            if progress is not None:
                progress("entities", done, len(entities))

        async with asyncio.TaskGroup() as group:
            for chunk in chunks:
                group.create_task(send(chunk))
        return len(chunks)

    async def patch_attrs(self, entity_id: str, attrs: dict) -> None:
        await self.call("PATCH", f"{LD}/entities/{entity_id}/attrs", attrs, headers=self._link())

    async def create(self, entity: dict, ok=(201,)) -> httpx.Response:
        return await self.call("POST", f"{LD}/entities", entity, headers=self._link(), ok=ok)

    async def entities(self, type_: str, *, q: str | None = None, attrs: str | None = None,
                       page: int = 1000) -> list[dict]:
        """Every entity of a type (keyValues), page by page."""
        found, offset = [], 0
        while True:
            params = {"type": type_, "options": "keyValues", "limit": page, "offset": offset}
            if q:
                params["q"] = q
            if attrs:
                params["attrs"] = attrs
            batch = (await self.call("GET", f"{LD}/entities", params=params, headers=self._link())).json()
            found.extend(batch)
            if len(batch) < page:
                return found
            offset += page

    async def subscribe(self, subscription: dict) -> str:
        response = await self.call("POST", f"{LD}/subscriptions", subscription, headers=self._link(), ok=(201,))
        return response.headers["Location"].rsplit("/", 1)[-1]


def _chunks(entities: list[dict]) -> Iterable[list[dict]]:
    chunk, size = [], 2
    for entity in entities:
        encoded = len(orjson.dumps(entity)) + 1
        if chunk and size + encoded > MAX_BATCH_BYTES:
            yield chunk
            chunk, size = [], 2
        chunk.append(entity)
        size += encoded
    if chunk:
        yield chunk
