"""AutoPipelineRedis on a real Redis: concurrent commands share round trips, each caller
gets its own reply or error, scripts and transactions behave as on the stock client."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ResponseError

from projections.redis_client import redis_client

pytestmark = pytest.mark.integration


async def test_concurrent_commands_are_coalesced_and_answered_in_place(redis_url, redis_namespace):
    client = redis_client(redis_url, autopipeline=True)
    try:
        keys = [f"{redis_namespace}:k{i}" for i in range(50)]
        await asyncio.gather(*(client.set(k, str(i)) for i, k in enumerate(keys)))
        values = await asyncio.gather(*(client.get(k) for k in keys))
        assert values == [str(i).encode() for i in range(50)]
        assert client.pipelines_sent <= 4  # 100 commands, a handful of round trips
        # A caller's error is its own: a WRONGTYPE does not fail its neighbours.
        await client.rpush(f"{redis_namespace}:list", "x")
        results = await asyncio.gather(
            client.get(keys[0]), client.get(f"{redis_namespace}:list"), client.get(keys[1]),
            return_exceptions=True,
        )
        assert results[0] == b"0" and results[2] == b"1"
        assert isinstance(results[1], ResponseError)
    finally:
        await client.aclose()


async def test_small_pipelines_join_the_batch_and_scripts_and_transactions_still_work(
    redis_url, redis_namespace
):
    client = redis_client(redis_url, autopipeline=True)
    try:
        key = f"{redis_namespace}:h"

        async def reader(i: int) -> list:
            async with client.pipeline(transaction=False) as pipe:
                pipe.hset(key, f"f{i}", i)
                pipe.hget(key, f"f{i}")
                return await pipe.execute()

        before = client.pipelines_sent
        results = await asyncio.gather(*(reader(i) for i in range(20)))
        assert [r[1] for r in results] == [str(i).encode() for i in range(20)]
        assert client.pipelines_sent - before <= 2
        script = client.register_script("return redis.call('HLEN', KEYS[1])")
        await client.script_flush()
        assert await script(keys=[key]) == 20  # NOSCRIPT is handled as by the stock client
        async with client.pipeline(transaction=False) as pipe:
            await script(keys=[key], client=pipe)
            assert await pipe.execute() == [20]
        async with client.pipeline(transaction=True) as pipe:
            pipe.hset(key, "t", 1)
            pipe.hlen(key)
            assert await pipe.execute() == [1, 21]
    finally:
        await client.aclose()
