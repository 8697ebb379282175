"""Screen-pop, contacts and relink use cases end to end on the in-memory twins."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest

from core.layouts import layout_from_dict
from core.profile_schema import config_from_dict
from core.timeline import to_ms
from projections.memory import InMemoryInteractionParties, InMemoryTimelineStore
from projections.memory_profiles import (
    InMemoryInteractionLinks,
    InMemoryPopCache,
    InMemoryProfileDirectory,
)
from projections.profile_timeline import profile_timeline
from schemas import codec
from schemas.records import (
    CrmRecordHint,
    DesktopActionTaken,
    InteractionTransferred,
    ProfileUpserted,
)
from schemas.topics import INTERACTIONS
from streams.bootstrap import build_deps
from streams.contacts import InvalidProfile, handle_profile_upserted
from streams.directory import DirectoryDeps
from streams.pipeline import PartyCache, run_batch
from streams.relink import handle_desktop_action
from streams.settings import StreamSettings
from tests.factories import CALLER, T0, eid, voice_call

SETTINGS = StreamSettings.from_env({"C360_ENV": "dev", "C360_DEFAULT_REGION": "GB"})
NOW = to_ms(T0 + timedelta(hours=1))
SCHEMA = config_from_dict({"tenants": {"acme": {"uniqueness": "shared", "attributes": [
    {"name": "tier", "type": "text"}, {"name": "ltv", "type": "number", "label": "LTV"},
    {"name": "vip", "type": "boolean"}]}}})
LAYOUT = layout_from_dict({"tenants": {"acme": {
    "fields": ["display_name", {"name": "ltv", "label": "Value"}, "vip", "phones"],
    "timeline_limit": 5,
    "suppression": {"directory_numbers": ["+442079460777"]},
}}})


@pytest.fixture
def deps():
    directory = DirectoryDeps(
        SETTINGS, InMemoryProfileDirectory(SCHEMA.policy_for), InMemoryInteractionLinks(),
        InMemoryPopCache(), SCHEMA, LAYOUT,
    )
    return build_deps(SETTINGS, timeline=InMemoryTimelineStore(),
                      parties=InMemoryInteractionParties(), clock_ms=lambda: NOW,
                      directory=directory)


async def upsert(deps, pid, phones=(CALLER,), name=None, at=T0 - timedelta(days=1), **attrs):
    record = ProfileUpserted(eid(), "acme", at, pid, name or pid.title(), tuple(phones), (),
                             {k: str(v) for k, v in attrs.items()}, "csv")
    await handle_profile_upserted(record, deps)


@dataclass
class Msg:
    value: bytes
    key: bytes = b"k"
    topic: str = INTERACTIONS
    partition: int = 0
    offset: int = 0


async def run(events, deps):
    """Every event through the pipeline, each as a batch of its own; returns the pops."""
    pops = []
    for event in events:
        out = await run_batch([Msg(codec.encode(event))], deps, PartyCache())
        assert not out.failures, out.failures
        pops += [o.value for o in out.pops]
    return pops


async def test_unknown_caller_is_not_identified_but_gets_the_identifier_timeline(deps):
    """No profile: status none, the reason says so, the party timeline is still shown."""
    await run(voice_call("ix-0", start=T0 - timedelta(days=3)), deps)
    pops = await run(voice_call("ix-1"), deps)
    pop = pops[0]
    assert (pop.match_status, pop.match_count, pop.profile_id) == ("none", 0, None)
    assert "not identified" in pop.reason
    view = json.loads(pop.view_json)
    assert view["timeline_scope"] == "party"
    assert view["profile"] is None
    assert [i["interaction_id"] for i in view["timeline"]] == ["ix-1", "ix-0"]
    assert view["match"]["source"] == "identifier"


async def test_one_match_shows_profile_fields_in_layout_order(deps):
    """A single profile opens with its fields typed and ordered by the tenant layout."""
    await upsert(deps, "p-alice", name="Alice", ltv="1234.5", vip="yes", tier="gold")
    pop = (await run(voice_call("ix-1"), deps))[0]
    assert (pop.match_status, pop.profile_id, pop.matched_identifier_kind) == (
        "one", "p-alice", "phone")
    view = json.loads(pop.view_json)
    fields = view["profile"]["fields"]
    assert [(f["name"], f["label"], f["value"]) for f in fields] == [
        ("display_name", "Name", "Alice"),
        ("ltv", "Value", 1234.5),
        ("vip", "Vip", True),
        ("phones", "Phones", [CALLER]),
    ]
    assert view["timeline_scope"] == "profile"
    assert view["notes"] == ["insights: not available in this deployment"]


async def test_shared_number_gives_several_candidates(deps):
    """Two profiles on one number: the agent chooses; no profile is opened."""
    await upsert(deps, "p-1", name="One", at=T0 - timedelta(days=2))
    await upsert(deps, "p-2", name="Two")
    pop = (await run(voice_call("ix-1"), deps))[0]
    assert (pop.match_status, pop.match_count, pop.profile_id) == ("several", 2, None)
    assert [c.profile_id for c in pop.candidates] == ["p-2", "p-1"]
    assert json.loads(pop.view_json)["profile"] is None


async def test_routing_plan_hint_beats_the_identifier(deps):
    """A CRM record hint opens that record's profile even though the phone matches another."""
    await upsert(deps, "p-alice")
    await upsert(deps, "sfdc:003HINT", phones=(), name="Hinted")
    call = voice_call("ix-1")
    call[1] = type(call[1])(**{**{f: getattr(call[1], f) for f in call[1].__slots__},
                               "crm_record_hint": CrmRecordHint("sfdc", "Contact", "003HINT")})
    pop = (await run(call, deps))[0]
    assert (pop.match_status, pop.profile_id) == ("hint", "sfdc:003HINT")
    assert json.loads(pop.view_json)["match"]["hint"]["record_id"] == "003HINT"


async def test_ivr_entry_prewarms_so_the_agent_pop_is_a_cache_hit(deps):
    """The queued offer computes the panel; the ringing leg's pop reuses it."""
    await upsert(deps, "p-alice")
    pops = await run(voice_call("ix-1"), deps)
    metrics = deps.directory.metrics
    assert metrics.prewarmed == 1
    assert (metrics.prewarm_hits, metrics.prewarm_misses) == (2, 0)  # ringing and accepted
    assert json.loads(pops[0].view_json)["prewarmed"] is True
    assert metrics.latency_count == len(pops)
    assert "c360_screen_pop_latency_ms_count" in metrics.prometheus()


async def test_suppressed_decisions_are_recorded_with_the_reason(deps):
    """A directory number rings an agent: a suppressed pop explains why nothing opened."""
    await upsert(deps, "p-supplier", phones=("+442079460777",))
    pops = await run(voice_call("ix-1", caller="+442079460777"), deps)
    assert pops and all(p.suppressed and p.suppression_reason == "directory" for p in pops)
    view = json.loads(pops[0].view_json)
    assert view["suppressed"] is True
    assert "profile" not in view
    assert deps.directory.metrics.suppressed["directory"] == len(pops)


async def _profile_ids_of_timeline(deps, pid):
    d = deps.directory
    entries = await profile_timeline(d.profiles, d.links, deps.timeline, "acme", pid, ["voice"],
                                     NOW, 10)
    return [e.interaction_id for e in entries]


def relink(iid, pid, at, agent="agent-1", action="relink"):
    return DesktopActionTaken(eid(), "acme", at, agent, iid, action, profile_id=pid)


async def test_relink_moves_the_interaction_and_relinking_back_reverts(deps):
    """The profile opened last owns the interaction; both timelines follow, and revert."""
    await upsert(deps, "p-alice")
    await upsert(deps, "p-bob", phones=("+442079460456",))
    await run(voice_call("ix-1"), deps)
    assert await _profile_ids_of_timeline(deps, "p-alice") == ["ix-1"]
    out = await handle_desktop_action(relink("ix-1", "p-bob", T0 + timedelta(minutes=1)), deps)
    assert [o.value.profile_id for o in out] == ["p-bob", "p-bob"]  # the call activity, the pop
    assert json.loads(out[-1].value.view_json)["match"]["source"] == "link"
    assert await _profile_ids_of_timeline(deps, "p-alice") == []
    assert await _profile_ids_of_timeline(deps, "p-bob") == ["ix-1"]
    await handle_desktop_action(relink("ix-1", "p-alice", T0 + timedelta(minutes=2),
                                       action="open_profile"), deps)
    assert await _profile_ids_of_timeline(deps, "p-alice") == ["ix-1"]
    assert await _profile_ids_of_timeline(deps, "p-bob") == []


async def test_a_transfer_carries_the_link_to_the_next_agents_pop(deps):
    """After agent 1 relinks, agent 2's pop on transfer opens the relinked profile."""
    await upsert(deps, "p-alice")
    await upsert(deps, "p-bob", phones=("+442079460456",))
    call = voice_call("ix-1")
    await run(call[:3], deps)
    await handle_desktop_action(relink("ix-1", "p-bob", T0 + timedelta(seconds=20)), deps)
    transfer = InteractionTransferred(eid(), "acme", T0 + timedelta(seconds=40), "ix-1", "voice",
                                      "blind", from_agent_id="agent-1", to_agent_id="agent-2",
                                      leg_id="ix-1-a2", customer_address=CALLER)
    pops = await run([transfer], deps)
    assert [(p.agent_id, p.match_status, p.profile_id) for p in pops] == [
        ("agent-2", "one", "p-bob")]
    assert "agent agent-1" in pops[0].reason


async def test_late_system_pop_never_undoes_an_agent_relink(deps):
    """Agent actions outrank pop links whatever the processing order."""
    await upsert(deps, "p-alice")
    await upsert(deps, "p-bob", phones=("+442079460456",))
    call = voice_call("ix-1")
    await run(call[:1], deps)  # party known, nothing popped yet
    await handle_desktop_action(relink("ix-1", "p-bob", T0 - timedelta(minutes=5)), deps)
    pops = await run(call[1:3], deps)
    assert {p.profile_id for p in pops} == {"p-bob"}


async def test_profiles_with_unsafe_ids_are_rejected():
    """Profile ids must be safe in keys and not be an email address."""
    deps = build_deps(SETTINGS, timeline=InMemoryTimelineStore(),
                      parties=InMemoryInteractionParties(),
                      directory=DirectoryDeps(SETTINGS, InMemoryProfileDirectory(),
                                              InMemoryInteractionLinks(), InMemoryPopCache()))
    for bad in ("a@b.com", "", "x{y}", "has space"):
        record = ProfileUpserted(eid(), "acme", T0, bad)
        with pytest.raises(InvalidProfile):
            await handle_profile_upserted(record, deps)


async def test_a_pop_carries_its_ring_time_apart_from_its_render_time(deps):
    """rang_at is the trigger event's time; occurred_at is never before the render (NOW)."""
    start = T0 + timedelta(minutes=10)  # rendered 50 minutes later (NOW = T0 + 1 h)
    events = voice_call("ix-ring", start=start)
    pops = await run(events, deps)
    assert pops, "no pop"
    trigger = {e.event_id: e for e in events}
    for pop in pops:
        assert pop.rang_at == trigger[pop.trigger_event_id].occurred_at
        assert to_ms(pop.occurred_at) == NOW
        assert pop.rang_at < pop.occurred_at
