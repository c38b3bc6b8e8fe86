"""Token buckets per key: how many events a key (a device, a principal) may send per second, with
a burst allowance. Keys idle for long are forgotten so the table cannot grow without bound."""

from __future__ import annotations

import time
from collections.abc import Hashable

FORGET_AFTER = 600.0  # seconds a key may stay idle before its bucket is dropped


class RateLimiter:
    def __init__(self, rate: float, burst: float | None = None, clock=time.monotonic):
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, 2 * rate))
        self._clock = clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._next_sweep = clock() + FORGET_AFTER

    def allow(self, key: Hashable, cost: float = 1.0) -> bool:
        """Take `cost` tokens from the key's bucket if it has them. A rate of 0 means no limit."""
        if self.rate <= 0:
            return True
        now = self._clock()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        allowed = tokens >= cost
        self._buckets[key] = (tokens - cost if allowed else tokens, now)
        if now >= self._next_sweep:
            self._sweep(now)
        return allowed

    def retry_after(self, key: Hashable, cost: float = 1.0) -> float:
        """Seconds until `cost` tokens are back (0 when they are there now)."""
        tokens, last = self._buckets.get(key, (self.burst, self._clock()))
        missing = cost - min(self.burst, tokens + (self._clock() - last) * self.rate)
        return max(0.0, missing / self.rate) if self.rate > 0 else 0.0

    def _sweep(self, now: float) -> None:
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < FORGET_AFTER}
        self._next_sweep = now + FORGET_AFTER
