"""The public keys bearer tokens are checked against: a static JWKS, a JWKS fetched from an identity
provider (cached, refreshed every `cache_seconds` and when a token names an unknown kid, at most once
per `min_refresh_seconds`), or both. Symmetric (`oct`) and encryption keys are never used."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt

log = logging.getLogger("toshi.auth")

FETCH_TIMEOUT = 5.0


@dataclass(frozen=True)
class Jwk:
    data: dict   # the JWK as published (kty, crv, alg, ...)
    key: object  # the cryptography public key


def parse_jwks(jwks: dict) -> dict[str | None, Jwk]:
    """kid -> usable signature key; keys that are symmetric, for encryption or unreadable are left out."""
    keys: dict[str | None, Jwk] = {}
    for entry in jwks.get("keys", []) if isinstance(jwks, dict) else []:
        if not isinstance(entry, dict) or entry.get("kty") == "oct" or entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry.get("kid")] = Jwk(entry, jwt.PyJWK(entry).key)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            log.warning("ignoring unusable JWK %s: %s", entry.get("kid"), exc)
    return keys


class KeySet:
    def __init__(self, url: str | None = None, static: dict | None = None, *, cache_seconds: float = 3600,
                 min_refresh_seconds: float = 30, clock: Callable[[], float] = time.monotonic):
        self.url = url
        self._static = parse_jwks(static) if static else {}
        self._remote: dict[str | None, Jwk] = {}
        self._cache_seconds = cache_seconds
        self._min_refresh = min_refresh_seconds
        self._clock = clock
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0
        self.last_error = ""

    @property
    def empty(self) -> bool:
        return not self._static and not self._remote

    async def find(self, kid: str | None) -> Jwk | None:
        """The key named `kid` (a token without kid: the only key, if there is just one)."""
        if self.url and (self._fetched_at is None or self._age() >= self._cache_seconds):
            await self._refresh()
        key = self._lookup(kid)
        if key is None and self.url and self._age() >= self._min_refresh:
            await self._refresh()
            key = self._lookup(kid)
        return key

    def _age(self) -> float:
        return float("inf") if self._fetched_at is None else self._clock() - self._fetched_at

    def _lookup(self, kid: str | None) -> Jwk | None:
        keys = {**self._remote, **self._static}
        if kid is None:
            return next(iter(keys.values())) if len(keys) == 1 else None
        return keys.get(kid)

    async def _refresh(self) -> None:
        import httpx

        fetches = self.fetches
        async with self._lock:
            if self.fetches != fetches:  # another request refreshed while this one waited
                return
            self.fetches += 1
            self._fetched_at = self._clock()
            try:
                self._remote = parse_jwks(await fetch_json(self.url))
                self.last_error = ""
            except (httpx.HTTPError, ValueError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("could not fetch JWKS from %s (keeping %d cached keys): %s",
                            self.url, len(self._remote), self.last_error)


async def fetch_json(url: str) -> dict:
    import httpx

    async with httpx.AsyncClient(timeout=FETCH_TIMEOUT) as client:
        response = await client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        return response.json()
