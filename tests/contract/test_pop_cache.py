"""One contract for PopCache: the in-memory twin and Redis pass the same tests."""

from __future__ import annotations

import abc
import asyncio

import pytest

from core.errors import StoreUnavailable
from core.ports import PopCache
from projections.memory_profiles import InMemoryPopCache
from projections.redis_links import RedisPopCache
from tests.contract.redis_backed import RedisBacked


class PopCacheContract(abc.ABC):
    """What every PopCache must do."""

    @abc.abstractmethod
    def make(self) -> PopCache:
        """A fresh, empty cache."""

    def unreachable(self) -> PopCache | None:
        """The cache with its backend gone, or None when it cannot be (a twin)."""
        return None

    async def test_a_pop_reads_back_until_replaced(self) -> None:
        cache = self.make()
        assert await cache.get("acme", "ix-1") is None
        await cache.put("acme", "ix-1", '{"v":1}', 60)
        await cache.put("acme", "ix-1", '{"v":2}', 60)
        assert await cache.get("acme", "ix-1") == '{"v":2}'
        assert await cache.get("acme", "ix-2") is None
        assert await cache.get("beta", "ix-1") is None

    async def test_a_pop_expires_after_its_ttl(self) -> None:
        """Short-lived: gone once `ttl_seconds` passed (the panel is rebuilt, not stale)."""
        cache = self.make()
        await cache.put("acme", "ix-1", '{"v":1}', 1)
        await cache.put("acme", "ix-2", '{"v":2}', 60)
        await asyncio.sleep(1.3)
        assert await cache.get("acme", "ix-1") is None
        assert await cache.get("acme", "ix-2") == '{"v":2}'

    async def test_an_unreachable_cache_raises_store_unavailable(self) -> None:
        cache = self.unreachable()
        if cache is None:
            pytest.skip("an in-process twin is always reachable")
        with pytest.raises(StoreUnavailable):
            await cache.put("acme", "ix-1", "{}", 60)
        with pytest.raises(StoreUnavailable):
            await cache.get("acme", "ix-1")


class TestInMemoryPopCache(PopCacheContract):
    """The twin."""

    def make(self) -> PopCache:
        return InMemoryPopCache()


@pytest.mark.integration
class TestRedisPopCache(RedisBacked, PopCacheContract):
    """The Redis adapter on a real redis-server."""

    def make(self) -> PopCache:
        return RedisPopCache(self.client(), self.fresh_keys())

    def unreachable(self) -> PopCache:
        return RedisPopCache(self.unreachable_client(), self.fresh_keys())
