"""Timeline reads on Redis through the EntryCache: each distinct stored entry decoded once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.errors import StoreUnavailable
from core.timeline import InteractionEntry, Retention
from projections.entry_cache import EntryCache
from projections.keys import Keys, entry_field, interaction_of_field

_INFRA_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)

# The store's read (ZREVRANGEBYSCORE per channel index, then HMGET of the newest) as one
# script: one command and one round trip instead of a pipeline of one command per channel
# and a second trip for the HMGET. Each client command and each socket write costs the web
# process more than the read costs Redis. KEYS: the entry hash, then the channel indexes;
# ARGV: upper bound, floor, limit. Returns member, score, stored value triples, newest
# first by score; members tied with the last one kept are all returned, so the caller
# breaks ties (by interaction id) and cuts exactly as RedisTimelineStore.read does.
_READ = """
local limit = tonumber(ARGV[3])
local hits = {}
for k = 2, #KEYS do
  local rows = redis.call('ZREVRANGEBYSCORE', KEYS[k], ARGV[1], ARGV[2],
                          'WITHSCORES', 'LIMIT', 0, limit)
  for i = 1, #rows, 2 do hits[#hits + 1] = {tonumber(rows[i + 1]), rows[i], rows[i + 1]} end
end
if #hits == 0 then return {} end
table.sort(hits, function(a, b) return a[1] > b[1] end)
local n = math.min(limit, #hits)
while n < #hits and hits[n + 1][1] == hits[n][1] do n = n + 1 end
local members = {}
for i = 1, n do members[i] = hits[i][2] end
local raws = redis.call('HMGET', KEYS[1], unpack(members))
local out = {}
for i = 1, n do
  out[#out + 1] = members[i]
  out[#out + 1] = hits[i][3]
  out[#out + 1] = raws[i]
end
return out
"""


class CachedRedisTimeline:
    """The reads of a TimelineStore (projections.reads.TimelineReads) for the read API:
    `read`/`get` return what RedisTimelineStore's do (`read` runs the same ZREVRANGEBYSCORE
    + HMGET, server-side in one script) but turn the stored bytes into entries through
    `cache`.

    Kept out of projections/redis_timeline.py so the write path can change on its own; the
    key layout and the stored format are shared (projections/keys.py, entry_codec.py)."""

    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        retention: Retention,
        cache: EntryCache,
    ) -> None:
        self._redis = client
        self._keys = keys
        self._retention = retention
        self.cache = cache
        self._read = client.register_script(_READ)

    async def read(
        self,
        tenant_id: str,
        token: str,
        channels: Sequence[str],
        now_ms: int,
        limit: int,
        before_ms: int | None = None,
    ) -> list[InteractionEntry]:
        floor = now_ms - self._retention.window_ms
        upper = "+inf" if before_ms is None else f"({before_ms}"
        indexes = [self._keys.timeline_index(tenant_id, token, c) for c in channels]
        try:
            flat = await self._read(
                keys=[self._keys.timeline_entries(tenant_id, token), *indexes],
                args=[upper, floor, limit],
            )
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc
        # The script ranks by score; ties are ranked by interaction id (as the cap and the
        # reference fold rank them) before the cut, only when there are any.
        hits = [(int(float(flat[i + 1])), flat[i], flat[i + 2]) for i in range(0, len(flat), 3)]
        if len({score for score, _, _ in hits}) < len(hits):
            hits.sort(key=lambda h: (h[0], interaction_of_field(h[1])), reverse=True)
        del hits[limit:]
        entry = self.cache.entry
        entries = [entry(raw) for _, _, raw in hits if raw is not None and raw[:1] != b"~"]
        return [e for e in entries if e.started_ms >= floor]

    async def get(self, tenant_id: str, token: str, interaction_id: str) -> InteractionEntry | None:
        try:
            raw = cast(
                "bytes | None",
                await self._redis.hget(
                    self._keys.timeline_entries(tenant_id, token), entry_field(interaction_id)
                ),
            )
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc
        if raw is None or raw[:1] == b"~":
            return None
        return self.cache.entry(raw)
