"""The one-pass batch pipeline: same results however events are batched; pops first; DLQ."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import StoreUnavailable
from core.timeline import to_ms
from projections.memory import InMemoryInteractionParties, InMemoryTimelineStore
from schemas import codec
from schemas.records import DeadLetter, PartyInteraction, ScreenPopRequested
from schemas.topics import (
    ACTIVITIES_REQUESTED,
    DLQ,
    INTERACTIONS,
    INTERACTIONS_BY_PARTY,
    SCREENPOPS,
)
from streams.bootstrap import build_deps
from streams.pipeline import PartyCache, run_batch
from streams.processing import OutputUnavailable, Stats, process_batch
from streams.settings import StreamSettings
from tests.factories import T0, voice_call


@dataclass
class Msg:
    value: bytes | None
    key: bytes | None = b"k"
    topic: str = INTERACTIONS
    partition: int = 0
    offset: int = 0


def _deps(timeline=None, parties=None, now=T0 + timedelta(seconds=60)):
    # A minute after the calls start: their rings are fresh (a ring past the desktop's
    # freshness window whose call ended is recorded as suppressed, see the test below).
    return build_deps(
        StreamSettings.from_env({"C360_ENV": "dev"}),
        timeline=timeline or InMemoryTimelineStore(),
        parties=parties or InMemoryInteractionParties(),
        clock_ms=lambda: to_ms(now),
    )


def _msgs(events):
    return [Msg(codec.encode(e), offset=i) for i, e in enumerate(events)]


async def _no_sleep(_delay):
    return None


async def test_one_batch_gives_pop_first_then_by_party_and_one_activity():
    deps = _deps()
    out = await run_batch(_msgs(voice_call("ix-1", agent="agent-7")), deps, PartyCache())
    assert not out.failures
    assert out.pops and all(p.topic == SCREENPOPS for p in out.pops)
    assert {p.key for p in out.pops} == {b"acme:agent-7"}
    assert all(isinstance(p.value, ScreenPopRequested) for p in out.pops)
    # The offer and the accept both pop (the accept reuses the offer's panel in the batch).
    assert len({p.value.trigger_event_id for p in out.pops}) == 2
    offer_view, accept_view = (json.loads(p.value.view_json) for p in out.pops)
    assert offer_view["timeline"] == accept_view["timeline"]
    by_party = [o for o in out.outputs if o.topic == INTERACTIONS_BY_PARTY]
    assert len(by_party) == 5  # every event once, re-keyed by party
    activities = [o.value for o in out.outputs if o.topic == ACTIVITIES_REQUESTED]
    assert [a.idempotency_key for a in activities] == ["acme:ix-1:default:call"]
    token = by_party[0].value.party_token
    page = await deps.timeline.read("acme", token, ["voice"], deps.clock_ms(), 10)
    assert [e.interaction_id for e in page] == ["ix-1"]


async def test_events_before_the_address_are_parked_then_released_in_a_later_batch():
    deps = _deps()
    cache = PartyCache()
    offer_q, offer_a, accept, end, wrap = voice_call("ix-2")
    first = await run_batch(_msgs([accept, wrap]), deps, cache)
    assert not first.outputs and not first.pops and not first.failures
    second = await run_batch(_msgs([offer_q, offer_a, end]), deps, cache)
    ids = {o.value.event.event_id for o in second.outputs if o.topic == INTERACTIONS_BY_PARTY}
    assert ids == {e.event_id for e in (offer_q, offer_a, accept, end, wrap)}
    assert second.release == [("acme", "ix-2")]
    assert [o.topic for o in second.outputs].count(ACTIVITIES_REQUESTED) == 1


async def test_an_address_later_in_the_same_batch_resolves_earlier_events_without_parking():
    parties = InMemoryInteractionParties()
    deps = _deps(parties=parties)
    offer_q, offer_a, accept, end, wrap = voice_call("ix-3")
    out = await run_batch(_msgs([accept, wrap, offer_q, offer_a, end]), deps, PartyCache())
    assert not parties.parked
    assert [o.topic for o in out.outputs].count(INTERACTIONS_BY_PARTY) == 5


async def test_bad_bytes_and_bad_numbers_fail_alone_and_the_rest_goes_on():
    deps = _deps()
    events = voice_call("ix-4")
    garbage = voice_call("ix-5", caller="not a number at all")[0]
    msgs = [Msg(b"\x00garbage", offset=0), *_msgs(events), Msg(codec.encode(garbage), offset=99)]
    out = await run_batch(msgs, deps, PartyCache())
    assert {f.message.offset for f in out.failures} == {0, 99}
    assert {f.kind for f in out.failures} == {"invalid"}
    assert [o.topic for o in out.outputs].count(INTERACTIONS_BY_PARTY) == 5


async def test_a_replayed_batch_gives_the_same_outputs_and_the_same_timeline():
    deps = _deps()
    msgs = _msgs(voice_call("ix-6"))
    first = await run_batch(msgs, deps, PartyCache())
    token = first.outputs[0].value.party_token
    before = await deps.timeline.get("acme", token, "ix-6")
    again = await run_batch(msgs, deps, PartyCache())
    assert [p.value.event_id for p in again.pops] == [p.value.event_id for p in first.pops]
    assert [o.value.event_id for o in again.outputs] == [o.value.event_id for o in first.outputs]
    assert await deps.timeline.get("acme", token, "ix-6") == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
async def test_any_split_into_batches_gives_the_same_timeline_and_activity(data):
    calls = [voice_call(f"ix-{n}", caller=f"+4420794601{n:02d}") for n in range(3)]
    events = [e for call in calls for e in call]
    order = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.sets(st.integers(1, len(order) - 1), max_size=6)))
    deps, cache = _deps(), PartyCache()
    activities: dict[str, int] = {}
    tokens: dict[str, str] = {}
    for lo, hi in zip([0, *cuts], [*cuts, len(order)], strict=True):
        out = await run_batch(_msgs(order[lo:hi]), deps, cache)
        assert not out.failures
        for o in out.outputs:
            if o.topic == ACTIVITIES_REQUESTED:
                key = o.value.idempotency_key
                activities[key] = max(activities.get(key, 0), o.value.revision)
            elif isinstance(o.value, PartyInteraction):
                tokens[o.value.event.interaction_id] = o.value.party_token
    reference, ref_cache = _deps(), PartyCache()
    ref = await run_batch(_msgs(events), reference, ref_cache)
    ref_activities = {
        o.value.idempotency_key: o.value.revision
        for o in ref.outputs
        if o.topic == ACTIVITIES_REQUESTED
    }
    assert activities == ref_activities
    for iid, token in tokens.items():
        assert await deps.timeline.get("acme", token, iid) == await reference.timeline.get(
            "acme", token, iid
        )


class FlakyBroker:
    def __init__(self, failures: int):
        self.failures = failures
        self.sent: list[tuple[str, bytes | None, bytes]] = []

    async def __call__(self, records):
        if self.failures:
            self.failures -= 1
            raise OutputUnavailable("broker away")
        self.sent.extend(records)


async def test_a_broker_outage_is_waited_for_not_dead_lettered():
    broker, stats = FlakyBroker(failures=3), Stats()
    await process_batch(
        _msgs(voice_call("ix-7")),
        stage="interactions",
        deps=_deps(),
        cache=PartyCache(),
        send_many=broker,
        stats=stats,
        sleep=_no_sleep,
    )
    assert stats.retries == 3 and stats.dead_lettered == 0 and stats.processed == 5
    topics = [t for t, _k, _v in broker.sent]
    assert DLQ not in topics
    assert topics[0] == SCREENPOPS  # the pop goes out before anything else of the batch


class DownThenUp(InMemoryTimelineStore):
    def __init__(self, failures: int):
        super().__init__()
        self.failures = failures

    async def merge_many(self, items, now_ms):
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("redis away")
        return await super().merge_many(items, now_ms)


async def test_a_store_outage_retries_the_batch_in_place():
    broker, stats = FlakyBroker(failures=0), Stats()
    await process_batch(
        _msgs(voice_call("ix-8")),
        stage="interactions",
        deps=_deps(timeline=DownThenUp(2)),
        cache=PartyCache(),
        send_many=broker,
        stats=stats,
        sleep=_no_sleep,
    )
    assert stats.retries == 2 and stats.dead_lettered == 0 and stats.processed == 5
    assert DLQ not in [t for t, _k, _v in broker.sent]


async def test_dead_letters_keep_the_original_bytes():
    broker, stats = FlakyBroker(failures=0), Stats()
    await process_batch(
        [Msg(b"\x00not avro", offset=7)],
        stage="interactions",
        deps=_deps(),
        cache=PartyCache(),
        send_many=broker,
        stats=stats,
        sleep=_no_sleep,
    )
    [(topic, _key, value)] = broker.sent
    letter = codec.decode(value)
    assert topic == DLQ and isinstance(letter, DeadLetter)
    assert letter.original_value == b"\x00not avro" and letter.offset == 7


async def test_implausible_values_are_refused_with_their_bytes_and_the_rest_goes_on():
    from dataclasses import replace  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415 - local to this case

    events = voice_call("ix-9")
    ancient = replace(events[0], event_id="e-ancient", occurred_at=datetime(1, 1, 1, tzinfo=UTC))
    negative = replace(events[3], event_id="e-negative", duration_seconds=-500_000)
    msgs = _msgs([ancient, negative, *events])
    out = await run_batch(msgs, _deps(), PartyCache())
    assert {(f.message.offset, type(f.error).__name__) for f in out.failures} == {
        (0, "ImplausibleValue"),
        (1, "ImplausibleValue"),
    }
    assert [o.topic for o in out.outputs].count(INTERACTIONS_BY_PARTY) == 5


async def test_a_backlog_ring_of_a_call_that_already_ended_is_recorded_not_rendered():
    """Caught up ten minutes late, in one batch with its end: history, not a ringing pop."""
    late = await run_batch(
        _msgs(voice_call("ix-10", agent="agent-7")),
        _deps(now=T0 + timedelta(minutes=10)),
        PartyCache(),
    )
    assert late.pops and all(p.value.suppressed for p in late.pops)
    assert {p.value.suppression_reason for p in late.pops} == {"ended"}
    # The same call, still ringing (no end yet), pops even when the ring is old.
    offer_q, offer_a, accept, _end, _wrap = voice_call("ix-11", agent="agent-7")
    ringing = await run_batch(
        _msgs([offer_q, offer_a, accept]), _deps(now=T0 + timedelta(minutes=10)), PartyCache()
    )
    assert ringing.pops and not any(p.value.suppressed for p in ringing.pops)
