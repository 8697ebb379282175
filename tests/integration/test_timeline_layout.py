"""The Redis layout of timelines: one entry hash per party, window trimming across channels,
tombstone purging, aligned expiry, compare-and-set merges (docs/storage.md)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta

import pytest

from projections.keys import Keys, entry_field
from projections.redis_client import redis_client
from projections.redis_timeline import RedisTimelineStore
from projections.timeline import Retention, fold, to_ms
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
    assert fields == {entry_field(i) for i in [*iids, "chat-1"]}
    assert {len(entry_field(i)) for i in iids[:2]} == {16}
    assert [e.interaction_id for e in await store.read("acme", "tok", ["voice"], NOW, 10)] == iids
    assert (await store.get("acme", "tok", "CA-not-a-uuid")).interaction_id == "CA-not-a-uuid"


async def test_every_key_of_the_party_expires_together_after_the_last_write(env):
    """Index, hash and tombstones share one deadline: last write + window + grace."""
    client, keys, store = env
    for event in voice_call("ix-1"):
        await store.apply("acme", "tok", event, NOW)
    for event in chat("ix-2"):
        await store.apply("acme", "tok", event, NOW + DAY)
    deadline = NOW + DAY + RETENTION.window_ms + RETENTION.tombstone_grace_ms
    for suffix in ("tx", "tl:voice", "tl:chat"):
        key = f"{keys.party_tag('acme', 'tok')}:{suffix}"
        assert await client.pexpiretime(key) == deadline, suffix


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
    assert await client.hlen(hash_key) == 5  # 3 kept by the cap + 2 tombstones
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
