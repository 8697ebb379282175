"""RedisTimelineStore: per-party timelines in Redis (WATCH + one MULTI'd script per event)."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from projections import entry_codec
from projections.errors import CorruptEntry, StoreUnavailable
from projections.keys import Keys
from projections.timeline import InteractionEntry, Retention, entry_of, merge
from schemas.records import InteractionEvent

# The write runs server-side so the entry, the index and the window/cap trimming happen
# atomically: a crash between steps cannot leave an index member without its entry. An
# entry trimmed by the window or the cap is replaced by a tombstone ("~<started ms>") that
# absorbs late events of that interaction, so a late leg cannot resurrect a partial entry;
# tombstones outlive the entry's window by a grace period. Both keys share the party's hash
# tag; trimmed entry keys are derived from the same tagged prefix (same slot). An erasure
# marker under the same tag (set by `c360 forget`) stops in-flight events of an erased
# party from re-creating its timeline.
_WRITE = """
local function bury(members, now, window, grace)
  for i = 1, #members, 2 do
    local started = tonumber(members[i + 1])
    local until_ms = math.max(started + window, now) + grace
    redis.call('SET', ARGV[6] .. members[i], '~' .. members[i + 1], 'PXAT', until_ms)
  end
end
local now, window, grace = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[7])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4], 'WITHSCORES')
bury(old, now, window, grace)
if #old > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4]) end
local n = redis.call('ZCARD', KEYS[2])
local cap = tonumber(ARGV[5])
if n > cap then
  bury(redis.call('ZRANGE', KEYS[2], 0, n - cap - 1, 'WITHSCORES'), now, window, grace)
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - cap - 1)
end
local pttl = redis.call('PTTL', KEYS[2])
if pttl < 0 or now + pttl < tonumber(ARGV[8]) then
  redis.call('PEXPIREAT', KEYS[2], ARGV[8])
end
if redis.call('ZSCORE', KEYS[2], ARGV[3]) then return 1 end
return 0
"""

_INFRA_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisTimelineStore:
    """TimelineStore on Redis; see projections.ports.TimelineStore for the contract."""

    def __init__(self, client: aioredis.Redis, keys: Keys, retention: Retention) -> None:
        self._redis = client
        self._keys = keys
        self._retention = retention

    async def apply(
        self, tenant_id: str, token: str, event: InteractionEvent, now_ms: int
    ) -> InteractionEntry | None:
        return await self.merge_entry(tenant_id, token, entry_of(event), now_ms)

    async def merge_entry(
        self, tenant_id: str, token: str, partial: InteractionEntry, now_ms: int
    ) -> InteractionEntry | None:
        """Join a partial entry (one event's, or a batch's pre-merged) into the stored one."""
        key = self._keys.entry(tenant_id, token, partial.interaction_id)
        try:
            return await self._merge(key, tenant_id, token, partial, now_ms)
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc

    async def _merge(
        self, key: str, tenant_id: str, token: str, partial: InteractionEntry, now_ms: int
    ) -> InteractionEntry | None:
        window = self._retention.window_ms
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if _is_tombstone(raw):
                        await pipe.reset()  # type: ignore[no-untyped-call]
                        return None
                    current = _parse(raw)
                    merged = merge(current, partial)
                    if merged == current:
                        await pipe.reset()  # type: ignore[no-untyped-call]
                        return merged  # a duplicate changes nothing
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if current is None and merged.started_ms < now_ms - window:
                        # Already outside the window: remember only that it is gone.
                        grace_until = now_ms + self._retention.tombstone_grace_ms
                        pipe.set(key, f"~{merged.started_ms}", pxat=grace_until)
                        await pipe.execute()
                        return None
                    pipe.eval(
                        _WRITE,
                        3,
                        key,
                        self._keys.timeline_index(tenant_id, token, merged.channel),
                        self._keys.erased(tenant_id, token),
                        entry_codec.dumps(merged),
                        merged.started_ms,
                        merged.interaction_id,
                        now_ms - window,
                        self._retention.max_entries,
                        self._keys.entry_prefix(tenant_id, token),
                        merged.started_ms + window,
                        now_ms + window,
                        now_ms,
                        window,
                        self._retention.tombstone_grace_ms,
                    )
                    alive = (await pipe.execute())[-1]
                    # 0: trimmed by the window or the cap; -1: the party was erased.
                    return merged if alive == 1 else None
                except WatchError:
                    continue  # another writer touched the entry: re-read and re-merge

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
            hits = sorted(
                ((int(score), member.decode()) for rows in ranked for member, score in rows),
                reverse=True,
            )[:limit]
            if not hits:
                return []
            raws = await self._redis.mget(
                [self._keys.entry(tenant_id, token, iid) for _, iid in hits]
            )
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc
        entries = [_parse(raw) for raw in raws if raw is not None and not _is_tombstone(raw)]
        return [e for e in entries if e is not None and e.started_ms >= floor]

    async def get(self, tenant_id: str, token: str, interaction_id: str) -> InteractionEntry | None:
        try:
            raw = await self._redis.get(self._keys.entry(tenant_id, token, interaction_id))
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
