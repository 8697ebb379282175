"""RedisBacked: what every Redis subclass of a contract suite shares (real server, own keys)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from projections.keys import Keys
from projections.redis_client import redis_client
from tests.contract.net import closed_port


class RedisBacked:
    """Mixin: the session's real redis-server, a unique key namespace per test (deleted by
    the `redis_namespace` fixture), and every client closed after the test."""

    redis_url: str
    namespace: str

    @pytest.fixture(autouse=True)
    async def _redis(self, redis_url: str, redis_namespace: str) -> AsyncIterator[None]:
        self.redis_url, self.namespace = redis_url, redis_namespace
        self._clients: list[aioredis.Redis] = []
        self._made = 0
        yield
        for client in self._clients:
            await client.aclose()

    def client(self, *, autopipeline: bool = False) -> aioredis.Redis:
        """A client of the session's server, closed after the test."""
        client = redis_client(self.redis_url, autopipeline=autopipeline)
        self._clients.append(client)
        return client

    def fresh_keys(self) -> Keys:
        """Keys of a namespace no other store of this test uses (hypothesis examples call
        `make` many times per test); all under the test's namespace, so all deleted."""
        self._made += 1
        return Keys(f"{self.namespace}x{self._made}")

    def unreachable_client(self, *, autopipeline: bool = False) -> aioredis.Redis:
        """A client of a Redis that is not there (connection refused at once)."""
        url = f"redis://127.0.0.1:{closed_port()}"
        client = redis_client(url, timeout_seconds=1.0, autopipeline=autopipeline)
        self._clients.append(client)
        return client
