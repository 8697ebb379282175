"""One contract for RateLimiter: the in-memory twin and Redis pass the same tests."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from core.rate_limits import RateLimit
from projections.keys import Keys
from projections.memory_rate_limiter import InMemoryRateLimiter
from projections.redis_client import redis_client
from projections.redis_rate_limiter import RedisRateLimiter


class RateLimiterContract:
    """What every RateLimiter must do."""

    def make(self):  # pragma: no cover - overridden
        raise NotImplementedError

    async def test_a_burst_passes_then_the_next_request_waits(self):
        limiter, cred = self.make(), uuid.uuid4().hex
        limit = RateLimit(per_second=1.0, burst=3)
        waits = [await limiter.acquire(cred, limit) for _ in range(4)]
        assert waits[:3] == [0.0, 0.0, 0.0]
        assert 0.5 < waits[3] <= 1.0

    async def test_credentials_have_separate_budgets(self):
        limiter = self.make()
        limit = RateLimit(per_second=1.0, burst=1)
        assert await limiter.acquire("a-" + uuid.uuid4().hex, limit) == 0.0
        assert await limiter.acquire("b-" + uuid.uuid4().hex, limit) == 0.0

    async def test_the_budget_refills_with_time(self):
        limiter, cred = self.make(), uuid.uuid4().hex
        limit = RateLimit(per_second=20.0, burst=1)
        assert await limiter.acquire(cred, limit) == 0.0
        wait = await limiter.acquire(cred, limit)
        assert 0 < wait <= 0.05
        await self.sleep(wait + 0.01)
        assert await limiter.acquire(cred, limit) == 0.0

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class TestInMemoryRateLimiter(RateLimiterContract):
    """The twin, on a clock the test moves."""

    def make(self):
        self.now = 1_000_000.0
        return InMemoryRateLimiter(lambda: self.now)

    async def sleep(self, seconds: float) -> None:
        self.now += seconds * 1000


@pytest.mark.integration
class TestRedisRateLimiter(RateLimiterContract):
    """The Redis adapter on a real redis-server (Redis's own clock)."""

    @pytest.fixture(autouse=True)
    def _redis(self, redis_url, redis_namespace):
        self.redis_url, self.namespace = redis_url, redis_namespace

    def make(self):
        return RedisRateLimiter(redis_client(self.redis_url), Keys(self.namespace))
