"""InMemoryRateLimiter: the RateLimiter twin for unit tests (same GCRA, an injected clock)."""

from __future__ import annotations

import time
from collections.abc import Callable

from core.rate_limits import RateLimit, gcra


class InMemoryRateLimiter:
    """RateLimiter in a dict of theoretical arrival times."""

    def __init__(self, clock_ms: Callable[[], float] | None = None) -> None:
        self._clock = clock_ms or (lambda: time.time() * 1000)
        self._tat: dict[str, float] = {}

    async def acquire(self, credential: str, limit: RateLimit) -> float:
        allowed, tat, wait_ms = gcra(self._tat.get(credential, 0.0), self._clock(), limit)
        if allowed:
            self._tat[credential] = tat
        return wait_ms / 1000.0
