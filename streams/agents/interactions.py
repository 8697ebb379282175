"""process_interactions: canonical events -> party, timeline, pops, by-party records, activities."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from schemas.topics import INTERACTIONS
from streams.app import TOPICS, app, deps, send_many, settings, stats
from streams.batching import Batcher
from streams.pipeline import PartyCache
from streams.processing import process_batch

_CACHE = PartyCache()


@app.agent(TOPICS[INTERACTIONS])
async def process_interactions(stream: Any) -> None:
    """One pass per batch: each event decoded once and folded once; pops go out first.

    Events keep flowing into the next batch while one is processed (Faust's take() stops
    its intake meanwhile, which made batches as small as a few milliseconds of intake), and
    an event is acknowledged, so committed, only after its batch's outputs are."""
    stream.enable_acks = False  # acked by the batcher, after processing

    async def handle(events: list[Any]) -> None:
        await process_batch(
            [event.message for event in events],
            stage="interactions",
            deps=deps(),
            cache=_CACHE,
            send_many=send_many,
            stats=stats("interactions"),
        )
        for event in events:
            await stream.ack(event)

    batcher = Batcher(handle, settings.batch_max_events, settings.batch_within_ms / 1000)
    runner = asyncio.create_task(batcher.run())
    try:
        async for event in stream.events():
            await batcher.put(event)
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
