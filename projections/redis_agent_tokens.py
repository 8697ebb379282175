"""RedisAgentTokens: per-agent CRM OAuth token sets, sealed, one hash per (tenant, agent)."""

from __future__ import annotations

import json

import redis.asyncio as aioredis
import structlog

from core.crm.agent_auth import (
    AgentTokens,
    PendingConnect,
    SealedUnreadable,
    Sealer,
    agent_token,
)
from projections.keys import Keys
from projections.redis_profiles import redis_errors

log = structlog.get_logger("c360.crm.tokens")


class RedisAgentTokens:
    """AgentTokenStore on Redis (see core.crm.agent_auth for the contract). Values are
    Fernet-sealed JSON; keys carry a keyed hash of the agent id, never the id."""

    def __init__(self, client: aioredis.Redis, keys: Keys, sealer: Sealer, id_key: bytes) -> None:
        self._redis = client
        self._keys = keys
        self._sealer = sealer
        self._id_key = id_key

    def _key(self, tenant: str, agent: str) -> str:
        return self._keys.agent_crm_tokens(tenant, agent_token(self._id_key, tenant, agent))

    async def get(self, tenant: str, agent: str, crm: str) -> AgentTokens | None:
        key = self._key(tenant, agent)
        with redis_errors():
            raw = await self._redis.hget(key, crm)
        if raw is None:
            return None
        try:
            return AgentTokens.from_json(json.loads(self._sealer.open(_bytes(raw))))
        except (SealedUnreadable, ValueError, KeyError, TypeError):
            log.warning("agent_crm_tokens_unreadable_dropped", crm=crm)
            with redis_errors():
                await self._redis.hdel(key, crm)
            return None

    async def put(self, tenant: str, agent: str, crm: str, tokens: AgentTokens) -> None:
        sealed = self._sealer.seal(json.dumps(tokens.to_json()).encode())
        with redis_errors():
            await self._redis.hset(self._key(tenant, agent), crm, sealed)

    async def delete(self, tenant: str, agent: str, crm: str) -> bool:
        with redis_errors():
            return bool(await self._redis.hdel(self._key(tenant, agent), crm))

    async def connected(self, tenant: str, agent: str) -> frozenset[str]:
        with redis_errors():
            names = await self._redis.hkeys(self._key(tenant, agent))
        return frozenset(n.decode() if isinstance(n, bytes) else n for n in names)

    async def begin(self, nonce: str, pending: PendingConnect, ttl_seconds: int) -> None:
        sealed = self._sealer.seal(json.dumps(pending.to_json()).encode())
        with redis_errors():
            await self._redis.set(self._keys.crm_connect_attempt(nonce), sealed, ex=ttl_seconds)

    async def take(self, nonce: str) -> PendingConnect | None:
        with redis_errors():
            raw = await self._redis.getdel(self._keys.crm_connect_attempt(nonce))
        if raw is None:
            return None
        try:
            return PendingConnect.from_json(json.loads(self._sealer.open(_bytes(raw))))
        except (SealedUnreadable, ValueError, KeyError, TypeError):
            return None


def _bytes(raw: bytes | str) -> bytes:
    return raw.encode() if isinstance(raw, str) else raw
