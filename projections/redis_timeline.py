"""RedisTimelineStore: per-party timelines in Redis (one compare-and-set script per party)."""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from collections.abc import Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.errors import CorruptEntry, StoreUnavailable
from core.timeline import InteractionEntry, Retention, entry_of, merge
from projections import entry_codec
from projections.keys import Keys, entry_field, interaction_of_field
from schemas.records import CHANNELS, InteractionEvent

# One hash per party holds every entry (field: the interaction id's bytes, keys.entry_field);
# a sorted set per channel indexes it by start. A batch costs one script call per party: it
# checks every field still holds what this process last saw (compare-and-set; a loser gets
# the current bytes back and is re-merged and retried, without another read), then writes
# all the party's entries with one HSET and one ZADD. What is not needed on every write is
# done when due, as the party's meta field (META_FIELD, in the same hash, read by the same
# HMGET) says: the window trim when the oldest indexed entry has been out of the window for
# the housekeeping interval (a day), the tombstone purge likewise, and the expiry refresh
# when the shared deadline would fall short of last write + window + grace (it is then set
# an interval further). Per-channel counts in the meta make the cap check free until a
# channel is over its cap. Trimmed and capped entries become tombstones ("~<started ms>")
# that absorb late events, so a late leg cannot resurrect a partial entry. All keys share
# the party's hash tag (one Redis Cluster slot) and one expiry deadline. An erasure marker
# under the same tag (set by `c360 forget`) stops in-flight events of an erased party:
# checked when the meta is missing (new or erased party: forget deletes the hash after
# setting the marker) and before the script creates any key (so nothing forget's scan
# missed can outlive it).
META_FIELD = b"#meta"  # never an entry field: those are 16 bytes or start with 0xFF

_WRITE = """
-- KEYS: entries, erasure marker, tombstones, the index of each channel (CHANNELS order)
-- ARGV: 'now window grace cap every', then per item: field, expected ('' = absent,
-- '=' .. bytes), new bytes, 'op started channel previous-channel' (op: w write, i write and
-- index, g tombstone; channels numbered from 1, 0 = none)
local META, head = '@META@', {}
for x in string.gmatch(ARGV[1], '[^ ]+') do head[#head + 1] = tonumber(x) end
local now, window, grace, cap, every, tracked = unpack(head)
local floor, BIG, STEP = now - window, 9e15, 1000
local nch, n = #KEYS - 3, (#ARGV - 1) / 4  -- channels past `tracked`: outside CHANNELS
local function int(x) return string.format('%d', x) end
local function chunks(cmd, key, args, step)
  local total = 0
  for i = 1, #args, step do
    total = total + redis.call(cmd, key, unpack(args, i, math.min(i + step - 1, #args)))
  end
  return total
end
-- 1. Read every field of the batch and the meta in one HMGET.
local fields = {META}
for i = 0, n - 1 do fields[#fields + 1] = ARGV[2 + i * 4] end
local cur = {}
for i = 1, #fields, STEP do
  local part = redis.call('HMGET', KEYS[1], unpack(fields, i, math.min(i + STEP - 1, #fields)))
  for j = 1, #part do cur[#cur + 1] = part[j] end
end
local meta, checked = nil, false
if cur[1] then
  local v = {}
  for x in string.gmatch(cur[1], '[^ ]+') do v[#v + 1] = x == '-' and BIG or tonumber(x) end
  if #v == 4 + tracked then
    local function ms(x) return x < BIG and x * 1000 or BIG end
    meta = {D = v[1] * 1000, oldest = ms(v[2]), purge = ms(v[3]), nt = v[4], counts = {}}
    for c = 1, tracked do meta.counts[c] = v[4 + c] end
    for c = tracked + 1, nch do meta.counts[c] = redis.call('ZCARD', KEYS[3 + c]) end
  end
end
if not meta then
  if redis.call('EXISTS', KEYS[2]) == 1 then return {'E'} end
  checked = true
  meta = {D = 0, oldest = BIG, purge = BIG, nt = 0, counts = {}}
  local others = {KEYS[1]}
  for k = 3, #KEYS do others[#others + 1] = KEYS[k] end
  if redis.call('EXISTS', unpack(others)) == 0 then
    for c = 1, nch do meta.counts[c] = 0 end
  else  -- written before the meta existed (or half expired): count, and make all due
    for c = 1, nch do meta.counts[c] = redis.call('ZCARD', KEYS[3 + c]) end
    meta.nt, meta.oldest, meta.purge = redis.call('ZCARD', KEYS[3]), 0, 0
  end
end
local function sec(x) return x < BIG and int(math.floor(x / 1000)) or '-' end
local function encode_meta()  -- times in seconds: rounded down, so never late
  local m = {int(meta.D / 1000), sec(meta.oldest), sec(meta.purge), int(meta.nt)}
  for c = 1, tracked do m[#m + 1] = int(meta.counts[c]) end
  return table.concat(m, ' ')
end
-- 2. Compare-and-set: the winners' writes are collected, the losers get the current bytes.
local out, hash, horder, adds, rems, tombs, buried = {}, {}, {}, {}, {}, {}, {}
local function hput(f, v)
  if hash[f] == nil then horder[#horder + 1] = f end
  hash[f] = v
end
local function push(t, c, ...)
  if not t[c] then t[c] = {} end
  for _, x in ipairs({...}) do t[c][#t[c] + 1] = x end
end
local function bury(pairs_)
  for j = 1, #pairs_, 2 do
    local f, started = pairs_[j], tonumber(pairs_[j + 1])
    hput(f, '~' .. int(started))
    tombs[#tombs + 1] = math.max(started + window, now) + grace
    tombs[#tombs + 1] = f
    buried[#buried + 1] = f
    buried[f] = true
  end
end
local winners = 0
for i = 1, n do
  local b = 1 + (i - 1) * 4
  local f, exp, c = ARGV[b + 1], ARGV[b + 2], cur[i + 1]
  if (exp == '' and c) or (exp ~= '' and c ~= string.sub(exp, 2)) then
    out[i] = c and ('M' .. c) or 'M'
  else
    winners = winners + 1
    local op, score, chan, prev = string.match(ARGV[b + 4], '^(%a) (%-?%d+) (%d+) (%d+)$')
    chan, prev = tonumber(chan), tonumber(prev)
    if op == 'g' then
      bury({f, score})
      if prev > 0 then push(rems, prev, f) end
      out[i] = 'G'
    else
      hput(f, ARGV[b + 3])
      if op == 'i' then
        push(adds, chan, score, f)
        if prev > 0 and prev ~= chan then push(rems, prev, f) end
      end
      out[i] = 'W'
    end
  end
end
if winners == 0 then return out end
local trim_due = meta.oldest < floor - every
local purge_due = meta.nt > 0 and meta.purge < now - every
local expiry_due = meta.D < now + window + grace
if not checked then  -- about to create a key: forget's scan must not have missed it
  local creates = meta.nt == 0 and (#tombs > 0 or trim_due)
  for c = 1, nch do
    if adds[c] then
      if meta.counts[c] == 0 then creates = true end
      if meta.nt == 0 and meta.counts[c] + #adds[c] / 2 > cap then creates = true end
    end
  end
  if creates and redis.call('EXISTS', KEYS[2]) == 1 then return {'E'} end
end
-- 3. Index: moves and removals, additions, then the cap where a channel went over it.
local created = {}
for c = 1, nch do
  if rems[c] then meta.counts[c] = meta.counts[c] - chunks('ZREM', KEYS[3 + c], rems[c], STEP) end
end
for c = 1, nch do
  if adds[c] then
    if meta.counts[c] == 0 then created[#created + 1] = KEYS[3 + c] end  -- ZADD creates it
    meta.counts[c] = meta.counts[c] + chunks('ZADD', KEYS[3 + c], adds[c], 2 * STEP)
    for j = 1, #adds[c], 2 do meta.oldest = math.min(meta.oldest, tonumber(adds[c][j])) end
    if meta.counts[c] > cap then
      local k = meta.counts[c] - cap
      bury(redis.call('ZRANGE', KEYS[3 + c], 0, k - 1, 'WITHSCORES'))
      redis.call('ZREMRANGEBYRANK', KEYS[3 + c], 0, k - 1)
      meta.counts[c] = cap
    end
  end
end
-- 4. Housekeeping, each part only when due.
if trim_due then
  local oldest = BIG
  for c = 1, nch do
    if meta.counts[c] > 0 then
      local all, old, gone = redis.call('ZRANGE', KEYS[3 + c], 0, -1, 'WITHSCORES'), {}, {}
      for j = 1, #all, 2 do
        local s = tonumber(all[j + 1])
        if s < floor then
          old[#old + 1] = all[j]
          old[#old + 1] = all[j + 1]
          gone[#gone + 1] = all[j]
        else
          oldest = math.min(oldest, s)
        end
      end
      if #gone > 0 then
        chunks('ZREM', KEYS[3 + c], gone, STEP)
        bury(old)
      end
      meta.counts[c] = #all / 2 - #gone
    end
  end
  meta.oldest = oldest
end
if purge_due then
  local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. int(now))
  if #due > 0 then
    chunks('HDEL', KEYS[1], due, STEP)
    meta.nt = meta.nt - redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. int(now))
  end
  meta.purge = BIG
  if meta.nt > 0 then
    meta.purge = tonumber(redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')[2])
  end
end
if #tombs > 0 then
  if meta.nt == 0 then created[#created + 1] = KEYS[3] end
  meta.nt = meta.nt + chunks('ZADD', KEYS[3], tombs, 2 * STEP)
  for j = 1, #tombs, 2 do meta.purge = math.min(meta.purge, tombs[j]) end
end
-- 5. One HSET: entries, tombstones and (when it changed) the meta.
if expiry_due then meta.D = math.ceil((now + window + grace + every) / 1000) * 1000 end
local encoded = encode_meta()
if encoded ~= cur[1] then hput(META, encoded) end
local flat = {}
for _, f in ipairs(horder) do flat[#flat + 1] = f; flat[#flat + 1] = hash[f] end
chunks('HSET', KEYS[1], flat, 2 * STEP)
-- 6. Expiry: every key of the party shares one deadline.
if expiry_due then
  redis.call('PEXPIREAT', KEYS[1], meta.D)
  if meta.nt > 0 then redis.call('PEXPIREAT', KEYS[3], meta.D) end
  for c = 1, nch do
    if meta.counts[c] > 0 then redis.call('PEXPIREAT', KEYS[3 + c], meta.D) end
  end
else
  for _, k in ipairs(created) do redis.call('PEXPIREAT', k, meta.D) end
end
for i = 1, n do
  if out[i] == 'W' and buried[ARGV[2 + (i - 1) * 4]] then out[i] = 'B' end
end
for _, f in ipairs(buried) do
  out[#out + 1] = f
  out[#out + 1] = hash[f]
end
return out
"""
_WRITE = _WRITE.replace("@META@", META_FIELD.decode())
_WRITE_SHA = hashlib.sha1(_WRITE.encode()).hexdigest()  # noqa: S324 - Redis names scripts so

_INFRA_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
_DAY_MS = 86_400_000
_MAX_ITEMS_PER_CALL = 1000  # keeps the script's argument lists well inside Lua's stack
_CHANNEL_NO = {channel: n for n, channel in enumerate(CHANNELS, start=1)}
_UNKNOWN = object()

Party = tuple[str, str]


@dataclasses.dataclass(slots=True)
class _Item:
    """One interaction of one call: what to merge, what the store is believed to hold."""

    field: bytes
    partial: InteractionEntry
    known: bool = False  # `raw` is what this process last saw (else: believed absent)
    raw: bytes | None = None
    merged: InteractionEntry | None = None
    value: bytes = b""
    args: list[bytes | str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(slots=True)
class _Call:
    """One script call: one party's items."""

    party: Party
    entries: str
    keys: list[str]
    items: list[_Item]


class RedisTimelineStore:
    """TimelineStore on Redis; see core.ports.TimelineStore for the contract.

    `conflicts` counts compare-and-set losses where this process had an expectation (another
    writer changed the entry); `cold_misses` those where it had none and guessed "absent"
    wrongly (first write after a start or a cache eviction). Both cost one retry of the
    affected items, never a read. `cache_fields` bounds the in-process cache of the bytes
    last written or read per entry field; `housekeeping_ms` is how overdue trimming, purges
    and the expiry refresh may be (and how far ahead the deadline is set)."""

    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        retention: Retention,
        *,
        cache_fields: int = 100_000,
        housekeeping_ms: int = _DAY_MS,
    ) -> None:
        self._redis = client
        self._keys = keys
        self._retention = retention
        self._cache: dict[tuple[str, bytes], bytes] = {}
        self._cache_fields = max(1, cache_fields)
        self._every = housekeeping_ms
        self._loaded = False
        self.conflicts = 0
        self.cold_misses = 0

    async def apply(
        self, tenant_id: str, token: str, event: InteractionEvent, now_ms: int
    ) -> InteractionEntry | None:
        return await self.merge_entry(tenant_id, token, entry_of(event), now_ms)

    async def merge_entry(
        self, tenant_id: str, token: str, partial: InteractionEntry, now_ms: int
    ) -> InteractionEntry | None:
        """Join a partial entry (one event's, or a batch's pre-merged) into the stored one."""
        [result] = await self.merge_many([(tenant_id, token, partial)], now_ms)
        return result

    async def merge_many(
        self, items: Sequence[tuple[str, str, InteractionEntry]], now_ms: int
    ) -> list[InteractionEntry | None]:
        """`merge_entry` of many items: one pipelined round trip, one script call per party
        (another only for compare-and-set losers); results aligned with `items`."""
        try:
            return await self._merge_many(items, now_ms)
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc

    async def _merge_many(
        self, items: Sequence[tuple[str, str, InteractionEntry]], now_ms: int
    ) -> list[InteractionEntry | None]:
        groups: dict[Party, dict[bytes, InteractionEntry]] = {}
        order: list[tuple[Party, bytes]] = []
        for tenant_id, token, partial in items:
            group = groups.setdefault((tenant_id, token), {})
            key = entry_field(partial.interaction_id)
            prior = group.get(key)
            group[key] = partial if prior is None else merge(prior, partial)
            order.append(((tenant_id, token), key))
        results: dict[tuple[Party, bytes], InteractionEntry | None] = {}
        pending: dict[Party, list[_Item]] = {}
        for party, group in groups.items():
            entries = sys.intern(self._keys.timeline_entries(*party))
            pending[party] = [self._believed(entries, f, p) for f, p in group.items()]
        while pending:
            calls = [
                call
                for party, todo in pending.items()
                for call in self._plan(party, todo, now_ms, results)
            ]
            replies = await self._run(calls, now_ms)
            pending = {}
            for call, reply in zip(calls, replies, strict=True):
                losers = self._settle(call, reply, results)
                if losers:
                    pending.setdefault(call.party, []).extend(losers)
        return [results[key] for key in order]

    def _believed(self, entries: str, key: bytes, partial: InteractionEntry) -> _Item:
        raw = self._cache_get((entries, key))
        if raw is _UNKNOWN:
            return _Item(key, partial)
        return _Item(key, partial, known=True, raw=cast("bytes | None", raw))

    def _plan(
        self,
        party: Party,
        todo: list[_Item],
        now_ms: int,
        results: dict[tuple[Party, bytes], InteractionEntry | None],
    ) -> list[_Call]:
        """Merge each item with what the store is believed to hold; items that need no
        write are settled here, the rest become script calls (compare-and-set)."""
        floor = now_ms - self._retention.window_ms
        entries = sys.intern(self._keys.timeline_entries(*party))
        writes: list[_Item] = []
        numbers = dict(_CHANNEL_NO)  # a channel outside CHANNELS gets a number per call
        for item in todo:
            if _is_tombstone(item.raw):
                results[party, item.field] = None
                continue
            current = _parse(item.raw)
            merged = merge(current, item.partial)
            if item.known and merged == current:  # a duplicate changes nothing
                results[party, item.field] = merged if merged.started_ms >= floor else None
                continue
            item.merged = merged
            prev = 0 if current is None else numbers.setdefault(current.channel, len(numbers) + 1)
            expected = b"" if item.raw is None else b"=" + item.raw
            if merged.started_ms < floor:  # outside the window: remember only that it is gone
                item.args = [item.field, expected, b"", f"g {merged.started_ms} 0 {prev}"]
            else:
                item.value = entry_codec.dumps(merged)
                moves = current is None or (current.channel, current.started_ms) != (
                    merged.channel,
                    merged.started_ms,
                )
                op = "i" if moves else "w"
                chan = numbers.setdefault(merged.channel, len(numbers) + 1)
                where = f"{op} {merged.started_ms} {chan} {prev}"
                item.args = [item.field, expected, item.value, where]
            writes.append(item)
        if not writes:
            return []
        keys = [
            entries,
            self._keys.erased(*party),
            self._keys.timeline_tombstones(*party),
            *(self._keys.timeline_index(*party, c) for c in numbers),
        ]
        return [
            _Call(party, entries, keys, writes[i : i + _MAX_ITEMS_PER_CALL])
            for i in range(0, len(writes), _MAX_ITEMS_PER_CALL)
        ]

    async def _run(self, calls: list[_Call], now_ms: int) -> list[Any]:
        """All calls in one pipelined round trip (EVALSHA; the script is loaded on demand)."""
        if not calls:
            return []
        r = self._retention
        head = " ".join(
            map(str, (now_ms, r.window_ms, r.tombstone_grace_ms, r.max_entries, self._every))
        )
        head += f" {len(CHANNELS)}"
        argvs: list[list[bytes | str]] = [
            [a for item in call.items for a in item.args] for call in calls
        ]
        if not self._loaded:  # once per process, so a first batch is not refused
            await self._redis.script_load(_WRITE)
            self._loaded = True
        replies: list[Any] = [None] * len(calls)
        todo = list(range(len(calls)))
        for attempt in range(2):
            async with self._redis.pipeline(transaction=False) as pipe:
                for i in todo:
                    call = calls[i]
                    pipe.evalsha(_WRITE_SHA, len(call.keys), *call.keys, head, *argvs[i])
                got = await pipe.execute(raise_on_error=False)
            for i, reply in zip(todo, got, strict=True):
                replies[i] = reply
            todo = [i for i in todo if isinstance(replies[i], NoScriptError)]
            if not todo:
                break
            if attempt == 0:
                await self._redis.script_load(_WRITE)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    def _settle(
        self,
        call: _Call,
        reply: list[bytes],
        results: dict[tuple[Party, bytes], InteractionEntry | None],
    ) -> list[_Item]:
        """Record a call's outcome; returns the compare-and-set losers (to re-merge)."""
        if reply == [b"E"]:  # the party was erased: nothing was written
            for item in call.items:
                results[call.party, item.field] = None
            return []
        losers: list[_Item] = []
        for item, status in zip(call.items, reply, strict=False):
            kind = status[:1]
            key = (call.entries, item.field)
            if kind == b"W":
                results[call.party, item.field] = item.merged
                self._cache_put(key, item.value)
            elif kind == b"M":
                current = status[1:] or None
                if item.known:
                    self.conflicts += 1
                else:
                    self.cold_misses += 1
                self._cache_put(key, current)
                losers.append(_Item(item.field, item.partial, known=True, raw=current))
            else:  # G: written as a tombstone; B: written, then evicted by the cap
                results[call.party, item.field] = None
        tail = reply[len(call.items) :]
        for i in range(0, len(tail), 2):
            self._cache_put((call.entries, tail[i]), tail[i + 1])
        return losers

    def _cache_get(self, key: tuple[str, bytes]) -> bytes | object | None:
        raw = self._cache.pop(key, _UNKNOWN)
        if raw is not _UNKNOWN:
            self._cache[key] = cast("bytes", raw)  # most recently used last
        return raw

    def _cache_put(self, key: tuple[str, bytes], raw: bytes | None) -> None:
        self._cache.pop(key, None)
        if raw is None:
            return  # absent: the next write guesses so anyway
        self._cache[key] = raw
        if len(self._cache) > self._cache_fields:
            del self._cache[next(iter(self._cache))]

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
        entries = self._keys.timeline_entries(tenant_id, token)
        key = entry_field(interaction_id)
        try:
            raw = cast("bytes | None", await self._redis.hget(entries, key))
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc
        if raw is not None:
            self._cache_put((sys.intern(entries), key), raw)
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
