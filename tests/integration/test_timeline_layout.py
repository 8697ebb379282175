"""The Redis layout of timelines: one entry hash per party, window trimming across channels,
tombstone purging, aligned expiry, compare-and-set merges, and the write path's command
budget (docs/storage.md)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta

import pytest

from c360.localstack import start_redis
from core.timeline import Retention, entry_of, fold, to_ms
from projections.keys import Keys, entry_field
from projections.redis_client import redis_client
from projections.redis_timeline import META_FIELD, RedisTimelineStore
from tests.factories import T0, voice_call

pytestmark = pytest.mark.integration

DAY = 86_400_000
NOW = to_ms(T0)
RETENTION = Retention(max_entries=3, window_ms=90 * DAY, tombstone_grace_ms=7 * DAY)


@pytest.fixture
async def env(redis_url):
    keys = Keys(f"c360t{uuid.uuid4().hex[:12]}")
    client = redis_client(redis_url)
    try:
        yield client, keys, RedisTimelineStore(client, keys, RETENTION)
    finally:
        found = [k async for k in client.scan_iter(match=f"{keys.namespace}:*")]
        if found:
            await client.delete(*found)
        await client.aclose()


def chat(iid: str, **kw):
    return [dataclasses.replace(e, channel="chat") for e in voice_call(iid, **kw)]


async def party_keys(client, keys: Keys, token: str = "tok") -> set[str]:
    tag = keys.party_tag("acme", token)
    pattern = tag.replace("{", "\\{").replace("}", "\\}") + ":*"
    return {k.decode()[len(tag) + 1 :] async for k in client.scan_iter(match=pattern)}


async def test_entries_live_in_one_hash_per_party_with_compact_fields(env):
    """No key per interaction: one hash (UUID ids as 16-byte fields) and one index per channel."""
    client, keys, store = env
    iids = [str(uuid.uuid4()) for _ in range(2)] + ["CA-not-a-uuid"]
    for n, iid in enumerate(iids):
        for event in voice_call(iid, start=T0 - timedelta(hours=n)):
            await store.apply("acme", "tok", event, NOW)
    for event in chat("chat-1"):
        await store.apply("acme", "tok", event, NOW)
    assert await party_keys(client, keys) == {"tx", "tl:voice", "tl:chat"}
    fields = set(await client.hkeys(keys.timeline_entries("acme", "tok")))
    assert fields == {entry_field(i) for i in [*iids, "chat-1"]} | {META_FIELD}
    assert {len(entry_field(i)) for i in iids[:2]} == {16}
    assert [e.interaction_id for e in await store.read("acme", "tok", ["voice"], NOW, 10)] == iids
    assert (await store.get("acme", "tok", "CA-not-a-uuid")).interaction_id == "CA-not-a-uuid"


async def test_every_key_of_the_party_expires_together_after_the_last_write(env):
    """Index, hash and tombstones share one deadline, at least last write + window + grace
    and at most a housekeeping interval (a day) more; refreshed only when it falls short."""
    client, keys, store = env
    for event in voice_call("ix-1"):
        await store.apply("acme", "tok", event, NOW)
    for event in chat("ix-2"):
        await store.apply("acme", "tok", event, NOW + DAY)
    hold = RETENTION.window_ms + RETENTION.tombstone_grace_ms

    async def deadlines() -> set[int]:
        found = await party_keys(client, keys)
        assert found == {"tx", "tl:voice", "tl:chat"}
        return {await client.pexpiretime(f"{keys.party_tag('acme', 'tok')}:{s}") for s in found}

    # The chat index, created a day later, joined the deadline the first write set.
    assert await deadlines() == {NOW + hold + DAY}
    for event in chat("ix-3", start=T0 + timedelta(days=2)):
        await store.apply("acme", "tok", event, NOW + 2 * DAY + 1)
    # Fell short: refreshed (the deadline is kept in whole seconds, rounded up).
    assert await deadlines() == {NOW + 2 * DAY + 1000 + hold + DAY}


async def test_the_expiry_is_not_touched_by_a_write_before_it_is_due(env):
    """Writes inside the housekeeping interval leave the deadline alone (no PEXPIREAT)."""
    client, keys, store = env
    for event in voice_call("ix-1"):
        await store.apply("acme", "tok", event, NOW)
    hash_key = keys.timeline_entries("acme", "tok")
    marker = NOW + 400 * DAY  # set behind the store's back: only a refresh would change it
    await client.pexpireat(hash_key, marker)
    for event in voice_call("ix-2", start=T0 + timedelta(hours=1)):
        await store.apply("acme", "tok", event, NOW + DAY // 2)
    assert await client.pexpiretime(hash_key) == marker


async def test_a_write_on_any_channel_trims_the_window_of_every_channel(env):
    """A voice entry that aged out is removed by the next chat write, not left in the hash."""
    client, keys, store = env
    for event in voice_call("old", start=T0 - timedelta(days=80)):
        await store.apply("acme", "tok", event, NOW)
    later = NOW + 20 * DAY
    for event in chat("new"):
        await store.apply("acme", "tok", event, later)
    assert await client.zcard(keys.timeline_index("acme", "tok", "voice")) == 0
    raw = await client.hget(keys.timeline_entries("acme", "tok"), entry_field("old"))
    assert raw.startswith(b"~")  # a tombstone: late events of "old" cannot resurrect it
    for event in voice_call("old", start=T0 - timedelta(days=80)):
        assert await store.apply("acme", "tok", event, later) is None
    assert await store.read("acme", "tok", ["voice"], later, 10) == []


async def test_tombstones_are_purged_when_their_grace_ends(env):
    """Trimmed entries leave tombstones that a later write removes once they are due."""
    client, keys, store = env
    for n in range(5):
        for event in voice_call(f"ix-{n}", start=T0 - timedelta(days=n)):
            await store.apply("acme", "tok", event, NOW)
    hash_key = keys.timeline_entries("acme", "tok")
    assert await client.hlen(hash_key) == 6  # 3 kept by the cap + 2 tombstones + the meta
    assert await client.zcard(keys.timeline_tombstones("acme", "tok")) == 2
    much_later = NOW + RETENTION.window_ms + RETENTION.tombstone_grace_ms + DAY
    for event in chat("fresh", start=T0 + timedelta(days=200)):
        await store.apply("acme", "tok", event, much_later)
    # The 3 voice entries aged out (new tombstones); the 2 old tombstones were due: gone.
    fields = set(await client.hkeys(hash_key))
    assert entry_field("ix-3") not in fields and entry_field("ix-4") not in fields
    assert {entry_field(f"ix-{n}") for n in range(3)} <= fields
    assert await client.zcard(keys.timeline_tombstones("acme", "tok")) == 3


async def test_concurrent_merges_of_one_interaction_lose_nothing(env):
    """Events of one interaction merged at once: the compare-and-set retries, none is lost."""
    _client, _keys, store = env
    events = voice_call("ix-1")
    await asyncio.gather(*(store.apply("acme", "tok", e, NOW) for e in events))
    assert await store.get("acme", "tok", "ix-1") == fold(events)["ix-1"]


async def test_an_interaction_whose_channel_changes_is_indexed_once(env):
    """A producer disagreeing on the channel: the entry moves to the fold's channel only."""
    client, keys, store = env
    voice = voice_call("ix-1")
    for event in voice[:2]:
        await store.apply("acme", "tok", event, NOW)
    await store.apply("acme", "tok", dataclasses.replace(voice[2], channel="chat"), NOW)
    entry = await store.get("acme", "tok", "ix-1")
    assert entry is not None and entry.channel == "chat"  # the fold keeps min(channel)
    assert await client.zcard(keys.timeline_index("acme", "tok", "voice")) == 0
    assert await client.zcard(keys.timeline_index("acme", "tok", "chat")) == 1


async def test_a_party_written_before_the_meta_existed_is_counted_and_capped(env):
    """A hash without the meta field (the earlier write path): the next write recounts the
    indexes, so the cap still holds, and every key gets the shared deadline."""
    client, keys, store = env
    for n in range(3):
        for event in voice_call(f"ix-{n}", start=T0 - timedelta(days=n)):
            await store.apply("acme", "tok", event, NOW)
    hash_key = keys.timeline_entries("acme", "tok")
    await client.hdel(hash_key, META_FIELD)
    await client.persist(keys.timeline_index("acme", "tok", "voice"))
    fresh = RedisTimelineStore(client, keys, RETENTION)  # another process: nothing cached
    for event in voice_call("ix-new", start=T0 + timedelta(hours=1)):
        await fresh.apply("acme", "tok", event, NOW)
    entries = await fresh.read("acme", "tok", ["voice"], NOW, 10)
    assert [e.interaction_id for e in entries] == ["ix-new", "ix-0", "ix-1"]
    assert (await client.hget(hash_key, entry_field("ix-2"))).startswith(b"~")
    deadline = await client.pexpiretime(hash_key)
    assert await client.pexpiretime(keys.timeline_index("acme", "tok", "voice")) == deadline > 0


# The command budget: commands per input event as Redis counts them (INFO commandstats,
# commands inside scripts included), on a private server so nothing else is counted.


@pytest.fixture(scope="module")
def private_redis_url(tmp_path_factory):
    base = tmp_path_factory.mktemp("redis-budget")
    child, url = start_redis(base, base / "redis.log")
    try:
        yield url
    finally:
        child.stop(5)


async def _commandstats(client) -> dict[str, int]:
    stats = await client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


def _calls_workload(callers: int, calls: int, spread: int = 0) -> list[tuple[str, str, object]]:
    """4 events per call (queued, accepted, ended, wrapped up), each call from one of
    `callers` parties (UUID interaction ids). `spread` 0: a call's events one after another,
    as the bench publishes them; else event k of call n goes out at n + spread * k."""
    slots: dict[int, list[tuple[str, str, object]]] = {}
    for n in range(calls):
        iid = str(uuid.uuid5(uuid.NAMESPACE_OID, f"call-{n}"))
        start = T0 - timedelta(days=30) + timedelta(seconds=97 * n)
        events = voice_call(iid, start=start)
        token = f"caller{(n * 7919) % callers:05d}"
        for k, index in enumerate((0, 2, 3, 4)):
            slot = n * 4 + k if spread == 0 else n + spread * k
            slots.setdefault(slot, []).append(("acme", token, entry_of(events[index])))
    return [item for slot in sorted(slots) for item in slots[slot]]


async def _commands_per_event(url: str, items: list, batch: int) -> tuple[float, dict, int]:
    client = redis_client(url)
    keys = Keys(f"c360t{uuid.uuid4().hex[:12]}")
    store = RedisTimelineStore(client, keys, Retention())
    try:
        await client.ping()
        before = await _commandstats(client)
        party_batches = 0
        for start in range(0, len(items), batch):
            chunk = items[start : start + batch]
            party_batches += len({(t, p) for t, p, _ in chunk})
            results = await store.merge_many(chunk, NOW)
            assert all(r is not None for r in results)
        after = await _commandstats(client)
        sample = items[-1]
        assert await store.get(sample[0], sample[1], sample[2].interaction_id) is not None
        assert store.conflicts == 0 and store.cold_misses == 0
    finally:
        await client.flushdb()
        await client.aclose()
    spent = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    spent.pop("info", None)
    spent.pop("script|load", None)  # once per process
    return sum(spent.values()) / len(items), spent, party_batches


async def test_the_write_path_stays_within_three_commands_per_event(private_redis_url):
    """2,000 callers, 10,000 calls of 4 events, merged in batches of 500 events: at most 3
    Redis commands per event, one script call per party and batch, no client-side read."""
    items = _calls_workload(callers=2_000, calls=10_000)
    per_event, spent, party_batches = await _commands_per_event(private_redis_url, items, 500)
    assert per_event <= 3, (per_event, spent)
    assert spent["evalsha"] == party_batches  # one script call per party and batch
    assert "hget" not in spent and "hgetall" not in spent  # no read before a write
    # Housekeeping only when due: nothing trims, purges or re-reads expiry on these writes.
    assert not {"pttl", "zrangebyscore", "zremrangebyscore", "zcard", "time"} & set(spent)


async def test_one_event_per_party_and_batch_costs_the_scripts_floor(private_redis_url):
    """The worst case: each event of a call in another batch. Every event then pays its
    party's script call, HMGET and HSET (3), plus a ZADD per new interaction."""
    items = _calls_workload(callers=2_000, calls=10_000, spread=125)
    per_event, spent, party_batches = await _commands_per_event(private_redis_url, items, 500)
    assert per_event <= 3.5, (per_event, spent)
    assert spent["evalsha"] == party_batches


async def test_a_cache_too_small_costs_retries_not_correctness(private_redis_url):
    """With a one-field cache most writes guess "absent" wrongly: each such item is retried
    with the bytes the script returned (counted as cold misses), and nothing is lost."""
    client = redis_client(private_redis_url)
    store = RedisTimelineStore(client, Keys("c360small"), RETENTION, cache_fields=1)
    one, two = voice_call("ix-1"), voice_call("ix-2", start=T0 - timedelta(hours=2))
    events = [e for pair in zip(one, two, strict=True) for e in pair]  # evicting each other
    try:
        for event in events:
            await store.merge_many([("acme", "tok", entry_of(event))], NOW)
        assert store.cold_misses > 0 and store.conflicts == 0
        want = fold(events)
        assert await store.get("acme", "tok", "ix-1") == want["ix-1"]
        assert await store.get("acme", "tok", "ix-2") == want["ix-2"]
    finally:
        await client.flushdb()
        await client.aclose()


async def test_a_script_cache_flushed_under_the_store_is_reloaded(private_redis_url):
    """SCRIPT FLUSH (a Redis restart or failover): the refused calls are sent again."""
    client = redis_client(private_redis_url)
    store = RedisTimelineStore(client, Keys("c360flush"), RETENTION)
    try:
        [first] = await store.merge_many([("acme", "tok", entry_of(voice_call("ix-1")[0]))], NOW)
        await client.script_flush()
        items = [("acme", tok, entry_of(e)) for tok in ("tok", "tok2") for e in voice_call("ix-1")]
        results = await store.merge_many(items, NOW)
        assert first is not None and all(r is not None for r in results)
        assert results[0].interaction_id == results[-1].interaction_id == "ix-1"
    finally:
        await client.flushdb()
        await client.aclose()
