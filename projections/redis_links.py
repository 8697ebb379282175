"""RedisInteractionLinks and RedisPopCache: interaction link actions, profile marks, pop cache."""

from __future__ import annotations

from collections.abc import Mapping

import redis.asyncio as aioredis

from core.links import LinkAction, LinkMark
from projections.keys import Keys
from projections.redis_profiles import redis_errors

_TOKEN_FIELD = ""  # the interaction's party token, beside the action fields (event ids)


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisInteractionLinks:
    """InteractionLinks on Redis: one hash per interaction, one hash per profile.

    Actions expire with the interaction (`ttl_seconds`, default 400 days: the timeline
    window plus slack); profile marks live as long as the profile's timeline needs them.
    """

    def __init__(self, client: aioredis.Redis, keys: Keys, ttl_seconds: int = 400 * 86_400) -> None:
        self._redis = client
        self._keys = keys
        self._ttl = ttl_seconds

    async def record(
        self, tenant_id: str, interaction_id: str, token: str | None, action: LinkAction
    ) -> list[LinkAction]:
        key = self._keys.interaction_link(tenant_id, interaction_id)
        with redis_errors():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, action.event_id, action.to_json())
                if token:
                    pipe.hset(key, _TOKEN_FIELD, token)
                pipe.expire(key, self._ttl)
                pipe.hgetall(key)
                *_, flat = await pipe.execute()
        return _actions(flat)

    async def actions(self, tenant_id: str, interaction_id: str) -> list[LinkAction]:
        with redis_errors():
            flat = await self._redis.hgetall(self._keys.interaction_link(tenant_id, interaction_id))
        return _actions(flat)

    async def token_of(self, tenant_id: str, interaction_id: str) -> str | None:
        key = self._keys.interaction_link(tenant_id, interaction_id)
        with redis_errors():
            raw = await self._redis.hget(key, _TOKEN_FIELD)
        return None if raw is None else _text(raw)

    async def mark(self, tenant_id: str, profile_id: str, mark: LinkMark) -> None:
        key = self._keys.profile_links(tenant_id, profile_id)
        with redis_errors():
            await self._redis.hset(key, mark.interaction_id, mark.to_json())

    async def marks(self, tenant_id: str, profile_id: str) -> list[LinkMark]:
        with redis_errors():
            flat = await self._redis.hgetall(self._keys.profile_links(tenant_id, profile_id))
        found = [LinkMark.from_json(_text(k), v) for k, v in flat.items()]
        return sorted(found, key=lambda m: m.interaction_id)


def _actions(flat: Mapping[bytes | str, bytes | str]) -> list[LinkAction]:
    found = [
        LinkAction.from_json(_text(k), v) for k, v in flat.items() if _text(k) != _TOKEN_FIELD
    ]
    return sorted(found, key=lambda a: a.event_id)


class RedisPopCache:
    """PopCache on Redis: one string per interaction with a TTL."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._redis = client
        self._keys = keys

    async def put(self, tenant_id: str, interaction_id: str, doc: str, ttl_seconds: int) -> None:
        key = self._keys.screen_pop_cache(tenant_id, interaction_id)
        with redis_errors():
            await self._redis.set(key, doc, ex=ttl_seconds)

    async def get(self, tenant_id: str, interaction_id: str) -> str | None:
        with redis_errors():
            raw = await self._redis.get(self._keys.screen_pop_cache(tenant_id, interaction_id))
        return None if raw is None else _text(raw)
