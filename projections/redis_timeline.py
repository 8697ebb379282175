"""RedisTimelineStore: per-party timelines in Redis (one compare-and-set script per event)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from projections import entry_codec
from projections.errors import CorruptEntry, StoreUnavailable
from projections.keys import Keys, entry_field, interaction_of_field
from projections.timeline import InteractionEntry, Retention, entry_of, merge
from schemas.records import CHANNELS, InteractionEvent

# One hash per party holds every entry (field: the interaction id's bytes, keys.entry_field);
# a sorted set per channel indexes it by start. A hash field costs far less than a key of its
# own (no key name, object or expiry entry: docs/storage.md has the figures). The write runs
# server-side as a compare-and-set: the script checks the field still holds what the merge
# started from (else the caller re-reads and re-merges), then writes the entry, indexes it
# and trims the window (every channel) and the cap (its channel) in one atomic step, so a
# crash between steps cannot leave an index member without its entry. An entry trimmed by
# the window or the cap is replaced by a tombstone ("~<started ms>") that absorbs late
# events of that interaction, so a late leg cannot resurrect a partial entry; the tombstone
# zset says when each may go (end of the entry's window + grace) and every write purges the
# due ones. All keys of the party are pushed to expire together (last write + window +
# grace), so no channel's index can expire before the entries it points to. Every key
# shares the party's hash tag (one Redis Cluster slot). An erasure marker under the same
# tag (set by `c360 forget`) stops in-flight events of an erased party from re-creating it.
_WRITE = """
local now, window, grace = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local cur = redis.call('HGET', KEYS[1], ARGV[3])
if (ARGV[9] == '' and cur) or (ARGV[9] ~= '' and cur ~= string.sub(ARGV[9], 2)) then
  return -2
end
local function drop_fields(fields)
  for i = 1, #fields, 500 do
    redis.call('HDEL', KEYS[1], unpack(fields, i, math.min(i + 499, #fields)))
  end
end
local function bury(members)
  for i = 1, #members, 2 do
    local started = tonumber(members[i + 1])
    redis.call('HSET', KEYS[1], members[i], '~' .. members[i + 1])
    redis.call('ZADD', KEYS[4], math.max(started + window, now) + grace, members[i])
  end
end
local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. now)
if #due > 0 then
  drop_fields(due)
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. now)
end
if ARGV[10] == 'gone' then
  redis.call('HSET', KEYS[1], ARGV[3], '~' .. ARGV[2])
  redis.call('ZADD', KEYS[4], now + grace, ARGV[3])
else
  redis.call('HSET', KEYS[1], ARGV[3], ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  if ARGV[10] == 'moved' then
    for k = 5, #KEYS do
      if KEYS[k] ~= KEYS[2] then redis.call('ZREM', KEYS[k], ARGV[3]) end
    end
  end
end
for k = 5, #KEYS do
  local old = redis.call('ZRANGEBYSCORE', KEYS[k], '-inf', '(' .. ARGV[4], 'WITHSCORES')
  if #old > 0 then
    bury(old)
    redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', '(' .. ARGV[4])
  end
end
local n = redis.call('ZCARD', KEYS[2])
local cap = tonumber(ARGV[5])
if n > cap then
  bury(redis.call('ZRANGE', KEYS[2], 0, n - cap - 1, 'WITHSCORES'))
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - cap - 1)
end
local until_ms = now + window + grace
local clock = redis.call('TIME')  -- PTTL counts from the server's clock, not from `now`
local server_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
for k = 1, #KEYS do
  if k ~= 3 then
    local pttl = redis.call('PTTL', KEYS[k])
    if pttl == -1 or (pttl >= 0 and server_ms + pttl < until_ms) then
      redis.call('PEXPIREAT', KEYS[k], until_ms)
    end
  end
end
if ARGV[10] ~= 'gone' and redis.call('ZSCORE', KEYS[2], ARGV[3]) then return 1 end
return 0
"""

_INFRA_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
_CHANGED = -2  # the compare-and-set lost: re-read and re-merge


class RedisTimelineStore:
    """TimelineStore on Redis; see projections.ports.TimelineStore for the contract."""

    def __init__(self, client: aioredis.Redis, keys: Keys, retention: Retention) -> None:
        self._redis = client
        self._keys = keys
        self._retention = retention
        self._write = client.register_script(_WRITE)

    async def apply(
        self, tenant_id: str, token: str, event: InteractionEvent, now_ms: int
    ) -> InteractionEntry | None:
        return await self.merge_entry(tenant_id, token, entry_of(event), now_ms)

    async def merge_entry(
        self, tenant_id: str, token: str, partial: InteractionEntry, now_ms: int
    ) -> InteractionEntry | None:
        """Join a partial entry (one event's, or a batch's pre-merged) into the stored one."""
        try:
            return await self._merge(tenant_id, token, partial, now_ms)
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc

    async def _merge(
        self, tenant_id: str, token: str, partial: InteractionEntry, now_ms: int
    ) -> InteractionEntry | None:
        window = self._retention.window_ms
        entries = self._keys.timeline_entries(tenant_id, token)
        field = entry_field(partial.interaction_id)
        while True:
            raw = cast("bytes | None", await self._redis.hget(entries, field))
            if _is_tombstone(raw):
                return None
            current = _parse(raw)
            merged = merge(current, partial)
            if merged == current:
                return merged  # a duplicate changes nothing
            if current is None and merged.started_ms < now_ms - window:
                mode = "gone"  # already outside the window: remember only that it is gone
            elif current is not None and current.channel != merged.channel:
                mode = "moved"
            else:
                mode = "write"
            channels = dict.fromkeys((merged.channel, *CHANNELS))
            outcome = await self._write(
                keys=[
                    entries,
                    self._keys.timeline_index(tenant_id, token, merged.channel),
                    self._keys.erased(tenant_id, token),
                    self._keys.timeline_tombstones(tenant_id, token),
                    *(self._keys.timeline_index(tenant_id, token, c) for c in channels),
                ],
                args=[
                    entry_codec.dumps(merged),
                    merged.started_ms,
                    field,
                    now_ms - window,
                    self._retention.max_entries,
                    now_ms,
                    window,
                    self._retention.tombstone_grace_ms,
                    b"" if raw is None else b"=" + raw,  # what the merge started from
                    mode,
                ],
            )
            if outcome == _CHANGED:
                continue  # another writer changed the entry: re-read and re-merge
            # 0: gone, or trimmed by the window or the cap; -1: the party was erased.
            return merged if outcome == 1 else None

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
        upper: int | str = "+inf" if before_ms is None else f"({before_ms}"
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for channel in channels:
                    index = self._keys.timeline_index(tenant_id, token, channel)
                    pipe.zrevrangebyscore(index, upper, floor, start=0, num=limit, withscores=True)
                ranked = await pipe.execute()
            # Newest first, ties by interaction id (as the cap and the reference fold rank).
            hits = sorted(
                (
                    (int(score), interaction_of_field(member), member)
                    for rows in ranked
                    for member, score in rows
                ),
                reverse=True,
            )[:limit]
            if not hits:
                return []
            raws = await self._redis.hmget(
                self._keys.timeline_entries(tenant_id, token), [m for _, _, m in hits]
            )
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc
        entries = [_parse(raw) for raw in raws if raw is not None and not _is_tombstone(raw)]
        return [e for e in entries if e is not None and e.started_ms >= floor]

    async def get(self, tenant_id: str, token: str, interaction_id: str) -> InteractionEntry | None:
        try:
            raw = await self._redis.hget(
                self._keys.timeline_entries(tenant_id, token), entry_field(interaction_id)
            )
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc
        return None if _is_tombstone(raw) else _parse(raw)


def _is_tombstone(raw: bytes | str | None) -> bool:
    return raw is not None and raw[:1] in (b"~", "~")


def _parse(raw: bytes | str | None) -> InteractionEntry | None:
    if raw is None:
        return None
    try:
        return entry_codec.loads(raw.encode() if isinstance(raw, str) else raw)
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptEntry(f"stored entry does not parse: {exc}") from exc
