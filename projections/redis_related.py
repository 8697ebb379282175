"""RedisRelatedRecords: an interaction's related-record facts in one hash (HSETNX per fact)."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from core.related import RelatedFact
from projections.keys import Keys
from projections.redis_profiles import redis_errors


class RedisRelatedRecords:
    """RelatedRecordsStore on Redis: hash field = fact id, value = the fact; the hash lives
    in the interaction's slot and expires with it (`ttl_seconds`, like interaction links)."""

    def __init__(self, client: aioredis.Redis, keys: Keys, ttl_seconds: int = 400 * 86_400) -> None:
        self._redis = client
        self._keys = keys
        self._ttl = ttl_seconds

    def _key(self, tenant_id: str, interaction_id: str) -> str:
        return self._keys.interaction_related(tenant_id, interaction_id)

    async def add(self, tenant_id: str, interaction_id: str, facts: Sequence[RelatedFact]) -> None:
        if not facts:
            return
        key = self._key(tenant_id, interaction_id)
        with redis_errors():
            async with self._redis.pipeline(transaction=True) as pipe:
                for fact in facts:
                    pipe.hsetnx(key, fact.fact_id, fact.to_json())
                pipe.expire(key, self._ttl)
                await pipe.execute()

    async def facts(self, tenant_id: str, interaction_id: str) -> list[RelatedFact]:
        with redis_errors():
            flat = await self._redis.hgetall(self._key(tenant_id, interaction_id))
        found = [
            RelatedFact.from_json(k.decode() if isinstance(k, bytes) else k, v)
            for k, v in flat.items()
        ]
        return sorted(found, key=lambda f: f.fact_id)
