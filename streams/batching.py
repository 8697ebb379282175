"""Batcher: hands items to an async handler in batches, intake running while one is handled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Batcher(Generic[T]):
    """Items are taken in arrival order, at most `max_items` per call of `handle`, one call
    at a time. An idle batcher hands over the first item at once (after `linger` seconds,
    0 by default), so a lone event is not held back; under load the items that arrive
    while a batch is handled form the next one. `put` waits (back-pressure on the intake)
    while two full batches are waiting. A handler that raises stops the batcher, and the
    next `put` re-raises that error: nothing is handed over twice or skipped silently."""

    def __init__(
        self,
        handle: Callable[[list[T]], Awaitable[None]],
        max_items: int,
        linger: float = 0.0,
    ) -> None:
        self._handle = handle
        self._max = max(1, max_items)
        self._linger = max(0.0, linger)
        self._pending: list[T] = []
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._failed: BaseException | None = None

    async def put(self, item: T) -> None:
        """Queue one item; waits while the queue is full."""
        if self._failed is not None:
            raise self._failed
        self._pending.append(item)
        self._ready.set()
        if len(self._pending) >= 2 * self._max:
            self._room.clear()
            await self._room.wait()
            if self._failed is not None:
                raise self._failed

    async def run(self) -> None:
        """Hand batches to the handler until cancelled."""
        try:
            while True:
                await self._ready.wait()
                if self._linger and len(self._pending) < self._max:
                    await asyncio.sleep(self._linger)
                else:
                    await asyncio.sleep(0)  # let the intake add what is already there
                batch = self._pending[: self._max]
                del self._pending[: self._max]
                if not self._pending:
                    self._ready.clear()
                if len(self._pending) < 2 * self._max:
                    self._room.set()
                if batch:
                    await self._handle(batch)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._failed = exc
            self._room.set()
            raise
