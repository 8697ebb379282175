"""One contract for InteractionLinks: the in-memory twin and Redis pass the same tests."""

from __future__ import annotations

import abc

import pytest

from core.errors import StoreUnavailable
from core.links import LinkAction, LinkMark, current_link
from core.ports import InteractionLinks
from projections.memory_profiles import InMemoryInteractionLinks
from projections.redis_links import RedisInteractionLinks
from tests.contract.redis_backed import RedisBacked

SYS_A = LinkAction("e1", 100, "pa", "system", None, "screen_pop")
AGENT_B = LinkAction("e2", 50, "pb", "agent", "ag-1", "relink")
AGENT_A = LinkAction("e3", 200, "pa", "agent", "ag-1", "open_profile")


class InteractionLinksContract(abc.ABC):
    """What every InteractionLinks must do."""

    @abc.abstractmethod
    def make(self) -> InteractionLinks:
        """A fresh, empty store."""

    def unreachable(self) -> InteractionLinks | None:
        """The store with its backend gone, or None when it cannot be (a twin)."""
        return None

    async def test_actions_accumulate_and_the_last_agent_action_wins(self) -> None:
        """Recording is idempotent by event id; precedence is agent > system, then time."""
        links = self.make()
        await links.record("acme", "ix-1", "tok", SYS_A)
        got = await links.record("acme", "ix-1", None, AGENT_B)
        assert current_link(got).profile_id == "pb"
        await links.record("acme", "ix-1", None, AGENT_B)
        got = await links.record("acme", "ix-1", None, AGENT_A)
        assert len(got) == 3
        assert current_link(got) == AGENT_A
        assert await links.actions("acme", "ix-1") == got
        assert await links.token_of("acme", "ix-1") == "tok"
        assert await links.actions("acme", "ix-2") == []
        assert await links.token_of("acme", "ix-2") is None

    async def test_actions_do_not_depend_on_arrival_order(self) -> None:
        """Any order (with repeats) of the same actions reads back the same, by event id."""
        first, second = self.make(), self.make()
        for action in (SYS_A, AGENT_B, AGENT_A):
            await first.record("acme", "ix-1", "tok", action)
        for action in (AGENT_A, SYS_A, AGENT_A, AGENT_B, SYS_A):
            await second.record("acme", "ix-1", "tok", action)
        assert await first.actions("acme", "ix-1") == [SYS_A, AGENT_B, AGENT_A]
        assert await second.actions("acme", "ix-1") == [SYS_A, AGENT_B, AGENT_A]

    async def test_a_later_token_replaces_and_none_keeps_it(self) -> None:
        links = self.make()
        await links.record("acme", "ix-1", "tok-1", SYS_A)
        await links.record("acme", "ix-1", None, AGENT_B)
        assert await links.token_of("acme", "ix-1") == "tok-1"
        await links.record("acme", "ix-1", "tok-2", AGENT_A)
        assert await links.token_of("acme", "ix-1") == "tok-2"

    async def test_tenants_and_interactions_are_isolated(self) -> None:
        links = self.make()
        await links.record("acme", "ix-1", "tok", SYS_A)
        await links.mark("acme", "pa", LinkMark("ix-1", "in", "tok"))
        assert await links.actions("beta", "ix-1") == []
        assert await links.token_of("beta", "ix-1") is None
        assert await links.marks("beta", "pa") == []

    async def test_marks_flip(self) -> None:
        """A profile's mark of an interaction is replaced, not duplicated; by interaction id."""
        links = self.make()
        await links.mark("acme", "pa", LinkMark("ix-1", "in", "tok"))
        await links.mark("acme", "pa", LinkMark("ix-1", "out", "tok"))
        await links.mark("acme", "pa", LinkMark("ix-0", "in", "tok2"))
        await links.mark("acme", "pa", LinkMark("ix-0", "in", "tok2"))
        assert await links.marks("acme", "pa") == [
            LinkMark("ix-0", "in", "tok2"),
            LinkMark("ix-1", "out", "tok"),
        ]
        assert await links.marks("acme", "pb") == []

    async def test_an_unreachable_store_raises_store_unavailable(self) -> None:
        links = self.unreachable()
        if links is None:
            pytest.skip("an in-process twin is always reachable")
        calls = [
            lambda: links.record("acme", "ix-1", "tok", SYS_A),
            lambda: links.actions("acme", "ix-1"),
            lambda: links.token_of("acme", "ix-1"),
            lambda: links.mark("acme", "pa", LinkMark("ix-1", "in", "tok")),
            lambda: links.marks("acme", "pa"),
        ]
        for call in calls:
            with pytest.raises(StoreUnavailable):
                await call()


class TestInMemoryInteractionLinks(InteractionLinksContract):
    """The twin."""

    def make(self) -> InteractionLinks:
        return InMemoryInteractionLinks()


@pytest.mark.integration
class TestRedisInteractionLinks(RedisBacked, InteractionLinksContract):
    """The Redis adapter on a real redis-server."""

    def make(self) -> InteractionLinks:
        return RedisInteractionLinks(self.client(), self.fresh_keys())

    def unreachable(self) -> InteractionLinks:
        return RedisInteractionLinks(self.unreachable_client(), self.fresh_keys())

    async def test_actions_expire_with_the_interaction(self) -> None:
        """Redis only: the actions hash carries the TTL, refreshed by each record."""
        keys = self.fresh_keys()
        await RedisInteractionLinks(self.client(), keys, ttl_seconds=600).record(
            "acme", "ix-1", "tok", SYS_A
        )
        assert 0 < await self.client().ttl(keys.interaction_link("acme", "ix-1")) <= 600
