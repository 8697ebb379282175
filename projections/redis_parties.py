"""RedisInteractionParties: interaction -> party links and parked events, in Redis."""

from __future__ import annotations

import json

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from projections.errors import StoreUnavailable
from projections.keys import Keys
from projections.ports import Party

_INFRA_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisInteractionParties:
    """InteractionParties on Redis; links and parked events expire after `ttl_seconds`."""

    def __init__(self, client: aioredis.Redis, keys: Keys, ttl_seconds: int) -> None:
        self._redis = client
        self._keys = keys
        self._ttl = ttl_seconds

    async def remember(self, interaction_id: str, party: Party) -> None:
        doc = json.dumps(
            [party.token, party.kind, party.value, party.internal, party.normalizer_version]
        )
        key = self._keys.interaction_party(party.tenant_id, interaction_id)
        try:
            await self._redis.set(key, doc, nx=True, ex=self._ttl)
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc

    async def lookup(self, tenant_id: str, interaction_id: str) -> Party | None:
        try:
            raw = await self._redis.get(self._keys.interaction_party(tenant_id, interaction_id))
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc
        if raw is None:
            return None
        token, kind, value, internal, version = json.loads(raw)
        return Party(tenant_id, token, kind, value, bool(internal), version)

    async def park(self, tenant_id: str, interaction_id: str, raw: bytes) -> None:
        key = self._keys.interaction_parked(tenant_id, interaction_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(key, raw)
                pipe.expire(key, self._ttl)
                await pipe.execute()
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc

    async def drain(self, tenant_id: str, interaction_id: str) -> list[bytes]:
        key = self._keys.interaction_parked(tenant_id, interaction_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.lrange(key, 0, -1)
                pipe.delete(key)
                items, _ = await pipe.execute()
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc
        return list(items)
