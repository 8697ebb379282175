"""RedisRateLimiter: one GCRA budget per credential shared by every web process (one script)."""

from __future__ import annotations

import redis.asyncio as aioredis

from core.rate_limits import RateLimit
from projections.keys import Keys
from projections.redis_profiles import redis_errors

# core.rate_limits.gcra in Lua, on Redis's clock so every web process agrees on "now".
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then return tostring(allow_at - now) end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(new_tat - now) + 1000)
return '0'
"""


class RedisRateLimiter:
    """RateLimiter on Redis; see core.rate_limits.RateLimiter."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._keys = keys
        self._script = client.register_script(_GCRA)

    async def acquire(self, credential: str, limit: RateLimit) -> float:
        with redis_errors():
            wait_ms = await self._script(
                keys=[self._keys.rate_bucket(credential)],
                args=[repr(limit.interval_ms), limit.burst],
            )
        return float(wait_ms) / 1000.0
