"""One contract for ProfileSearchIndex: the in-memory twin and Redis pass the same tests."""

from __future__ import annotations

import abc

import pytest

from core.errors import StoreUnavailable
from core.ports import ProfileSearchIndex
from core.profile_schema import AttributeSpec, TenantSchema
from core.profile_search import index_terms, plan_query
from core.profiles import Profile
from projections.memory_profile_search import InMemoryProfileSearchIndex
from projections.redis_profile_search import RedisProfileSearchIndex
from tests.contract.redis_backed import RedisBacked

PEPPER = b"contract-pepper"
SCHEMA = TenantSchema((AttributeSpec("tier", "text"), AttributeSpec("tags", "list")))


def prof(pid: str, ms: int, name: str | None, deleted: bool = False, **attrs: str) -> Profile:
    return Profile("t1", pid, (ms, f"e{ms}"), name, (), dict(attrs), "api", deleted)


def groups(q: str) -> tuple[tuple[str, ...], ...]:
    return plan_query(q, "t1", PEPPER, "US", SCHEMA).groups


class ProfileSearchIndexContract(abc.ABC):
    """Behaviour every ProfileSearchIndex must have."""

    @abc.abstractmethod
    def make(self) -> ProfileSearchIndex:
        """A fresh, empty index."""

    def unreachable(self) -> ProfileSearchIndex | None:
        """The index with its backend gone, or None for a twin."""
        return None

    async def put(self, index: ProfileSearchIndex, profile: Profile) -> bool:
        terms = index_terms(profile, PEPPER)
        return await index.replace(profile.tenant_id, profile.profile_id, profile.stamp, terms)

    async def test_name_prefix_any_word_case_insensitive(self) -> None:
        """Each query word must start a word of the name; case does not matter."""
        index = self.make()
        await self.put(index, prof("p1", 10, "Alice Smith"))
        await self.put(index, prof("p2", 10, "Bob Smithers"))
        assert await index.search("t1", groups("smi"), 20) == ["p1", "p2"]
        assert await index.search("t1", groups("ALI smi"), 20) == ["p1"]
        assert await index.search("t1", groups("lice"), 20) == []
        assert await index.search("t2", groups("smi"), 20) == []

    async def test_attribute_values(self) -> None:
        """`name:value` finds that attribute's value; a bare value any attribute's."""
        index = self.make()
        await self.put(index, prof("p1", 10, "Alice", tier="Gold", tags='["vip","eu"]'))
        await self.put(index, prof("p2", 10, "Bob", tier="silver"))
        assert await index.search("t1", groups("tier:gold"), 20) == ["p1"]
        assert await index.search("t1", groups("gold"), 20) == ["p1"]
        assert await index.search("t1", groups("tags:vip"), 20) == ["p1"]
        assert await index.search("t1", groups("tier:vip"), 20) == []

    async def test_replace_removes_stale_terms_and_refuses_older(self) -> None:
        """A new state drops the old terms; an older stamp changes nothing; deletion empties."""
        index = self.make()
        await self.put(index, prof("p1", 10, "Alice Smith"))
        assert await self.put(index, prof("p1", 20, "Carol Smith"))
        assert await index.search("t1", groups("alice"), 20) == []
        assert await index.search("t1", groups("carol"), 20) == ["p1"]
        assert not await self.put(index, prof("p1", 15, "Alice Smith"))
        assert await index.search("t1", groups("alice"), 20) == []
        assert await self.put(index, prof("p1", 20, "Carol Smith"))  # a redelivery: same
        assert await self.put(index, prof("p1", 30, "Carol Smith", deleted=True))
        assert await index.search("t1", groups("carol"), 20) == []
        assert not await self.put(index, prof("p1", 25, "Carol Smith"))

    async def test_results_are_bounded(self) -> None:
        """At most `limit` ids, in a stable order."""
        index = self.make()
        for n in range(30):
            await self.put(index, prof(f"p{n:02d}", 10, f"Dana {n}"))
        found = await index.search("t1", groups("dana"), 20)
        assert found == [f"p{n:02d}" for n in range(20)]

    async def test_unreachable_backend_is_store_unavailable(self) -> None:
        """A store that cannot be reached raises StoreUnavailable."""
        index = self.unreachable()
        if index is None:
            pytest.skip("a twin has no backend")
        with pytest.raises(StoreUnavailable):
            await index.search("t1", groups("dana"), 20)


class TestInMemoryProfileSearchIndex(ProfileSearchIndexContract):
    """The twin."""

    def make(self) -> ProfileSearchIndex:
        return InMemoryProfileSearchIndex()


@pytest.mark.integration
class TestRedisProfileSearchIndex(RedisBacked, ProfileSearchIndexContract):
    """The Redis adapter on a real redis-server."""

    def make(self) -> ProfileSearchIndex:
        return RedisProfileSearchIndex(self.client(), self.fresh_keys())

    def unreachable(self) -> ProfileSearchIndex:
        return RedisProfileSearchIndex(self.unreachable_client(), self.fresh_keys())
