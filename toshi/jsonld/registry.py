"""The stored @contexts behind `/ngsi-ld/v1/jsonldContexts` (ETSI GS CIM 009 v1.8, clause 5.13).

Three kinds: Hosted (POSTed by a client), Cached (downloaded on demand from their original URL) and
ImplicitlyCreated (an inline @context the broker hosts so it can answer with a Link header). The embedded
core context is listed as a Cached entry that can be neither served nor deleted. A Hosted @context
belongs to the tenant that added it: the API lists, serves and deletes it for that tenant only.

A stored record is a plain JSON-serialisable dict:

    {"id": "3f2a...", "kind": "Hosted" | "Cached" | "ImplicitlyCreated", "tenant": "" (Hosted only),
     "url": "https://..." (Cached only; hosted URLs are derived from base_url),
     "timestamp": "...Z", "lastUsage": "...Z" | None, "numberOfHits": 0,
     "context": <the @context value>}

Hit counters are kept in memory and written back by `flush()`, never on the request path.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Protocol

import orjson

from toshi.core.errors import BadRequestData, ResourceNotFound
from toshi.core.times import normalize_instant, to_iso
from toshi.jsonld.context import CORE_URL, is_core_url

KINDS = ("Hosted", "Cached", "ImplicitlyCreated")
CORE_ID = "ngsi-ld-core-context"
CONTEXTS_PATH = "/ngsi-ld/v1/jsonldContexts/"


class ContextStore(Protocol):
    """Persistence for stored @contexts (the lead backs it with the SQLite store)."""

    async def load_contexts(self) -> list[dict]: ...

    async def save_context(self, record: dict) -> None: ...

    async def delete_context(self, id: str) -> None: ...


class InMemoryContextStore:
    """A ContextStore in a dict: for tests and embedding."""

    def __init__(self) -> None:
        self.records: dict[str, dict] = {}

    async def load_contexts(self) -> list[dict]:
        return [dict(r) for r in self.records.values()]

    async def save_context(self, record: dict) -> None:
        self.records[record["id"]] = orjson.loads(orjson.dumps(record))

    async def delete_context(self, id: str) -> None:
        self.records.pop(id, None)


class ContextRegistry:
    """All stored @contexts, in memory, persisted through a ContextStore."""

    def __init__(self, store: ContextStore | None = None, base_url: str = "http://localhost:1026"):
        self.store: ContextStore = store if store is not None else InMemoryContextStore()
        self.base_url = base_url.rstrip("/")
        self._records: dict[str, dict] = {}
        self._cached_by_url: dict[str, str] = {}  # original URL -> id
        self._implicit_by_hash: dict[bytes, str] = {}  # canonical JSON of the context -> id
        self._hits: dict[str, tuple[int, float]] = {}  # id -> (hits since flush, last use)
        self._core = _record(CORE_ID, "Cached", None, url=CORE_URL)
        self._reloading: asyncio.Task | None = None

    async def load(self) -> None:
        """Load the stored records (call once at startup); follow changes other processes make."""
        for record in await self.store.load_contexts():
            self._index(record)
        watch = getattr(self.store, "watch", None)
        if watch is not None:
            watch("contexts", lambda _: self._reload_soon())

    def _reload_soon(self) -> None:
        self._reloading = asyncio.ensure_future(self._reload())

    async def _reload(self) -> None:
        records = await self.store.load_contexts()
        self._records.clear()
        self._cached_by_url.clear()
        self._implicit_by_hash.clear()
        for record in records:
            self._index(record)

    def _tell_others(self) -> None:
        publish = getattr(self.store, "publish", None)
        if publish is not None:
            publish("contexts")

    # --- lookups (synchronous, cheap) ---

    def get(self, ref: str) -> dict | None:
        """Record by local id, by original URL (Cached) or by its hosted URL; core aliases -> core."""
        record = self._records.get(ref)
        if record is not None:
            return record
        if ref == CORE_ID or is_core_url(ref):
            return self._core
        record_id = self._cached_by_url.get(ref) or self._hosted_id(ref)
        return self._records.get(record_id) if record_id else None

    def document(self, url: str) -> Any | None:
        """The @context value stored for a URL (Cached original URL or one of our hosted URLs)."""
        record = self.get(url)
        if record is None or record is self._core:
            return None
        return record["context"]

    def records(self, kind: str | None = None) -> list[dict]:
        """All records, core first, optionally of one kind."""
        if kind is not None and kind not in KINDS:
            raise BadRequestData(f"Invalid kind '{kind}': must be one of {', '.join(KINDS)}")
        every = [self._core, *self._records.values()]
        return [r for r in every if kind is None or r["kind"] == kind]

    def is_core(self, record: dict) -> bool:
        return record is self._core

    def hosted_url(self, record_id: str) -> str:
        return f"{self.base_url}{CONTEXTS_PATH}{record_id}"

    def url_of(self, record: dict) -> str:
        return record["url"] if record["kind"] == "Cached" else self.hosted_url(record["id"])

    def metadata(self, record: dict) -> dict:
        """The record as the API shows it (clause 5.13.3.5: URL, localId, kind, createdAt, ...; v1.8 named
        the creation time `timestamp`, which is kept beside it)."""
        hits, last = self._hits.get(record["id"], (0, None))
        out = {
            "URL": self.url_of(record),
            "localId": record["id"],
            "kind": record["kind"],
            "createdAt": _shown(record["timestamp"]),
            "timestamp": _shown(record["timestamp"]),
            "numberOfHits": record["numberOfHits"] + hits,
        }
        last_usage = _stamp(last) if last is not None else record.get("lastUsage")
        if last_usage:
            out["lastUsage"] = _shown(last_usage)
        if record.get("extraInfo"):
            out["extraInfo"] = record["extraInfo"]
        return out

    def touch(self, ids: tuple[str, ...]) -> None:
        """Count one use of each record (hot path: memory only, persisted by flush())."""
        now = time.time()
        for record_id in ids:
            hits, _ = self._hits.get(record_id, (0, now))
            self._hits[record_id] = (hits + 1, now)

    # --- mutations (persisted) ---

    async def add_hosted(self, context: Any, tenant: str = "") -> dict:
        """A client's @context, private to the tenant that added it (see `visible_to`)."""
        record = _record(uuid.uuid4().hex, "Hosted", context)
        record["tenant"] = tenant
        return await self._add(record)

    @staticmethod
    def visible_to(record: dict, tenant: str) -> bool:
        """Whether the @context API shows `record` to `tenant`: a Hosted @context only to the tenant that
        added it (records from before tenants were kept belong to the default tenant); Cached and
        ImplicitlyCreated ones, copies of public documents or of what requests carried, to every tenant.
        Resolving a hosted URL inside a request (a Link header naming it) is not limited: the URL is
        an unguessable id the owner handed out."""
        return record["kind"] != "Hosted" or record.get("tenant", "") == tenant

    def has_tenant(self, tenant: str) -> bool:
        """Whether `tenant` has added a @context (then it exists for the @context API)."""
        return any(r["kind"] == "Hosted" and r.get("tenant", "") == tenant for r in self._records.values())

    async def add_implicit(self, context: Any) -> dict:
        """Host an inline @context (deduplicated: the same content gets the same record)."""
        existing = self._implicit_by_hash.get(_canonical(context))
        if existing in self._records:
            return self._records[existing]
        return await self._add(_record(uuid.uuid4().hex, "ImplicitlyCreated", context))

    async def put_cached(self, url: str, context: Any) -> dict:
        """Store (or replace, keeping id and timestamp) the downloaded @context of `url`."""
        old = self._records.get(self._cached_by_url.get(url, ""))
        record = _record(old["id"] if old else uuid.uuid4().hex, "Cached", context, url=url)
        if old:
            record.update(
                timestamp=old["timestamp"], lastUsage=old["lastUsage"], numberOfHits=old["numberOfHits"]
            )
        return await self._add(record)

    async def delete(self, ref: str) -> dict:
        """Remove a stored @context by local id (or original URL for Cached); returns the record."""
        record = self.get(ref)
        if record is None:
            raise ResourceNotFound(f"@context not found: {ref}")
        if record is self._core:
            raise BadRequestData("The NGSI-LD core @context cannot be deleted")
        self._unindex(record)
        await self.store.delete_context(record["id"])
        self._tell_others()
        return record

    async def flush(self) -> None:
        """Write pending hit counters to the store (call periodically and at shutdown)."""
        pending, self._hits = self._hits, {}
        for record_id, (hits, last) in pending.items():
            record = self._records.get(record_id)
            if record is None:
                continue
            record["numberOfHits"] += hits
            record["lastUsage"] = _stamp(last)
            await self.store.save_context(record)

    # --- internals ---

    async def _add(self, record: dict) -> dict:
        await self.store.save_context(record)
        self._index(record)
        self._tell_others()
        return record

    def _index(self, record: dict) -> None:
        self._records[record["id"]] = record
        if record["kind"] == "Cached":
            self._cached_by_url[record["url"]] = record["id"]
        elif record["kind"] == "ImplicitlyCreated":
            self._implicit_by_hash[_canonical(record["context"])] = record["id"]

    def _unindex(self, record: dict) -> None:
        self._records.pop(record["id"], None)
        self._hits.pop(record["id"], None)
        if record["kind"] == "Cached":
            self._cached_by_url.pop(record["url"], None)
        elif record["kind"] == "ImplicitlyCreated":
            self._implicit_by_hash.pop(_canonical(record["context"]), None)

    def _hosted_id(self, url: str) -> str | None:
        """Local id from a hosted URL. The host is not checked: behind proxies it differs, ids are UUIDs."""
        if not url.startswith(("http://", "https://")):
            return None
        _, sep, record_id = url.partition(CONTEXTS_PATH)
        return record_id if sep and record_id in self._records else None


def _record(record_id: str, kind: str, context: Any, *, url: str | None = None) -> dict:
    record = {
        "id": record_id,
        "kind": kind,
        "timestamp": _stamp(time.time()),
        "lastUsage": None,
        "numberOfHits": 0,
        "context": context,
    }
    if url is not None:
        record["url"] = url
    return record


def _stamp(epoch: float) -> str:
    """Seconds since the epoch as the broker writes its times: UTC with milliseconds."""
    return to_iso(int(epoch * 1000))


def _shown(stamp: str) -> str:
    """A stored time with milliseconds (records made before kept microseconds)."""
    return normalize_instant(stamp)


def _canonical(context: Any) -> bytes:
    return orjson.dumps(context, option=orjson.OPT_SORT_KEYS)
