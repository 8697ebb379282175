"""Contract suites for the profile directory, links and pop cache: twin and Redis alike."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from c360 import contacts_import
from core.links import LinkAction, LinkMark, current_link
from core.profile_schema import SHARED, UNIQUE_PHONE
from core.profiles import Profile, ProfileIdentifier
from core.timeline import Retention
from infra.kafka_producer import make_producer, produce_all
from projections.keys import Keys
from projections.memory_profiles import (
    InMemoryInteractionLinks,
    InMemoryPopCache,
    InMemoryProfileDirectory,
)
from projections.profile_timeline import profile_timeline
from projections.redis_client import redis_client
from projections.redis_links import RedisInteractionLinks, RedisPopCache
from projections.redis_profiles import RedisProfileDirectory
from projections.redis_timeline import RedisTimelineStore
from schemas.records import DesktopActionTaken, ScreenPopRequested
from schemas.topics import DESKTOP, INTERACTIONS, SCREENPOPS
from tests.factories import eid, voice_call
from tests.integration.stack import running_stack

POLICY = {"uniq": UNIQUE_PHONE, "shr": SHARED}.get


def prof(tenant, pid, ms, phones=(), emails=(), deleted=False, name=None, eid=None):
    """A profile whose tokens are readable stand-ins ('ph:<n>', 'em:<e>')."""
    ids = tuple(ProfileIdentifier("phone", p, f"ph:{p}") for p in phones) + tuple(
        ProfileIdentifier("email", e, f"em:{e}") for e in emails
    )
    return Profile(tenant, pid, (ms, eid or f"e{ms:04d}{pid}"), name or pid.upper(), ids,
                   {"tier": "gold"}, "csv", deleted)


class ProfileDirectoryContract:
    """Behaviour every ProfileDirectory must have."""

    async def make(self, policy_for):  # pragma: no cover - overridden
        raise NotImplementedError

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

    @settings(max_examples=15, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.differing_executors])
    @given(
        st.lists(
            st.tuples(st.sampled_from(["p1", "p2", "p3"]), st.integers(1, 6),
                      st.sets(st.sampled_from(["+1", "+2", "+3"])), st.booleans()),
            min_size=1, max_size=10,
        ),
        st.randoms(),
    )
    async def test_lookups_depend_on_the_set_of_upserts_not_their_order(self, ops, rnd):
        """Any permutation (with duplicates) of the same upserts gives the same answers."""
        states = [prof("uniq", pid, ms, sorted(ph), deleted=dl and ms > 4, eid=f"e{n:02d}")
                  for n, (pid, ms, ph, dl) in enumerate(ops)]
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


class LinksContract:
    """Behaviour every InteractionLinks and PopCache must have."""

    async def make(self):  # pragma: no cover - overridden
        raise NotImplementedError

    async def test_actions_accumulate_and_the_last_agent_action_wins(self):
        """Recording is idempotent by event id; precedence is agent > system, then time."""
        links, _ = await self.make()
        sys_a = LinkAction("e1", 100, "pa", "system", None, "screen_pop")
        agent_b = LinkAction("e2", 50, "pb", "agent", "ag-1", "relink")
        agent_a = LinkAction("e3", 200, "pa", "agent", "ag-1", "open_profile")
        await links.record("acme", "ix-1", "tok", sys_a)
        got = await links.record("acme", "ix-1", None, agent_b)
        assert current_link(got).profile_id == "pb"
        await links.record("acme", "ix-1", None, agent_b)
        got = await links.record("acme", "ix-1", None, agent_a)
        assert len(got) == 3
        assert current_link(got) == agent_a
        assert await links.actions("acme", "ix-1") == got
        assert await links.token_of("acme", "ix-1") == "tok"
        assert await links.actions("acme", "ix-2") == []
        assert await links.token_of("acme", "ix-2") is None

    async def test_marks_flip(self):
        """A profile's mark of an interaction is replaced, not duplicated."""
        links, _ = await self.make()
        await links.mark("acme", "pa", LinkMark("ix-1", "in", "tok"))
        await links.mark("acme", "pa", LinkMark("ix-1", "out", "tok"))
        await links.mark("acme", "pa", LinkMark("ix-0", "in", "tok2"))
        assert await links.marks("acme", "pa") == [
            LinkMark("ix-0", "in", "tok2"), LinkMark("ix-1", "out", "tok")
        ]
        assert await links.marks("acme", "pb") == []

    async def test_pop_cache_round_trip(self):
        """A pre-warmed pop reads back until replaced."""
        _, cache = await self.make()
        assert await cache.get("acme", "ix-1") is None
        await cache.put("acme", "ix-1", '{"v":1}', 60)
        await cache.put("acme", "ix-1", '{"v":2}', 60)
        assert await cache.get("acme", "ix-1") == '{"v":2}'


class TestInMemoryProfileDirectory(ProfileDirectoryContract):
    """The twin."""

    async def make(self, policy_for):
        return InMemoryProfileDirectory(policy_for)


class TestInMemoryLinks(LinksContract):
    """The twins."""

    async def make(self):
        return InMemoryInteractionLinks(), InMemoryPopCache()


@pytest.mark.integration
class TestRedisProfileDirectory(ProfileDirectoryContract):
    """The Redis adapter on a real redis-server."""

    @pytest.fixture(autouse=True)
    def _redis(self, redis_url):
        self.redis_url = redis_url

    async def make(self, policy_for):
        keys = Keys(f"c360t{uuid.uuid4().hex[:12]}")
        return RedisProfileDirectory(redis_client(self.redis_url), keys, policy_for)


@pytest.mark.integration
class TestRedisLinks(LinksContract):
    """The Redis adapters on a real redis-server."""

    @pytest.fixture(autouse=True)
    def _redis(self, redis_url):
        self.redis_url = redis_url

    async def make(self):
        client, keys = redis_client(self.redis_url), Keys(f"c360t{uuid.uuid4().hex[:12]}")
        return RedisInteractionLinks(client, keys), RedisPopCache(client, keys)


# --- The live path: import -> contacts agent -> pop with the profile -> relink -------------

STACK_SCHEMA = {"tenants": {}, "default": {"uniqueness": "unique_phone", "attributes": [
    {"name": "tier", "type": "text"}]}}
STACK_LAYOUT = {"default": {"fields": ["display_name", "tier", "phones"], "timeline_limit": 5}}


@pytest.fixture(scope="module")
def identity_stack(kafka_bootstrap, redis_url, tmp_path_factory):
    """The streams worker with a profile schema and layout, on a private prefix/namespace."""
    base = tmp_path_factory.mktemp("identity")
    (base / "schema.json").write_text(json.dumps(STACK_SCHEMA))
    (base / "layout.json").write_text(json.dumps(STACK_LAYOUT))
    with running_stack(kafka_bootstrap, redis_url, base,
                       C360_PROFILE_SCHEMA_FILE=str(base / "schema.json"),
                       C360_LAYOUT_FILE=str(base / "layout.json")) as stack:
        stack["namespace"] = f"c360t{stack['prefix'][:-1]}"
        stack["redis_url"] = redis_url
        stack["schema"] = str(base / "schema.json")
        yield stack


def _pops(consume_until, stack, tenant, predicate):
    """The tenant's screen pops, read from the start until `predicate(pops)` holds."""
    from schemas import codec  # noqa: PLC0415 - the Avro codec module may land later

    def mine(received):
        pops = (codec.decode(r.value) for r in received)
        return [p for p in pops if isinstance(p, ScreenPopRequested) and p.tenant_id == tenant]

    received = consume_until(stack["prefix"] + SCREENPOPS, lambda rs: predicate(mine(rs)), 90)
    return mine(received)


@pytest.mark.integration
def test_imported_profiles_pop_and_relinks_move_the_interaction(
    identity_stack, tmp_path, monkeypatch, consume_until
):
    """CSV import -> worker applies it -> a call pops the profile by layout -> the agent
    relinks -> the next pop and both profile timelines follow."""
    from schemas import codec  # noqa: PLC0415 - the Avro codec module may land later

    stack = identity_stack
    tenant = f"t{uuid.uuid4().hex[:6]}"
    for name, value in {"C360_ENV": "dev", "C360_DEFAULT_REGION": "GB",
                        "C360_KAFKA_BOOTSTRAP_SERVERS": stack["bootstrap"],
                        "C360_TOPIC_PREFIX": stack["prefix"], "C360_REDIS_URL": stack["redis_url"],
                        "C360_KEY_NAMESPACE": stack["namespace"]}.items():
        monkeypatch.setenv(name, value)
    csv_path = tmp_path / "people.csv"
    csv_path.write_text("profile_id,name,phone,tier\n"
                        "p-alice,Alice,020 7946 0123,gold\n"
                        "p-bob,Bob,020 7946 0456,silver\n")
    report = tmp_path / "report.json"
    assert contacts_import.main([str(csv_path), "--tenant", tenant, "--schema", stack["schema"],
                                 "--report", str(report), "--wait", "60"]) == 0
    assert json.loads(report.read_text())["applied"] == 2

    start = datetime.now(tz=UTC) - timedelta(minutes=10)
    call = voice_call("ix-1", tenant=tenant, start=start, agent="agent-9", caller="+442079460123")
    produce_all(make_producer(stack["bootstrap"]), stack["prefix"] + INTERACTIONS,
                [(b"ix-1", codec.encode(e)) for e in call[:3]])
    pops = _pops(consume_until, stack, tenant, lambda ps: len(ps) >= 2)
    ringing = pops[0]
    assert (ringing.match_status, ringing.profile_id, ringing.agent_id) == (
        "one", "p-alice", "agent-9")
    view = json.loads(ringing.view_json)
    assert [(f["name"], f["value"]) for f in view["profile"]["fields"]] == [
        ("display_name", "Alice"), ("tier", "gold"), ("phones", ["+442079460123"])]
    assert view["prewarmed"] is True
    assert view["timeline"][0]["interaction_id"] == "ix-1"

    relink = DesktopActionTaken(eid(), tenant, start + timedelta(seconds=30), "agent-9", "ix-1",
                                "relink", profile_id="p-bob")
    produce_all(make_producer(stack["bootstrap"]), stack["prefix"] + DESKTOP,
                [(b"ix-1", codec.encode(relink))])
    pops = _pops(consume_until, stack, tenant, lambda ps: any(p.trigger_event_id == relink.event_id
                                               for p in ps))
    moved = next(p for p in pops if p.trigger_event_id == relink.event_id)
    assert (moved.match_status, moved.profile_id) == ("one", "p-bob")

    async def timelines():
        client = redis_client(stack["redis_url"])
        keys = Keys(stack["namespace"])
        store = RedisTimelineStore(client, keys, Retention())
        directory = RedisProfileDirectory(client, keys)
        links = RedisInteractionLinks(client, keys)
        now = int(datetime.now(tz=UTC).timestamp() * 1000)
        out = {}
        for pid in ("p-alice", "p-bob"):
            entries = await profile_timeline(directory, links, store, tenant, pid, ["voice"],
                                             now, 10)
            out[pid] = [e.interaction_id for e in entries]
        await client.aclose()
        return out

    assert asyncio.run(timelines()) == {"p-alice": [], "p-bob": ["ix-1"]}
