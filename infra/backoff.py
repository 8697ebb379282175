"""The one backoff: capped exponential delays with jitter, and a retry-in-place loop on them."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    """initial * 2^(attempt-1), capped; `attempt` counts from 1."""

    initial: float
    cap: float

    def ceiling(self, attempt: int) -> float:
        """The delay before jitter (what a deterministic caller, e.g. a restart, waits)."""
        return min(self.cap, self.initial * 2.0 ** max(0, attempt - 1))

    def delay(
        self,
        attempt: int,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """The ceiling times a jitter in [0.5, 1): callers that fail together spread out, yet
        none retries at once. A server's Retry-After is a floor (never sooner than asked);
        the cap still bounds it."""
        jittered = self.ceiling(attempt) * (0.5 + rand() / 2)
        return min(self.cap, max(jittered, retry_after or 0.0))


# Retries in place inside the streams worker: the partition waits, so the first retries
# come quickly and a long outage is polled every few seconds.
IN_PLACE = Backoff(initial=0.1, cap=5.0)


class GaveUp(Exception):
    """The call kept failing past its deadline; the last failure is the __cause__."""


async def retry_in_place(
    call: Callable[[], Awaitable[T]],
    *,
    retry_on: tuple[type[Exception], ...],
    on_failure: Callable[[Exception, float | None], None],
    backoff: Backoff = IN_PLACE,
    deadline_seconds: float | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call until it succeeds, sleeping a backoff delay after each `retry_on` failure.

    `on_failure(exc, delay)` sees every failure (count it, log it) with the delay about to be
    slept, or None when the deadline (seconds from the first call; None = wait forever) has
    passed: GaveUp is raised from the failure then. Other exceptions propagate at once."""
    give_up_at = None if deadline_seconds is None else clock() + deadline_seconds
    attempt = 0
    while True:
        try:
            return await call()
        except retry_on as exc:
            attempt += 1
            if give_up_at is not None and clock() >= give_up_at:
                on_failure(exc, None)
                raise GaveUp(str(exc)) from exc
            delay = backoff.delay(attempt)
            on_failure(exc, delay)
            await sleep(delay)
