"""One contract suite for TimelineStore: the in-memory twin and the Redis adapter pass it."""

from __future__ import annotations

import abc
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import StoreUnavailable
from core.ports import TimelineStore
from core.timeline import Retention, entry_of, fold, to_ms, visible
from projections.keys import Keys
from projections.memory import InMemoryTimelineStore
from projections.redis_client import redis_client
from projections.redis_timeline import RedisTimelineStore
from schemas.records import CHANNELS
from tests.contract.redis_backed import RedisBacked
from tests.factories import T0, interaction_events, voice_call

NOW = to_ms(T0)
RETENTION = Retention(max_entries=3, window_ms=90 * 86_400_000)


class TimelineStoreContract(abc.ABC):
    """Behaviour every TimelineStore must have."""

    @abc.abstractmethod
    def make(self, retention: Retention) -> TimelineStore:
        """A fresh, empty store (a new one per call: hypothesis examples call it often)."""

    @abc.abstractmethod
    def make_pair(self, retention: Retention) -> tuple[TimelineStore, TimelineStore]:
        """Two stores over the same data (two worker processes, or one twin twice)."""

    def unreachable(self, retention: Retention) -> TimelineStore | None:
        """The store with its backend gone, or None when it cannot be (a twin)."""
        return None

    async def test_an_unreachable_store_raises_store_unavailable(self):
        """Writes and reads: StoreUnavailable (nothing written; safe to repeat)."""
        store = self.unreachable(RETENTION)
        if store is None:
            pytest.skip("an in-process twin is always reachable")
        event = voice_call("ix-1")[0]
        calls = [
            lambda: store.apply("acme", "tok", event, NOW),
            lambda: store.merge_entry("acme", "tok", entry_of(event), NOW),
            lambda: store.merge_many([("acme", "tok", entry_of(event))], NOW),
            lambda: store.read("acme", "tok", ["voice"], NOW, 10),
            lambda: store.get("acme", "tok", "ix-1"),
        ]
        for call in calls:
            with pytest.raises(StoreUnavailable):
                await call()

    async def test_a_call_reads_back_as_one_entry(self):
        """All events of a call fold into one entry, readable by party and channel."""
        store = self.make(RETENTION)
        for event in voice_call("ix-1"):
            await store.apply("acme", "tok", event, NOW)
        entries = await store.read("acme", "tok", ["voice"], NOW, 10)
        assert [e.interaction_id for e in entries] == ["ix-1"]
        assert entries[0] == fold(voice_call("ix-1"))["ix-1"] or entries[0].wrapup is not None

    async def test_replayed_duplicates_leave_reads_unchanged(self):
        """Applying the same stream twice gives the same reads."""
        store = self.make(RETENTION)
        events = voice_call("ix-1") + voice_call("ix-2", start=T0 - timedelta(days=1))
        for event in events:
            await store.apply("acme", "tok", event, NOW)
        before = await store.read("acme", "tok", ["voice"], NOW, 10)
        for event in events:
            await store.apply("acme", "tok", event, NOW)
        assert await store.read("acme", "tok", ["voice"], NOW, 10) == before

    async def test_cap_keeps_the_newest_per_channel(self):
        """Only max_entries newest interactions of a channel are kept."""
        store = self.make(RETENTION)
        for n in range(6):
            for event in voice_call(f"ix-{n}", start=T0 - timedelta(days=n)):
                await store.apply("acme", "tok", event, NOW)
        entries = await store.read("acme", "tok", ["voice"], NOW, 10)
        assert [e.interaction_id for e in entries] == ["ix-0", "ix-1", "ix-2"]
        assert await store.get("acme", "tok", "ix-5") is None

    async def test_reads_never_return_entries_outside_the_window(self):
        """An entry that aged out is not returned even before it expires."""
        store = self.make(RETENTION)
        for event in voice_call("ix-old", start=T0 - timedelta(days=80)):
            await store.apply("acme", "tok", event, NOW)
        later = NOW + 20 * 86_400_000
        assert await store.read("acme", "tok", ["voice"], later, 10) == []

    async def test_an_interaction_whose_channel_changes_shows_in_one_channel(self):
        """A producer disagreeing on the channel: the fold keeps min(channel), indexed once."""
        store = self.make(RETENTION)
        voice = voice_call("ix-1")
        for event in voice[:2]:
            await store.apply("acme", "tok", event, NOW)
        await store.apply("acme", "tok", replace(voice[2], channel="chat"), NOW)
        assert await store.read("acme", "tok", ["voice"], NOW, 10) == []
        [entry] = await store.read("acme", "tok", ["chat"], NOW, 10)
        assert entry.interaction_id == "ix-1" and entry.channel == "chat"

    async def test_paging_with_before(self):
        """`before_ms` returns the next page, strictly older."""
        store = self.make(Retention(max_entries=10, window_ms=RETENTION.window_ms))
        for n in range(4):
            for event in voice_call(f"ix-{n}", start=T0 - timedelta(days=n)):
                await store.apply("acme", "tok", event, NOW)
        first = await store.read("acme", "tok", ["voice"], NOW, 2)
        rest = await store.read("acme", "tok", ["voice"], NOW, 2, first[-1].started_ms)
        assert [e.interaction_id for e in first + rest] == ["ix-0", "ix-1", "ix-2", "ix-3"]

    async def test_parties_are_isolated(self):
        """One party's events never show in another's timeline."""
        store = self.make(RETENTION)
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
        store = self.make(RETENTION)
        stream = events + rnd.sample(events, k=len(events) // 2)
        rnd.shuffle(stream)
        for event in stream:
            await store.apply("t", "tok", event, NOW)
        got = await store.read("t", "tok", list(CHANNELS), NOW, 100)
        want = visible(list(fold(events).values()), NOW, RETENTION)
        assert sorted(got, key=lambda e: e.interaction_id) == sorted(
            want, key=lambda e: e.interaction_id
        )

    async def test_a_batch_with_repeats_merges_them_and_aligns_results(self):
        """merge_many: repeats of an interaction are merged; every item gets the final entry."""
        store = self.make(RETENTION)
        one, two = voice_call("ix-1"), voice_call("ix-2", start=T0 - timedelta(hours=1))
        items = [("acme", "tok", entry_of(e)) for e in one + two + one[:2]]
        results = await store.merge_many(items, NOW)
        want = fold(one + two)
        assert results == [want[p.interaction_id] for _, _, p in items]
        assert await store.merge_many(items, NOW) == results  # a replayed batch: the same
        assert [e.interaction_id for e in await store.read("acme", "tok", ["voice"], NOW, 10)] == [
            "ix-1",
            "ix-2",
        ]

    async def test_a_batch_over_several_parties_keeps_them_apart(self):
        """One batch, three parties: each party's timeline holds only its own interactions."""
        store = self.make(RETENTION)
        calls = {f"tok-{n}": voice_call(f"ix-{n}") for n in range(3)}
        items = [("acme", tok, entry_of(e)) for tok, events in calls.items() for e in events]
        items += [("other", "tok-0", entry_of(e)) for e in voice_call("ix-9")]
        results = await store.merge_many(items, NOW)
        assert [r.interaction_id for r in results if r is not None] == [
            p.interaction_id for _, _, p in items
        ]
        for tok, events in calls.items():
            [entry] = await store.read("acme", tok, ["voice"], NOW, 10)
            assert entry == fold(events)[events[0].interaction_id]
        assert [
            e.interaction_id for e in await store.read("other", "tok-0", ["voice"], NOW, 9)
        ] == ["ix-9"]

    async def test_a_batch_over_the_cap_keeps_the_newest_and_reports_the_evicted(self):
        """Five new interactions in one batch, cap 3: the two oldest come back None."""
        store = self.make(RETENTION)
        items = [
            ("acme", "tok", entry_of(e))
            for n in range(5)
            for e in voice_call(f"ix-{n}", start=T0 - timedelta(days=n))
        ]
        results = await store.merge_many(items, NOW)
        kept = {p.interaction_id for (_, _, p), r in zip(items, results, strict=True) if r}
        assert kept == {"ix-0", "ix-1", "ix-2"}
        # Late events of an evicted interaction are absorbed, in a batch as alone.
        late = [
            ("acme", "tok", entry_of(e)) for e in voice_call("ix-4", start=T0 - timedelta(days=4))
        ]
        assert await store.merge_many(late, NOW) == [None] * len(late)
        entries = await store.read("acme", "tok", ["voice"], NOW, 10)
        assert [e.interaction_id for e in entries] == ["ix-0", "ix-1", "ix-2"]

    async def test_a_party_with_more_items_than_one_script_call_takes(self):
        """1,200 new interactions of one party in one batch (two script calls): the cap
        keeps the newest, the results say which."""
        store = self.make(RETENTION)
        items = [
            ("acme", "tok", entry_of(voice_call(f"ix-{n:04d}", start=T0 - timedelta(minutes=n))[0]))
            for n in range(1_200)
        ]
        results = await store.merge_many(items, NOW)
        kept = [p.interaction_id for (_, _, p), r in zip(items, results, strict=True) if r]
        assert kept == ["ix-0000", "ix-0001", "ix-0002"]
        entries = await store.read("acme", "tok", ["voice"], NOW, 10)
        assert [e.interaction_id for e in entries] == kept

    async def test_a_batch_item_outside_the_window_comes_back_none(self):
        """An interaction that started before the window is not stored; the rest of the
        batch is."""
        store = self.make(RETENTION)
        old = voice_call("ix-old", start=T0 - timedelta(days=120))
        new = voice_call("ix-new")
        results = await store.merge_many([("acme", "tok", entry_of(e)) for e in old + new], NOW)
        assert results[: len(old)] == [None] * len(old)
        assert results[len(old) :] == [fold(new)["ix-new"]] * len(new)
        assert await store.get("acme", "tok", "ix-old") is None

    async def test_a_channel_outside_the_documented_ones_is_stored_and_capped(self):
        """The channel is an open string: an unknown one gets its own index and cap."""
        store = self.make(RETENTION)
        items = [
            ("acme", "tok", entry_of(replace(e, channel="video")))
            for n in range(4)
            for e in voice_call(f"ix-{n}", start=T0 - timedelta(days=n))
        ]
        results = await store.merge_many(items, NOW)
        assert {r.interaction_id for r in results if r is not None} == {"ix-0", "ix-1", "ix-2"}
        entries = await store.read("acme", "tok", ["video"], NOW, 10)
        assert [e.interaction_id for e in entries] == ["ix-0", "ix-1", "ix-2"]
        assert (await store.get("acme", "tok", "ix-0")).channel == "video"

    async def test_writes_of_a_concurrent_writer_are_never_lost(self):
        """Two writers (a rebalance): the one with a stale view retries and loses nothing."""
        first, second = self.make_pair(RETENTION)
        events = voice_call("ix-1")
        await first.merge_many([("acme", "tok", entry_of(e)) for e in events[:2]], NOW)
        await second.merge_many([("acme", "tok", entry_of(events[2]))], NOW)
        [result] = await first.merge_many([("acme", "tok", entry_of(events[3]))], NOW)
        await second.merge_many([("acme", "tok", entry_of(events[4]))], NOW)
        assert result == fold(events[:4])["ix-1"]
        assert await first.get("acme", "tok", "ix-1") == fold(events)["ix-1"]
        assert isinstance(first.conflicts, int) and isinstance(second.conflicts, int)

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(
        st.lists(interaction_events(clustered=True), min_size=1, max_size=30),
        st.lists(st.integers(1, 8), min_size=1, max_size=30),
        st.randoms(),
    )
    async def test_any_split_into_batches_equals_the_reference_fold(self, events, sizes, rnd):
        """merge_many over any split of a shuffled, duplicated event stream into batches
        leaves reads equal to `visible(fold(set of events))`, over two parties."""
        store = self.make(RETENTION)
        stream = events + rnd.sample(events, k=len(events) // 2)
        rnd.shuffle(stream)
        items = [("t", f"tok{hash(e.event_id) % 2}", entry_of(e)) for e in stream]
        start = 0
        for size in sizes * len(items):
            if start >= len(items):
                break
            await store.merge_many(items[start : start + size], NOW)
            start += size
        for tok in ("tok0", "tok1"):
            mine = [e for e in events if f"tok{hash(e.event_id) % 2}" == tok]
            got = await store.read("t", tok, list(CHANNELS), NOW, 100)
            want = visible(list(fold(mine).values()), NOW, RETENTION)
            assert sorted(got, key=lambda e: e.interaction_id) == sorted(
                want, key=lambda e: e.interaction_id
            )


class TestInMemoryTimelineStore(TimelineStoreContract):
    """The twin."""

    def make(self, retention: Retention) -> TimelineStore:
        return InMemoryTimelineStore(retention)

    def make_pair(self, retention: Retention) -> tuple[TimelineStore, TimelineStore]:
        store = InMemoryTimelineStore(retention)
        return store, store


@pytest.mark.integration
class TestRedisTimelineStore(RedisBacked, TimelineStoreContract):
    """The Redis adapter on a real redis-server."""

    autopipeline = False

    def make(self, retention: Retention) -> RedisTimelineStore:
        client = self.client(autopipeline=self.autopipeline)
        return RedisTimelineStore(client, self.fresh_keys(), retention)

    def make_pair(self, retention: Retention) -> tuple[RedisTimelineStore, RedisTimelineStore]:
        keys = self.fresh_keys()

        def store() -> RedisTimelineStore:
            client = self.client(autopipeline=self.autopipeline)
            return RedisTimelineStore(client, keys, retention)

        return store(), store()

    def unreachable(self, retention: Retention) -> TimelineStore:
        client = self.unreachable_client(autopipeline=self.autopipeline)
        return RedisTimelineStore(client, self.fresh_keys(), retention)

    async def test_a_stale_writer_counts_one_conflict_and_retries_without_a_read(self):
        """The stale writer's compare-and-set loses once (counted), then merges what the
        script handed back: no client read."""
        first, second = self.make_pair(RETENTION)
        events = voice_call("ix-1")
        await first.merge_many([("acme", "tok", entry_of(e)) for e in events[:2]], NOW)
        await second.get("acme", "tok", "ix-1")  # the second writer has a current view
        await second.merge_many([("acme", "tok", entry_of(events[2]))], NOW)
        assert (first.conflicts, second.conflicts) == (0, 0)
        [result] = await first.merge_many([("acme", "tok", entry_of(events[3]))], NOW)
        assert result == fold(events[:4])["ix-1"]
        assert first.conflicts == 1 and first.cold_misses == 0
        await first.merge_many([("acme", "tok", entry_of(events[4]))], NOW)
        assert first.conflicts == 1  # its view is current again


@pytest.mark.integration
async def test_an_erased_party_is_not_projected_by_a_batch_either(redis_url):
    """merge_many: with the marker set, the erased party's items are None; others write."""
    keys = Keys(f"c360t{uuid.uuid4().hex[:12]}")
    client = redis_client(redis_url)
    store = RedisTimelineStore(client, keys, RETENTION)
    try:
        await client.set(keys.erased("acme", "gone"), "1", ex=60)
        items = [("acme", tok, entry_of(e)) for tok in ("gone", "kept") for e in voice_call("ix-1")]
        results = await store.merge_many(items, NOW)
        assert results[:5] == [None] * 5 and all(r is not None for r in results[5:])
        assert await client.exists(keys.timeline_entries("acme", "gone")) == 0
    finally:
        found = [k async for k in client.scan_iter(match=f"{keys.namespace}:*")]
        await client.delete(*found)
        await client.aclose()


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


@pytest.mark.integration
class TestRedisTimelineStoreAutoPipelined(TestRedisTimelineStore):
    """The same contract on the streams worker's client (commands coalesced per loop turn)."""

    autopipeline = True
