"""Batcher: order kept, batches bounded, intake not blocked by a running batch, errors surface."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from streams.batching import Batcher


async def _run(batcher):
    return asyncio.create_task(batcher.run())


async def _stop(task):
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_items_arriving_during_a_batch_form_the_next_one_in_order():
    seen: list[list[int]] = []
    gate = asyncio.Event()

    async def handle(batch):
        seen.append(batch)
        if len(seen) == 1:
            await gate.wait()  # the first batch is slow: the intake must keep going

    batcher = Batcher(handle, max_items=100)
    task = await _run(batcher)
    await batcher.put(0)
    await asyncio.sleep(0.01)
    for i in range(1, 51):
        await batcher.put(i)  # does not block although a batch is running
    gate.set()
    await asyncio.sleep(0.01)
    await _stop(task)
    assert seen == [[0], list(range(1, 51))]


async def test_batches_never_exceed_the_maximum_and_nothing_is_lost():
    seen: list[list[int]] = []

    async def handle(batch):
        seen.append(batch)
        await asyncio.sleep(0)

    batcher = Batcher(handle, max_items=7)
    task = await _run(batcher)
    for i in range(100):
        await batcher.put(i)
    await asyncio.sleep(0.05)
    await _stop(task)
    assert all(len(b) <= 7 for b in seen)
    assert [i for b in seen for i in b] == list(range(100))


async def test_a_full_queue_holds_the_intake_back():
    gate = asyncio.Event()

    async def handle(_batch):
        await gate.wait()

    batcher = Batcher(handle, max_items=2)
    task = await _run(batcher)
    await batcher.put(0)
    await asyncio.sleep(0.01)  # batch [0] is being handled
    for i in range(1, 4):
        await batcher.put(i)
    blocked = asyncio.create_task(batcher.put(4))  # 4 waiting = two full batches
    await asyncio.sleep(0.01)
    assert not blocked.done()
    gate.set()
    await asyncio.wait_for(blocked, 1)
    await _stop(task)


async def test_a_failing_handler_stops_the_batcher_and_the_next_put_raises():
    async def handle(_batch):
        raise RuntimeError("boom")

    batcher = Batcher(handle, max_items=10)
    task = await _run(batcher)
    await batcher.put(1)
    with pytest.raises(RuntimeError):
        await task
    with pytest.raises(RuntimeError):
        await batcher.put(2)
