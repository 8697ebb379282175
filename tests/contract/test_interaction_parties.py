"""One contract for InteractionParties: the in-memory twin and Redis pass the same tests."""

from __future__ import annotations

import abc

import pytest

from core.errors import StoreUnavailable
from core.ports import ClaimResult, InteractionParties, Party
from projections.memory import InMemoryInteractionParties
from projections.redis_parties import RedisInteractionParties
from tests.contract.redis_backed import RedisBacked

ANA = Party("acme", "tok-ana", "phone", "+14155550100", False, "v1")
BOB = Party("acme", "tok-bob", "email", "bob@example.com", True, "v1")
OTHER = Party("beta", "tok-ana", "phone", None)
TTL = 3600


class InteractionPartiesContract(abc.ABC):
    """What every InteractionParties must do."""

    @abc.abstractmethod
    def make(self) -> InteractionParties:
        """A fresh, empty store."""

    def unreachable(self) -> InteractionParties | None:
        """The store with its backend gone, or None when it cannot be (an in-process twin)."""
        return None

    async def test_an_unknown_interaction_has_no_party(self) -> None:
        store = self.make()
        assert await store.lookup("acme", "ix-1") is None
        assert await store.lookup_many([("acme", "ix-1"), ("beta", "ix-2")]) == [None, None]

    async def test_the_first_party_remembered_wins(self) -> None:
        """Later `remember` calls (another leg, a replay) are no-ops; every field reads back."""
        store = self.make()
        await store.remember("ix-1", ANA)
        await store.remember("ix-1", BOB)
        assert await store.lookup("acme", "ix-1") == ANA
        await store.remember("ix-1", ANA)
        assert await store.lookup("acme", "ix-1") == ANA
        await store.remember("ix-2", BOB)
        assert await store.lookup("acme", "ix-2") == BOB

    async def test_tenants_are_isolated(self) -> None:
        """The same interaction id in another tenant is another interaction."""
        store = self.make()
        await store.remember("ix-1", ANA)
        await store.remember("ix-1", OTHER)
        assert await store.lookup("acme", "ix-1") == ANA
        assert await store.lookup("beta", "ix-1") == OTHER
        assert await store.lookup("gamma", "ix-1") is None

    async def test_parked_events_drain_oldest_first_and_once(self) -> None:
        store = self.make()
        for raw in (b"e1", b"e2", b"e1"):
            await store.park("acme", "ix-1", raw)
        await store.park("beta", "ix-1", b"x")
        assert await store.drain("acme", "ix-1") == [b"e1", b"e2", b"e1"]
        assert await store.drain("acme", "ix-1") == []
        assert await store.drain("beta", "ix-1") == [b"x"]
        assert await store.drain("acme", "ix-9") == []

    async def test_park_many_keeps_the_order_per_interaction(self) -> None:
        store = self.make()
        await store.park("acme", "ix-1", b"e0")
        await store.park_many(
            [("acme", "ix-1", b"e1"), ("acme", "ix-2", b"f1"), ("acme", "ix-1", b"e2")]
        )
        await store.park_many([])
        assert await store.drain("acme", "ix-1") == [b"e0", b"e1", b"e2"]
        assert await store.drain("acme", "ix-2") == [b"f1"]

    async def test_claim_many_keeps_the_first_party_and_shows_the_parked_events(self) -> None:
        """One batch: the stored party (first writer wins, within the batch too) and the
        parked events, which stay until released (a crash cannot lose them)."""
        store = self.make()
        await store.remember("ix-1", ANA)
        await store.park_many([("acme", "ix-1", b"e1"), ("acme", "ix-2", b"f1")])
        results = await store.claim_many(
            [("ix-1", BOB), ("ix-2", BOB), ("ix-3", ANA), ("ix-3", BOB)]
        )
        assert results == [
            ClaimResult(ANA, (b"e1",)),
            ClaimResult(BOB, (b"f1",)),
            ClaimResult(ANA, ()),
            ClaimResult(ANA, ()),
        ]
        assert await store.lookup_many([("acme", "ix-2"), ("acme", "ix-3")]) == [BOB, ANA]
        assert [r.parked for r in await store.claim_many([("ix-1", ANA)])] == [(b"e1",)]
        assert await store.claim_many([]) == []

    async def test_release_parked_removes_only_what_it_names(self) -> None:
        store = self.make()
        await store.park_many([("acme", "ix-1", b"e1"), ("acme", "ix-2", b"f1")])
        await store.release_parked([("acme", "ix-1"), ("acme", "ix-9")])
        await store.release_parked([])
        assert await store.drain("acme", "ix-1") == []
        assert await store.drain("acme", "ix-2") == [b"f1"]

    async def test_lookup_many_answers_in_order(self) -> None:
        store = self.make()
        await store.remember("ix-1", ANA)
        await store.remember("ix-2", OTHER)
        items = [("beta", "ix-2"), ("acme", "ix-1"), ("acme", "ix-2"), ("acme", "ix-1")]
        assert await store.lookup_many(items) == [OTHER, ANA, None, ANA]
        assert await store.lookup_many([]) == []

    async def test_an_unreachable_store_raises_store_unavailable(self) -> None:
        """Every method: StoreUnavailable (transient: the caller retries in place)."""
        store = self.unreachable()
        if store is None:
            pytest.skip("an in-process twin is always reachable")
        calls = [
            lambda: store.remember("ix-1", ANA),
            lambda: store.lookup("acme", "ix-1"),
            lambda: store.park("acme", "ix-1", b"e"),
            lambda: store.drain("acme", "ix-1"),
            lambda: store.claim_many([("ix-1", ANA)]),
            lambda: store.lookup_many([("acme", "ix-1")]),
            lambda: store.park_many([("acme", "ix-1", b"e")]),
            lambda: store.release_parked([("acme", "ix-1")]),
        ]
        for call in calls:
            with pytest.raises(StoreUnavailable):
                await call()


class TestInMemoryInteractionParties(InteractionPartiesContract):
    """The twin."""

    def make(self) -> InteractionParties:
        return InMemoryInteractionParties()


@pytest.mark.integration
class TestRedisInteractionParties(RedisBacked, InteractionPartiesContract):
    """The Redis adapter on a real redis-server."""

    def make(self) -> RedisInteractionParties:
        return RedisInteractionParties(self.client(), self.fresh_keys(), TTL)

    def unreachable(self) -> InteractionParties:
        return RedisInteractionParties(self.unreachable_client(), self.fresh_keys(), TTL)

    async def test_links_and_parked_events_expire(self) -> None:
        """Redis only (the twin lives as long as a test): both kinds of key carry the TTL."""
        keys = self.fresh_keys()
        store = RedisInteractionParties(self.client(), keys, TTL)
        await store.claim_many([("ix-1", ANA)])
        await store.park_many([("acme", "ix-2", b"e")])
        await store.park("acme", "ix-3", b"e")
        redis = self.client()
        for key in (
            keys.interaction_party("acme", "ix-1"),
            keys.interaction_parked("acme", "ix-2"),
            keys.interaction_parked("acme", "ix-3"),
        ):
            assert 0 < await redis.ttl(key) <= TTL
