"""One contract for RelatedRecordsStore: the in-memory twin and Redis pass the same tests."""

from __future__ import annotations

import abc

import pytest

from core.errors import StoreUnavailable
from core.related import InMemoryRelatedRecords, RelatedFact, RelatedRecordsStore
from projections.redis_related import RedisRelatedRecords
from tests.contract.redis_backed import RedisBacked

FOUND = RelatedFact("r1:a", 100, "found", "hubspot", "call", "a1", "https://x/a1")
LINK = RelatedFact("d1", 200, "link", "hubspot", "call", "a1", source="agent", agent_id="ag")


class RelatedStoreContract(abc.ABC):
    """What every RelatedRecordsStore must do."""

    @abc.abstractmethod
    def make(self) -> RelatedRecordsStore:
        """A fresh, empty store."""

    def unreachable(self) -> RelatedRecordsStore | None:
        """The store with its backend gone, or None when it cannot be (a twin)."""
        return None

    async def test_facts_read_back_per_interaction(self):
        """Added facts come back (ordered by id), only for their interaction."""
        store = self.make()
        await store.add("acme", "ix-1", [LINK, FOUND])
        assert await store.facts("acme", "ix-1") == [LINK, FOUND]
        assert await store.facts("acme", "ix-2") == []
        assert await store.facts("beta", "ix-1") == []

    async def test_adding_a_fact_again_changes_nothing(self):
        """Idempotent by fact id: a replayed result or desktop action is a no-op."""
        store = self.make()
        await store.add("acme", "ix-1", [FOUND])
        await store.add("acme", "ix-1", [FOUND, FOUND])
        await store.add("acme", "ix-1", [])
        assert await store.facts("acme", "ix-1") == [FOUND]

    async def test_an_unreachable_store_raises_store_unavailable(self):
        store = self.unreachable()
        if store is None:
            pytest.skip("an in-process twin is always reachable")
        with pytest.raises(StoreUnavailable):
            await store.add("acme", "ix-1", [FOUND])
        with pytest.raises(StoreUnavailable):
            await store.facts("acme", "ix-1")


class TestInMemoryRelatedRecords(RelatedStoreContract):
    """The twin."""

    def make(self) -> RelatedRecordsStore:
        return InMemoryRelatedRecords()


@pytest.mark.integration
class TestRedisRelatedRecords(RedisBacked, RelatedStoreContract):
    """The Redis adapter on a real redis-server."""

    def make(self) -> RelatedRecordsStore:
        return RedisRelatedRecords(self.client(), self.fresh_keys())

    def unreachable(self) -> RelatedRecordsStore:
        return RedisRelatedRecords(self.unreachable_client(), self.fresh_keys())
