"""RedisApiKeys: API key records (hashed secrets) in Redis, one JSON string per key."""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from core.api_keys import ApiKey, from_json, to_json
from projections.keys import Keys
from projections.redis_profiles import redis_errors

# Revocation is read-modify-write of one record: WATCH would do, a script is one round trip.
_REVOKE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local rec = cjson.decode(raw)
if rec['revoked_ms'] == nil or rec['revoked_ms'] == cjson.null then
  rec['revoked_ms'] = tonumber(ARGV[1])
  raw = cjson.encode(rec)
  redis.call('SET', KEYS[1], raw)
end
return raw
"""


class RedisApiKeys:
    """ApiKeyStore on Redis (all keys share the `{keys}` slot, so listing is one call)."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._redis = client
        self._keys = keys
        self._revoke = client.register_script(_REVOKE)

    async def put(self, record: ApiKey) -> None:
        with redis_errors():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(self._keys.api_key(record.key_id), json.dumps(to_json(record)))
                pipe.sadd(self._keys.api_key_index(), record.key_id)
                await pipe.execute()

    async def get(self, key_id: str) -> ApiKey | None:
        with redis_errors():
            raw = await self._redis.get(self._keys.api_key(key_id))
        return None if raw is None else from_json(json.loads(raw))

    async def all(self) -> list[ApiKey]:
        with redis_errors():
            ids = sorted(
                m.decode() if isinstance(m, bytes) else m
                for m in await self._redis.smembers(self._keys.api_key_index())
            )
            raws = await self._redis.mget([self._keys.api_key(i) for i in ids]) if ids else []
        return [from_json(json.loads(raw)) for raw in raws if raw is not None]

    async def revoke(self, key_id: str, now_ms: int) -> ApiKey | None:
        with redis_errors():
            raw = await self._revoke(keys=[self._keys.api_key(key_id)], args=[now_ms])
        return None if raw is None else from_json(json.loads(raw))
