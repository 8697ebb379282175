"""Per-event cases of the pipeline on in-memory twins: park/re-key, timeline, pops, activities.

Each event runs as a batch of its own (as a quiet worker sees it); streams/pipeline.py is the
only path canonical events take (test_pipeline.py covers how batches are cut)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from core.errors import InvalidIdentifier
from core.timeline import to_ms
from projections.memory import InMemoryInteractionParties, InMemoryTimelineStore
from schemas import codec
from schemas.records import (
    ActivityRequested,
    InteractionAccepted,
    InteractionWrappedUp,
    PartyInteraction,
    ScreenPopRequested,
)
from schemas.topics import ACTIVITIES_REQUESTED, INTERACTIONS, INTERACTIONS_BY_PARTY, SCREENPOPS
from streams.bootstrap import build_deps
from streams.pipeline import PartyCache, run_batch
from streams.settings import StreamSettings
from tests.factories import CALLER, T0, eid, voice_call

SETTINGS = StreamSettings.from_env({"C360_ENV": "dev", "C360_DEFAULT_REGION": "GB"})


@pytest.fixture
def deps():
    return build_deps(
        SETTINGS,
        timeline=InMemoryTimelineStore(),
        parties=InMemoryInteractionParties(),
        clock_ms=lambda: to_ms(T0 + timedelta(hours=1)),
    )


@dataclass
class Msg:
    value: bytes
    key: bytes = b"k"
    topic: str = INTERACTIONS
    partition: int = 0
    offset: int = 0


@pytest.fixture
def cache():
    return PartyCache()


async def _run(event, deps, cache):
    """One event as a batch of its own: its outputs, pops first; a failure is raised."""
    out = await run_batch([Msg(codec.encode(event))], deps, cache)
    if out.failures:
        raise out.failures[0].error
    return out.pops + out.outputs


async def _normalize_all(events, deps, cache=None):
    """The by-party records of the events, each run on its own."""
    cache = cache or PartyCache()
    out = []
    for event in events:
        out += [o for o in await _run(event, deps, cache) if o.topic == INTERACTIONS_BY_PARTY]
    return out


async def test_events_are_rekeyed_by_a_keyed_hash_never_the_number(deps):
    """The by-party key is tenant + token; the raw number appears in no key."""
    out = await _normalize_all(voice_call("ix-1"), deps)
    assert {o.topic for o in out} == {INTERACTIONS_BY_PARTY}
    keys = {o.key for o in out}
    assert len(keys) == 1
    key = next(iter(keys)).decode()
    assert key.startswith("acme:")
    assert "2079460123" not in key
    record = out[0].value
    assert isinstance(record, PartyInteraction)
    assert record.party_value == CALLER
    assert record.party_kind == "phone"


async def test_national_and_e164_forms_reach_the_same_party(deps):
    """A national-format caller id and its E.164 form re-key to the same party."""
    a = await _normalize_all(voice_call("ix-1", caller="020 7946 0123"), deps)
    b = await _normalize_all(voice_call("ix-2", caller="+44 20 7946 0123"), deps)
    assert a[0].key == b[0].key


async def test_events_without_an_address_wait_for_the_party(deps, cache):
    """An accept that arrives before the offer is parked, then released with it."""
    call = voice_call("ix-1")
    accepted = next(e for e in call if isinstance(e, InteractionAccepted))
    assert await _normalize_all([accepted], deps, cache) == []
    released = await _normalize_all([call[0]], deps, cache)
    assert [o.value.event for o in released] == [call[0], accepted]
    again = await _normalize_all([accepted], deps, cache)
    assert len(again) == 1  # the party is known now: no more parking
    fresh = await _normalize_all([accepted], deps, PartyCache())
    assert len(fresh) == 1  # known from the store too, not only this worker's cache


async def test_anonymous_callers_do_not_share_a_timeline(deps):
    """Withheld caller ids get a per-interaction party."""
    a = await _normalize_all(voice_call("ix-1", caller="anonymous"), deps)
    b = await _normalize_all(voice_call("ix-2", caller="anonymous"), deps)
    assert a[0].key != b[0].key
    assert a[0].value.party_kind == "anonymous"
    assert a[0].value.party_value is None


async def test_garbage_caller_id_raises_invalid_identifier(deps):
    """A caller id that is not an identifier is a data error (the agent dead-letters it)."""
    bad = voice_call("ix-1", caller="call me maybe")[0]
    with pytest.raises(InvalidIdentifier):
        await _run(bad, deps, PartyCache())


async def _project(events, deps):
    """Every event through the pipeline on its own: pops, by-party records, activities."""
    cache, out = PartyCache(), []
    for event in events:
        out += await _run(event, deps, cache)
    return out


async def test_a_routed_call_pops_for_its_agent_and_creates_one_call_activity(deps):
    """Offer-to-agent and accept pop for that agent; wrap-up asks for one call activity."""
    out = await _project(voice_call("ix-1", agent="agent-7"), deps)
    pops = [o for o in out if o.topic == SCREENPOPS]
    assert pops
    assert all(isinstance(p.value, ScreenPopRequested) for p in pops)
    assert {p.key for p in pops} == {b"acme:agent-7"}
    assert not any(p.value.suppressed for p in pops)
    activities = [o.value for o in out if o.topic == ACTIVITIES_REQUESTED]
    assert len(activities) == 1
    activity = activities[0]
    assert isinstance(activity, ActivityRequested)
    assert activity.idempotency_key == "acme:ix-1:default:call"
    assert activity.customer_phone == CALLER
    assert activity.duration_seconds == 95


async def test_a_later_wrap_up_is_a_new_revision_of_the_same_activity(deps):
    """The last wrap-up wins: same idempotency key, higher revision."""
    out = await _project(voice_call("ix-1"), deps)
    first = next(o.value for o in out if o.topic == ACTIVITIES_REQUESTED)
    rewrap = InteractionWrappedUp(
        eid(),
        "acme",
        T0 + timedelta(minutes=30),
        "ix-1",
        "voice",
        "agent-1",
        disposition_code="CALLBACK",
    )
    out = await _project([rewrap], deps)
    second = next(o.value for o in out if o.topic == ACTIVITIES_REQUESTED)
    assert second.idempotency_key == first.idempotency_key
    assert second.revision > first.revision
    assert second.disposition_code == "CALLBACK"


async def test_short_calls_and_duplicates_create_no_extra_activity(deps):
    """Below the minimum duration no activity; replaying the same events writes nothing."""
    call = voice_call("ix-1", duration=3)
    out = await _project(call, deps)
    assert not [o for o in out if o.topic == ACTIVITIES_REQUESTED]
    writes = deps.timeline.writes
    snapshot = dict(deps.timeline.entries)
    await _project(call + call, deps)
    assert deps.timeline.writes == writes
    assert deps.timeline.entries == snapshot


async def test_agent_to_agent_calls_are_suppressed_with_the_reason(deps):
    """An internal extension calling an agent is recorded as suppressed, not popped."""
    call = [replace(e, customer_address="1001") for e in voice_call("ix-1")]
    out = await _project(call, deps)
    pops = [o.value for o in out if o.topic == SCREENPOPS]
    assert pops
    assert all(p.suppressed and p.suppression_reason == "agent_to_agent" for p in pops)


async def test_unrouted_inbound_calls_are_suppressed(deps):
    """No queue and no IVR: the pop decision is recorded as unrouted."""
    out = await _project(voice_call("ix-1", queue=None), deps)
    pops = [o.value for o in out if o.topic == SCREENPOPS]
    assert pops
    assert {p.suppression_reason for p in pops} == {"unrouted"}


async def test_a_ring_from_long_ago_is_recorded_as_stale_not_popped(deps):
    """Replayed history (a ring hours old) is suppressed with reason 'stale'."""
    old = voice_call("ix-old", start=T0 - timedelta(hours=5))
    out = await _project(old, deps)
    pops = [o.value for o in out if o.topic == SCREENPOPS]
    assert pops
    assert {p.suppression_reason for p in pops} == {"stale"}
