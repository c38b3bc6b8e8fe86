"""Resolve a request's @context (None, URL, list or object) to a cached ActiveContext.

Remote @contexts are downloaded with httpx (total timeout, size limit, one download per URL however many
requests wait for it) and stored in the registry as kind "Cached"; URLs of contexts hosted by Toshi itself
and the NGSI-LD core context (any version alias) are never fetched. With an OutboundPolicy, every URL
fetched, each redirect hop included, must pass it (toshi/auth/outbound.py: no internal addresses).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import orjson

from toshi.core.errors import BadRequestData, InvalidContext, LdContextNotAvailable
from toshi.core.outbound import OutboundPolicy, OutboundRefused
from toshi.jsonld.context import CORE_URL, ActiveContext, build_active_context, core_context, is_core_url
from toshi.jsonld.registry import ContextRegistry

if TYPE_CHECKING:
    import httpx

MAX_REMOTE_URLS = 32
MAX_REDIRECTS = 5
_ACCEPT = "application/ld+json, application/json;q=0.9, */*;q=0.1"


class ContextResolver:
    def __init__(
        self,
        registry: ContextRegistry,
        fetch_timeout: float = 5.0,
        max_size: int = 4 * 1024 * 1024,
        allow_remote: bool = True,
        *,
        cache_size: int = 1024,
        http_client: httpx.AsyncClient | None = None,
        outbound: OutboundPolicy | None = None,
    ):
        self.registry = registry
        self.fetch_timeout = fetch_timeout
        self.max_size = max_size
        self.allow_remote = allow_remote
        self.cache_size = cache_size
        self._client = http_client
        self.outbound = outbound  # None: any URL may be fetched
        self._own_client = http_client is None
        self._cache: dict[Any, tuple[ActiveContext, tuple[str, ...]]] = {}  # key -> (context, record ids)
        self._building: dict[Any, asyncio.Task[tuple[ActiveContext, tuple[str, ...]]]] = {}
        self._fetching: dict[str, asyncio.Task[Any]] = {}
        self._implicit_urls: dict[Any, str] = {}

    async def resolve(self, context_value: str | list | dict | None) -> ActiveContext:
        """The ActiveContext of a request @context; core context for None. Raises NgsiErrors."""
        if context_value is None:
            return core_context()
        key = _cache_key(context_value)
        entry = self._cache.get(key)
        if entry is None:
            entry = await self._build_once(key, context_value)
        if entry[1]:
            self.registry.touch(entry[1])
        return entry[0]

    async def link_url(self, active: ActiveContext) -> str:
        """URL for a response Link header; hosts an ImplicitlyCreated copy when the context has no URL."""
        if active.link_url is not None:
            return active.link_url
        url = self._implicit_urls.get(active.key)
        if url is None:
            record = await self.registry.add_implicit(active.source)
            url = self._implicit_urls[active.key] = self.registry.url_of(record)
        return url

    async def reload(self, url: str) -> None:
        """Download `url` again and replace its Cached copy; the old copy stays if the download fails."""
        document = await self._fetch(url)
        await self.registry.put_cached(url, document)
        self.clear_cache()

    def clear_cache(self) -> None:
        """Forget processed contexts (after a stored @context was deleted or replaced)."""
        self._cache.clear()
        self._implicit_urls.clear()

    async def aclose(self) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    # --- building ---

    async def _build_once(self, key: Any, value: Any) -> tuple[ActiveContext, tuple[str, ...]]:
        task = self._building.get(key)
        if task is None:
            task = asyncio.ensure_future(self._build(key, value))
            self._building[key] = task
            task.add_done_callback(lambda _: self._building.pop(key, None))
        return await asyncio.shield(task)

    async def _build(self, key: Any, value: Any) -> tuple[ActiveContext, tuple[str, ...]]:
        _check_shape(value)
        link = _link_url(value)
        if link == CORE_URL and _only_urls(value):
            active, ids = core_context(), ()
        else:
            documents: dict[str, Any] = {}
            await self._collect(value, "", documents)
            active = await asyncio.to_thread(build_active_context, value, documents, key=key, link_url=link)
            ids = tuple(r["id"] for r in map(self.registry.get, documents) if r is not None)
        if len(self._cache) >= self.cache_size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = (active, ids)
        return active, ids

    async def _collect(self, value: Any, base: str, documents: dict[str, Any]) -> None:
        """Load every remote @context reachable from `value` into `documents` (url -> @context value)."""
        from pyld import iri_resolver  # PyLD builds the context next anyway; not at import (start-up)

        urls = [iri_resolver.resolve(u, base) if base else u for u in _referenced_urls(value)]
        urls = [u for u in dict.fromkeys(urls) if not is_core_url(u) and u not in documents]
        if len(documents) + len(urls) > MAX_REMOTE_URLS:
            raise InvalidContext(f"@context references more than {MAX_REMOTE_URLS} remote contexts")
        loaded = await asyncio.gather(*(self._document(u) for u in urls))
        documents.update(zip(urls, loaded))
        for url, document in zip(urls, loaded):
            await self._collect(document, url, documents)

    async def _document(self, url: str) -> Any:
        document = self.registry.document(url)
        if document is not None:
            return document
        task = self._fetching.get(url)
        if task is None:
            task = asyncio.ensure_future(self._fetch_and_store(url))
            self._fetching[url] = task
            task.add_done_callback(lambda _: self._fetching.pop(url, None))
        return await asyncio.shield(task)

    # --- fetching ---

    async def _fetch_and_store(self, url: str) -> Any:
        document = await self._fetch(url)
        await self.registry.put_cached(url, document)
        return document

    async def _fetch(self, url: str) -> Any:
        """Download a remote context document and return its @context value."""
        import httpx

        if not url.startswith(("http://", "https://")):
            raise LdContextNotAvailable(f"@context {url} is not an http(s) URL")
        if not self.allow_remote:
            raise LdContextNotAvailable(f"@context {url} is not stored and remote @contexts are disabled")
        try:
            async with asyncio.timeout(self.fetch_timeout):
                body = await self._download(url)
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            if isinstance(exc, (TimeoutError, httpx.TimeoutException)):  # 504: the server did not answer in time
                raise LdContextNotAvailable(f"Unable to retrieve @context {url}: timed out", status=504,
                                            title="JSON-LD @context retrieval timed out") from exc
            reason = str(exc) or type(exc).__name__
            raise LdContextNotAvailable(f"Unable to retrieve @context {url}: {reason}") from exc
        return _parse_document(url, body)

    async def _download(self, url: str) -> bytes:
        """The body at `url`, following redirects by hand so that every hop is checked."""
        client, location = self._http(), url
        for _ in range(MAX_REDIRECTS + 1):
            await self._check_outbound(url, location)
            target, headers, extensions = await self._pinned(location)
            async with client.stream("GET", target, headers={"Accept": _ACCEPT, **headers}, extensions=extensions,
                                     follow_redirects=False) as response:
                if response.is_redirect and response.headers.get("location"):
                    location = urljoin(location, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise LdContextNotAvailable(f"Unable to retrieve @context {url}: HTTP {response.status_code}")
                return await self._read(url, response)
        raise LdContextNotAvailable(f"Unable to retrieve @context {url}: more than {MAX_REDIRECTS} redirects")

    async def _pinned(self, location: str) -> tuple[str, dict, dict]:
        if self.outbound is None:
            return location, {}, {}
        try:
            return await self.outbound.pinned(location)
        except OutboundRefused as exc:
            raise LdContextNotAvailable(f"@context {location} is not fetched: {exc}") from None

    async def _check_outbound(self, url: str, location: str) -> None:
        if self.outbound is None:
            return
        try:
            await self.outbound.check(location)
        except OutboundRefused as exc:
            raise LdContextNotAvailable(f"@context {url} is not fetched: {exc}") from None

    async def _read(self, url: str, response: httpx.Response) -> bytes:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self.max_size:
                raise LdContextNotAvailable(f"@context {url} is larger than {self.max_size} bytes")
        return bytes(body)

    def _http(self) -> httpx.AsyncClient:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.fetch_timeout)
        return self._client


def _cache_key(value: Any) -> Any:
    return value if isinstance(value, str) else orjson.dumps(value)


def _check_shape(value: Any) -> None:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item is not None and not isinstance(item, (str, dict)):
            raise BadRequestData("@context must be a URL, an object, or an array of URLs and objects")


def _only_urls(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _link_url(value: Any) -> str | None:
    """The single URL that stands for `value` (core URLs aside), or None if there is none."""
    items = value if isinstance(value, list) else [value]
    rest = [v for v in items if not (isinstance(v, str) and is_core_url(v))]
    if not rest:
        return CORE_URL
    if len(rest) == 1 and isinstance(rest[0], str):
        return rest[0]
    return None


def _referenced_urls(value: Any) -> Iterator[str]:
    """Context URLs in a @context value: strings, @import, and scoped contexts in term definitions."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _referenced_urls(item)
    elif isinstance(value, dict):
        if isinstance(value.get("@import"), str):
            yield value["@import"]
        for definition in value.values():
            if isinstance(definition, dict) and "@context" in definition:
                yield from _referenced_urls(definition["@context"])


def _parse_document(url: str, body: bytes) -> Any:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidContext(f"@context {url} is not valid JSON") from exc
    if not isinstance(document, dict) or "@context" not in document:
        raise InvalidContext(f"@context {url} is not a JSON object with an @context member")
    return document["@context"]
