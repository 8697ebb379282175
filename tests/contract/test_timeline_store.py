"""One contract suite for TimelineStore: the in-memory twin and the Redis adapter pass it."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.keys import Keys
from projections.memory import InMemoryTimelineStore
from projections.redis_client import redis_client
from projections.redis_timeline import RedisTimelineStore
from projections.timeline import Retention, fold, to_ms, visible
from schemas.records import CHANNELS
from tests.factories import T0, interaction_events, voice_call

NOW = to_ms(T0)
RETENTION = Retention(max_entries=3, window_ms=90 * 86_400_000)


class TimelineStoreContract:
    """Behaviour every TimelineStore must have."""

    async def make_store(self, retention: Retention):  # pragma: no cover - overridden
        raise NotImplementedError

    async def test_a_call_reads_back_as_one_entry(self):
        """All events of a call fold into one entry, readable by party and channel."""
        store = await self.make_store(RETENTION)
        for event in voice_call("ix-1"):
            await store.apply("acme", "tok", event, NOW)
        entries = await store.read("acme", "tok", ["voice"], NOW, 10)
        assert [e.interaction_id for e in entries] == ["ix-1"]
        assert entries[0] == fold(voice_call("ix-1"))["ix-1"] or entries[0].wrapup is not None

    async def test_replayed_duplicates_leave_reads_unchanged(self):
        """Applying the same stream twice gives the same reads."""
        store = await self.make_store(RETENTION)
        events = voice_call("ix-1") + voice_call("ix-2", start=T0 - timedelta(days=1))
        for event in events:
            await store.apply("acme", "tok", event, NOW)
        before = await store.read("acme", "tok", ["voice"], NOW, 10)
        for event in events:
            await store.apply("acme", "tok", event, NOW)
        assert await store.read("acme", "tok", ["voice"], NOW, 10) == before

    async def test_cap_keeps_the_newest_per_channel(self):
        """Only max_entries newest interactions of a channel are kept."""
        store = await self.make_store(RETENTION)
        for n in range(6):
            for event in voice_call(f"ix-{n}", start=T0 - timedelta(days=n)):
                await store.apply("acme", "tok", event, NOW)
        entries = await store.read("acme", "tok", ["voice"], NOW, 10)
        assert [e.interaction_id for e in entries] == ["ix-0", "ix-1", "ix-2"]
        assert await store.get("acme", "tok", "ix-5") is None

    async def test_reads_never_return_entries_outside_the_window(self):
        """An entry that aged out is not returned even before it expires."""
        store = await self.make_store(RETENTION)
        for event in voice_call("ix-old", start=T0 - timedelta(days=80)):
            await store.apply("acme", "tok", event, NOW)
        later = NOW + 20 * 86_400_000
        assert await store.read("acme", "tok", ["voice"], later, 10) == []

    async def test_an_interaction_whose_channel_changes_shows_in_one_channel(self):
        """A producer disagreeing on the channel: the fold keeps min(channel), indexed once."""
        store = await self.make_store(RETENTION)
        voice = voice_call("ix-1")
        for event in voice[:2]:
            await store.apply("acme", "tok", event, NOW)
        await store.apply("acme", "tok", replace(voice[2], channel="chat"), NOW)
        assert await store.read("acme", "tok", ["voice"], NOW, 10) == []
        [entry] = await store.read("acme", "tok", ["chat"], NOW, 10)
        assert entry.interaction_id == "ix-1" and entry.channel == "chat"

    async def test_paging_with_before(self):
        """`before_ms` returns the next page, strictly older."""
        store = await self.make_store(Retention(max_entries=10, window_ms=RETENTION.window_ms))
        for n in range(4):
            for event in voice_call(f"ix-{n}", start=T0 - timedelta(days=n)):
                await store.apply("acme", "tok", event, NOW)
        first = await store.read("acme", "tok", ["voice"], NOW, 2)
        rest = await store.read("acme", "tok", ["voice"], NOW, 2, first[-1].started_ms)
        assert [e.interaction_id for e in first + rest] == ["ix-0", "ix-1", "ix-2", "ix-3"]

    async def test_parties_are_isolated(self):
        """One party's events never show in another's timeline."""
        store = await self.make_store(RETENTION)
        for event in voice_call("ix-1"):
            await store.apply("acme", "tok-a", event, NOW)
        assert await store.read("acme", "tok-b", ["voice"], NOW, 10) == []
        assert await store.read("other", "tok-a", ["voice"], NOW, 10) == []

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(st.lists(interaction_events(clustered=True), min_size=1, max_size=30), st.randoms())
    async def test_any_order_with_duplicates_equals_the_reference_fold(self, events, rnd):
        """Store reads equal `visible(fold(set of events))` for any arrival order.

        Events of one interaction cluster within hours (as in real traffic); see
        docs/storage.md for the one divergence when they do not (a late event moving an
        interaction's start earlier than one the cap already evicted).
        """
        store = await self.make_store(RETENTION)
        stream = events + rnd.sample(events, k=len(events) // 2)
        rnd.shuffle(stream)
        for event in stream:
            await store.apply("t", "tok", event, NOW)
        got = await store.read("t", "tok", list(CHANNELS), NOW, 100)
        want = visible(list(fold(events).values()), NOW, RETENTION)
        assert sorted(got, key=lambda e: e.interaction_id) == sorted(
            want, key=lambda e: e.interaction_id
        )


class TestInMemoryTimelineStore(TimelineStoreContract):
    """The twin."""

    async def make_store(self, retention):
        return InMemoryTimelineStore(retention)


@pytest.mark.integration
class TestRedisTimelineStore(TimelineStoreContract):
    """The Redis adapter on a real redis-server."""

    @pytest.fixture(autouse=True)
    def _redis(self, redis_url):
        self.redis_url = redis_url

    async def make_store(self, retention):
        namespace = f"c360t{uuid.uuid4().hex[:12]}"
        return RedisTimelineStore(redis_client(self.redis_url), Keys(namespace), retention)


@pytest.mark.integration
async def test_an_erased_party_is_not_projected_again(redis_url):
    """With the erasure marker set, late events of the party write nothing."""
    keys = Keys(f"c360t{uuid.uuid4().hex[:12]}")
    client = redis_client(redis_url)
    store = RedisTimelineStore(client, keys, RETENTION)
    try:
        await client.set(keys.erased("acme", "tok"), "1", ex=60)
        for event in voice_call("ix-1"):
            assert await store.apply("acme", "tok", event, NOW) is None
        assert await store.read("acme", "tok", ["voice"], NOW, 10) == []
        assert await client.exists(keys.timeline_index("acme", "tok", "voice")) == 0
    finally:
        await client.delete(keys.erased("acme", "tok"), keys.timeline_entries("acme", "tok"))
        await client.aclose()
