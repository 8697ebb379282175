"""One contract for InteractionActivities: the in-memory twin and Redis pass the same tests."""

from __future__ import annotations

import abc
import dataclasses

import pytest

from core.activity_log import (
    ActivityLog,
    CrmChoice,
    InMemoryInteractionActivities,
    InteractionActivities,
)
from core.errors import StoreUnavailable
from projections.redis_activities import RedisInteractionActivities
from tests.contract.redis_backed import RedisBacked
from tests.unit.crm.samples import activity

CALL = activity()
NOTE = dataclasses.replace(activity(), idempotency_key="ix-1:crm:note~d1", kind="note")


class InteractionActivitiesContract(abc.ABC):
    """What every InteractionActivities must do."""

    @abc.abstractmethod
    def make(self, max_items: int = 64) -> InteractionActivities:
        """A fresh, empty store."""

    def unreachable(self) -> InteractionActivities | None:
        """The store with its backend gone, or None for a twin."""
        return None

    async def test_activities_read_back_per_interaction(self):
        """Stored activities come back ordered by slot, only for their interaction."""
        store = self.make()
        await store.put("acme", "ix-1", [NOTE, CALL])
        assert await store.read("acme", "ix-1") == ActivityLog((CALL, NOTE), None)
        assert await store.read("acme", "ix-2") == ActivityLog()
        assert await store.read("beta", "ix-1") == ActivityLog()

    async def test_a_slot_keeps_its_highest_revision(self):
        """A lower revision never replaces a higher one; an equal one does (new content)."""
        store = self.make()
        newer = dataclasses.replace(CALL, revision=CALL.revision + 5, subject="later")
        await store.put("acme", "ix-1", [newer])
        await store.put("acme", "ix-1", [CALL])
        assert (await store.read("acme", "ix-1")).activities == (newer,)
        same = dataclasses.replace(newer, subject="same revision, new text")
        await store.put("acme", "ix-1", [same])
        assert (await store.read("acme", "ix-1")).activities == (same,)

    async def test_one_slot_per_crm(self):
        """The same key written to two CRMs is two activities."""
        store = self.make()
        other = dataclasses.replace(CALL, crm="salesforce")
        await store.put("acme", "ix-1", [CALL, other, other])
        assert len((await store.read("acme", "ix-1")).activities) == 2

    async def test_the_latest_choice_wins_whatever_the_order(self):
        """The choice with the highest (at ms, event id) counts; replays change nothing."""
        store = self.make()
        late, early = CrmChoice("salesforce", 200, "e2"), CrmChoice("hubspot", 100, "e1")
        await store.choose("acme", "ix-1", late)
        await store.choose("acme", "ix-1", early)
        await store.choose("acme", "ix-1", late)
        book = await store.read("acme", "ix-1")
        assert book.choice == late
        assert book.choices == (early, late)  # every choice, oldest first, each once

    async def test_the_count_is_bounded(self):
        """Past the bound new slots are dropped; known slots still update."""
        store = self.make(max_items=2)
        third = dataclasses.replace(CALL, idempotency_key="ix-1:crm:task", kind="task")
        await store.put("acme", "ix-1", [CALL, NOTE, third])
        assert (await store.read("acme", "ix-1")).activities == (CALL, NOTE)
        newer = dataclasses.replace(CALL, revision=CALL.revision + 1)
        await store.put("acme", "ix-1", [newer])
        assert (await store.read("acme", "ix-1")).activities == (newer, NOTE)

    async def test_an_unreachable_store_raises_store_unavailable(self):
        store = self.unreachable()
        if store is None:
            pytest.skip("an in-process twin is always reachable")
        with pytest.raises(StoreUnavailable):
            await store.put("acme", "ix-1", [CALL])
        with pytest.raises(StoreUnavailable):
            await store.read("acme", "ix-1")


class TestInMemoryInteractionActivities(InteractionActivitiesContract):
    """The twin."""

    def make(self, max_items: int = 64) -> InteractionActivities:
        return InMemoryInteractionActivities(max_items)


@pytest.mark.integration
class TestRedisInteractionActivities(RedisBacked, InteractionActivitiesContract):
    """The Redis adapter on a real redis-server."""

    def make(self, max_items: int = 64) -> InteractionActivities:
        return RedisInteractionActivities(self.client(), self.fresh_keys(), 3600, max_items)

    def unreachable(self) -> InteractionActivities:
        return RedisInteractionActivities(self.unreachable_client(), self.fresh_keys(), 3600)
