"""One contract for RelatedRecordsStore: the in-memory twin and Redis pass the same tests."""

from __future__ import annotations

import pytest

from core.related import InMemoryRelatedRecords, RelatedFact
from projections.keys import Keys
from projections.redis_client import redis_client
from projections.redis_related import RedisRelatedRecords

FOUND = RelatedFact("r1:a", 100, "found", "hubspot", "call", "a1", "https://x/a1")
LINK = RelatedFact("d1", 200, "link", "hubspot", "call", "a1", source="agent", agent_id="ag")


class RelatedStoreContract:
    """What every RelatedRecordsStore must do."""

    def make_store(self):  # pragma: no cover - overridden
        raise NotImplementedError

    async def test_facts_read_back_per_interaction(self):
        """Added facts come back (ordered by id), only for their interaction."""
        store = self.make_store()
        await store.add("acme", "ix-1", [LINK, FOUND])
        assert await store.facts("acme", "ix-1") == [LINK, FOUND]
        assert await store.facts("acme", "ix-2") == []
        assert await store.facts("beta", "ix-1") == []

    async def test_adding_a_fact_again_changes_nothing(self):
        """Idempotent by fact id: a replayed result or desktop action is a no-op."""
        store = self.make_store()
        await store.add("acme", "ix-1", [FOUND])
        await store.add("acme", "ix-1", [FOUND, FOUND])
        await store.add("acme", "ix-1", [])
        assert await store.facts("acme", "ix-1") == [FOUND]


class TestInMemoryRelatedRecords(RelatedStoreContract):
    """The twin."""

    def make_store(self):
        return InMemoryRelatedRecords()


@pytest.mark.integration
class TestRedisRelatedRecords(RelatedStoreContract):
    """The Redis adapter on a real redis-server."""

    @pytest.fixture(autouse=True)
    def _redis(self, redis_url, redis_namespace):
        self.redis_url, self.namespace = redis_url, redis_namespace

    def make_store(self):
        return RedisRelatedRecords(redis_client(self.redis_url), Keys(self.namespace))
