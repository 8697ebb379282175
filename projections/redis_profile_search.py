"""RedisProfileSearchIndex: hashed search terms -> profile ids (one set per term per tenant)."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from core.profile_search import merge_ids
from core.profiles import Stamp, stamp_key
from projections.keys import Keys
from projections.redis_profiles import redis_errors

# One script per profile replaces its terms: the profile's hash lists its terms (one field
# each; field "" holds the indexed stamp), so the terms it no longer has are removed from
# their sets. An older stamp is refused (a late event cannot roll the index back). The
# term sets share the profile hash's `{s:<tenant>}` slot; their names are built in the
# script from the prefix in ARGV[2] (only the old terms are known there).
_REPLACE = """
local cur = redis.call('HGET', KEYS[1], '')
if cur and cur > ARGV[1] then return 0 end
local new = {}
for i = 4, #ARGV do new[ARGV[i]] = true end
for _, t in ipairs(redis.call('HKEYS', KEYS[1])) do
  if t ~= '' and not new[t] then
    redis.call('SREM', ARGV[2] .. t, ARGV[3])
    redis.call('HDEL', KEYS[1], t)
  end
end
for i = 4, #ARGV do
  redis.call('SADD', ARGV[2] .. ARGV[i], ARGV[3])
  redis.call('HSET', KEYS[1], ARGV[i], '1')
end
redis.call('HSET', KEYS[1], '', ARGV[1])
return 1
"""
# Profiles having every term of one group: the first `limit` ids in lexical order (the
# intersection stays on the server; only `limit` ids travel).
_MATCH = """
local ids = redis.call('SINTER', unpack(KEYS))
table.sort(ids)
local out = {}
for i = 1, math.min(#ids, tonumber(ARGV[1])) do out[i] = ids[i] end
return out
"""


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisProfileSearchIndex:
    """ProfileSearchIndex on Redis; see core.ports.ProfileSearchIndex for the contract."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._redis = client
        self._keys = keys
        self._replace = client.register_script(_REPLACE)
        self._match = client.register_script(_MATCH)

    async def replace(
        self, tenant_id: str, profile_id: str, stamp: Stamp, terms: frozenset[str]
    ) -> bool:
        prefix = self._keys.search_term(tenant_id, "")
        with redis_errors():
            applied = await self._replace(
                keys=[self._keys.search_profile(tenant_id, profile_id)],
                args=[stamp_key(stamp), prefix, profile_id, *sorted(terms)],
            )
        return bool(applied)

    async def search(
        self, tenant_id: str, groups: Sequence[Sequence[str]], limit: int
    ) -> list[str]:
        wanted = [g for g in groups if g]
        if not wanted or limit <= 0:
            return []
        with redis_errors():
            async with self._redis.pipeline(transaction=False) as pipe:
                for group in wanted:
                    keys = [self._keys.search_term(tenant_id, t) for t in group]
                    await self._match(keys=keys, args=[limit], client=pipe)
                found = await pipe.execute()
        return merge_ids(([_text(i) for i in ids] for ids in found), limit)
