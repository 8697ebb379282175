"""AutoPipelineRedis: commands issued in one event-loop turn go to Redis as one pipeline."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

# Rendering a batch of screen pops runs many coroutines that each await a few small reads
# (link actions, profile lookups, timeline pages): one round trip each cost more than the
# reads themselves (docs/performance.md). Coalescing whatever the loop issues in one turn
# into one non-transactional pipeline keeps every caller's own order (a caller awaits its
# reply before it sends again) and changes no command's meaning; each caller gets its own
# reply or its own error. Explicit pipelines and transactions go out as before.
_MAX_BATCH = 512


class AutoPipelineRedis(aioredis.Redis):
    """A redis.asyncio.Redis whose single commands are coalesced per loop turn."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queued: list[tuple[tuple[Any, ...], dict[str, Any], asyncio.Future[Any]]] = []
        self._flush_scheduled = False
        self._inflight: set[asyncio.Task[None]] = set()
        self.pipelines_sent = 0  # observability and tests: how many coalesced round trips

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        return await self._enqueue(args, options)

    def _enqueue(self, args: tuple[Any, ...], options: dict[str, Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queued.append((args, options, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return future

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Any:
        """Transactions as usual; a non-transactional pipeline joins the coalesced batch."""
        if transaction:
            return super().pipeline(transaction, shard_hint)
        return _CoalescedPipeline(
            self, self.connection_pool, self.response_callbacks, transaction, shard_hint
        )

    async def _direct(self, *args: Any, **options: Any) -> Any:
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]

    def _flush(self) -> None:
        self._flush_scheduled = False
        queued, self._queued = self._queued, []
        for start in range(0, len(queued), _MAX_BATCH):
            task = asyncio.ensure_future(self._send(queued[start : start + _MAX_BATCH]))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _send(
        self, queued: list[tuple[tuple[Any, ...], dict[str, Any], asyncio.Future[Any]]]
    ) -> None:
        live = [item for item in queued if not item[2].done()]  # callers may be cancelled
        if not live:
            return
        if len(live) == 1:
            args, options, future = live[0]
            try:
                result = await self._direct(*args, **options)
            except BaseException as exc:
                _fail(future, exc)
            else:
                _resolve(future, result)
            return
        try:
            async with aioredis.client.Pipeline(
                self.connection_pool, self.response_callbacks, False, None
            ) as pipe:
                for args, options, _future in live:
                    pipe.execute_command(*args, **options)
                results = await pipe.execute(raise_on_error=False)
                self.pipelines_sent += 1
        except BaseException as exc:
            for _args, _options, future in live:
                _fail(future, exc)
            return
        for (_args, _options, future), result in zip(live, results, strict=True):
            if isinstance(result, Exception):
                _fail(future, result)
            else:
                _resolve(future, result)


class _CoalescedPipeline(aioredis.client.Pipeline):
    """A non-transactional pipeline whose commands join the owner's next coalesced batch
    (so many callers' small pipelines share one round trip). One with scripts runs on its
    own: the stock pipeline loads missing scripts before it sends them."""

    def __init__(self, owner: AutoPipelineRedis, *args: Any) -> None:
        super().__init__(*args)
        self._owner = owner

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        if self.scripts or self.watching or self.explicit_transaction:
            return list(await super().execute(raise_on_error))
        stack, self.command_stack = self.command_stack, []
        futures = [self._owner._enqueue(args, dict(options)) for args, options in stack]
        results = list(await asyncio.gather(*futures, return_exceptions=True))
        if raise_on_error:
            for result in results:
                if isinstance(result, BaseException):
                    raise result
        return results


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if future.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)
