"""One contract for ProfileDirectory: the in-memory twin and Redis pass the same tests."""

from __future__ import annotations

import abc
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import StoreUnavailable
from core.ports import ProfileDirectory
from core.profile_schema import SHARED, UNIQUE_PHONE
from core.profiles import Profile, ProfileIdentifier
from projections.memory_profiles import InMemoryProfileDirectory
from projections.redis_profiles import RedisProfileDirectory
from tests.contract.redis_backed import RedisBacked

POLICY = {"uniq": UNIQUE_PHONE, "shr": SHARED}.get


def prof(tenant, pid, ms, phones=(), emails=(), deleted=False, name=None, eid=None):
    """A profile whose tokens are readable stand-ins ('ph:<n>', 'em:<e>')."""
    ids = tuple(ProfileIdentifier("phone", p, f"ph:{p}") for p in phones) + tuple(
        ProfileIdentifier("email", e, f"em:{e}") for e in emails
    )
    return Profile(
        tenant,
        pid,
        (ms, eid or f"e{ms:04d}{pid}"),
        name or pid.upper(),
        ids,
        {"tier": "gold"},
        "csv",
        deleted,
    )


class ProfileDirectoryContract(abc.ABC):
    """Behaviour every ProfileDirectory must have."""

    @abc.abstractmethod
    async def make(self, policy_for: Callable[[str], str]) -> ProfileDirectory:
        """A fresh, empty directory with this uniqueness policy per tenant."""

    def unreachable(self) -> ProfileDirectory | None:
        """The directory with its backend gone, or None when it cannot be (a twin)."""
        return None

    async def test_created_updated_unchanged_stale(self):
        """Status follows the stored stamp; older states never overwrite newer ones."""
        d = await self.make(POLICY)
        assert (await d.upsert(prof("shr", "p1", 10, ["+1"]))).status == "created"
        assert (await d.upsert(prof("shr", "p1", 20, ["+2"]))).status == "updated"
        assert (await d.upsert(prof("shr", "p1", 20, ["+2"]))).status == "unchanged"
        assert (await d.upsert(prof("shr", "p1", 15, ["+3"]))).status == "stale"
        got = await d.get("shr", "p1")
        assert got == prof("shr", "p1", 20, ["+2"])
        assert await d.lookup("shr", "ph:+1") == []
        assert await d.lookup("shr", "ph:+2") == ["p1"]
        assert await d.lookup("shr", "ph:+3") == []

    async def test_shared_policy_matches_every_claimant_newest_first(self):
        """Under 'shared allowed' one phone resolves to several profiles."""
        d = await self.make(POLICY)
        await d.upsert(prof("shr", "p1", 10, ["+1"]))
        await d.upsert(prof("shr", "p2", 30, ["+1"]))
        await d.upsert(prof("shr", "p3", 20, ["+1"]))
        assert await d.lookup("shr", "ph:+1") == ["p2", "p3", "p1"]
        assert await d.tokens_of("shr", "p1") == ["ph:+1"]
        assert await d.ownership_log("shr", "ph:+1") == []

    async def test_unique_phone_newer_profile_takes_it_and_the_change_is_recorded(self):
        """Under 'unique phone' the newer profile owns the phone; the move is audited."""
        d = await self.make(POLICY)
        await d.upsert(prof("uniq", "p1", 10, ["+1"], ["a@x.io"]))
        result = await d.upsert(prof("uniq", "p2", 20, ["+1"], ["a@x.io"]))
        assert await d.lookup("uniq", "ph:+1") == ["p2"]
        assert await d.tokens_of("uniq", "p1") == ["em:a@x.io"]
        assert sorted(await d.tokens_of("uniq", "p2")) == ["em:a@x.io", "ph:+1"]
        # Emails are never exclusive.
        assert await d.lookup("uniq", "em:a@x.io") == ["p2", "p1"]
        [change] = result.changes
        assert (change.token, change.previous, change.current) == ("ph:+1", "p1", "p2")
        [logged] = await d.ownership_log("uniq", "ph:+1")
        assert logged == change

    async def test_an_older_claim_does_not_take_the_phone(self):
        """A late-arriving older profile state loses to the current owner."""
        d = await self.make(POLICY)
        await d.upsert(prof("uniq", "p2", 20, ["+1"]))
        result = await d.upsert(prof("uniq", "p1", 10, ["+1"]))
        assert result.status == "created"
        assert result.changes == ()
        assert await d.lookup("uniq", "ph:+1") == ["p2"]
        assert await d.tokens_of("uniq", "p1") == []

    async def test_phone_returns_to_the_previous_claimant_when_the_owner_drops_it(self):
        """Dropping or deleting the owner gives the phone back; both moves are audited."""
        d = await self.make(POLICY)
        await d.upsert(prof("uniq", "p1", 10, ["+1"]))
        await d.upsert(prof("uniq", "p2", 20, ["+1"]))
        result = await d.upsert(prof("uniq", "p2", 30, ["+9"]))
        assert await d.lookup("uniq", "ph:+1") == ["p1"]
        assert [(c.previous, c.current) for c in result.changes] == [("p2", "p1")]
        log = await d.ownership_log("uniq", "ph:+1")
        assert [(c.previous, c.current) for c in log] == [("p2", "p1"), ("p1", "p2")]

    async def test_delete_releases_identifiers_and_blocks_older_states(self):
        """A tombstone hides the profile and its identifiers; older upserts stay stale."""
        d = await self.make(POLICY)
        await d.upsert(prof("shr", "p1", 10, ["+1"]))
        await d.upsert(prof("shr", "p1", 20, deleted=True))
        assert await d.get("shr", "p1") is None
        assert await d.lookup("shr", "ph:+1") == []
        assert await d.known("shr", ["p1"]) == set()
        assert (await d.upsert(prof("shr", "p1", 15, ["+1"]))).status == "stale"
        assert (await d.upsert(prof("shr", "p1", 25, ["+1"]))).status == "created"
        assert await d.lookup("shr", "ph:+1") == ["p1"]

    async def test_known_and_get_many_in_one_batch(self):
        """The import asks about many ids at once."""
        d = await self.make(POLICY)
        for n in range(5):
            await d.upsert(prof("shr", f"p{n}", 10))
        ids = [f"p{n}" for n in range(8)]
        assert await d.known("shr", ids) == {f"p{n}" for n in range(5)}
        assert sorted(await d.get_many("shr", ids)) == [f"p{n}" for n in range(5)]
        assert await d.get_many("shr", []) == {}

    async def test_tenants_are_isolated(self):
        """The same phone token in another tenant is another identifier."""
        d = await self.make(POLICY)
        await d.upsert(prof("shr", "p1", 10, ["+1"]))
        assert await d.lookup("uniq", "ph:+1") == []
        assert await d.get("uniq", "p1") is None

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["p1", "p2", "p3"]),
                st.integers(1, 6),
                st.sets(st.sampled_from(["+1", "+2", "+3"])),
                st.booleans(),
            ),
            min_size=1,
            max_size=10,
        ),
        st.randoms(),
    )
    async def test_lookups_depend_on_the_set_of_upserts_not_their_order(self, ops, rnd):
        """Any permutation (with duplicates) of the same upserts gives the same answers."""
        states = [
            prof("uniq", pid, ms, sorted(ph), deleted=dl and ms > 4, eid=f"e{n:02d}")
            for n, (pid, ms, ph, dl) in enumerate(ops)
        ]
        a, b = await self.make(POLICY), await self.make(POLICY)
        for s in states:
            await a.upsert(s)
        shuffled = states + rnd.sample(states, k=len(states) // 2)
        rnd.shuffle(shuffled)
        for s in shuffled:
            await b.upsert(s)
        for token in ("ph:+1", "ph:+2", "ph:+3"):
            assert await a.lookup("uniq", token) == await b.lookup("uniq", token)
        for pid in ("p1", "p2", "p3"):
            assert await a.get("uniq", pid) == await b.get("uniq", pid)

    async def test_an_unreachable_directory_raises_store_unavailable(self) -> None:
        """Writes and reads alike: StoreUnavailable (transient: retried in place)."""
        d = self.unreachable()
        if d is None:
            pytest.skip("an in-process twin is always reachable")
        calls = [
            lambda: d.upsert(prof("shr", "p1", 10, ["+1"])),
            lambda: d.get("shr", "p1"),
            lambda: d.get_many("shr", ["p1"]),
            lambda: d.known("shr", ["p1"]),
            lambda: d.lookup("shr", "ph:+1"),
            lambda: d.lookup_many("shr", ["ph:+1"]),
            lambda: d.tokens_of("shr", "p1"),
            lambda: d.ownership_log("shr", "ph:+1"),
        ]
        for call in calls:
            with pytest.raises(StoreUnavailable):
                await call()


class TestInMemoryProfileDirectory(ProfileDirectoryContract):
    """The twin."""

    async def make(self, policy_for: Callable[[str], str]) -> ProfileDirectory:
        return InMemoryProfileDirectory(policy_for)


@pytest.mark.integration
class TestRedisProfileDirectory(RedisBacked, ProfileDirectoryContract):
    """The Redis adapter on a real redis-server."""

    async def make(self, policy_for: Callable[[str], str]) -> ProfileDirectory:
        return RedisProfileDirectory(self.client(), self.fresh_keys(), policy_for)

    def unreachable(self) -> ProfileDirectory:
        return RedisProfileDirectory(self.unreachable_client(), self.fresh_keys(), POLICY)
