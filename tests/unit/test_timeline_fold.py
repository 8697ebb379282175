"""Properties of the interaction fold: idempotent, order-insensitive, capped, windowed."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.timeline import Retention, apply, fold, merge, to_ms, visible
from core.view import describe, duration_of, title_of
from projections import entry_codec
from schemas.records import InteractionAnalyzed, InteractionWrappedUp
from tests.factories import T0, eid, interaction_events, voice_call

events_lists = st.lists(interaction_events(), min_size=1, max_size=25)


@given(events_lists)
def test_applying_every_event_twice_equals_applying_it_once(events):
    """Duplicates (at-least-once delivery) never change the fold."""
    assert fold(events + events) == fold(events)


@given(events_lists, st.randoms())
def test_any_permutation_gives_the_same_entries(events, rnd):
    """The fold is a function of the set of events, not of their arrival order."""
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert fold(shuffled) == fold(events)


@given(st.lists(interaction_events(), min_size=2, max_size=12))
def test_merge_is_associative_and_commutative(events):
    """Partial entries of one interaction join in any grouping."""
    same = [e for e in events if e.interaction_id == events[0].interaction_id]
    a = fold(same[: len(same) // 2]).get(events[0].interaction_id)
    b = fold(same[len(same) // 2 :]).get(events[0].interaction_id)
    if a is None or b is None:
        return
    assert merge(a, b) == merge(b, a) == fold(same)[events[0].interaction_id]


@given(events_lists)
def test_stored_form_round_trips(events):
    """What Redis stores decodes to the same entry."""
    for entry in fold(events).values():
        assert entry_codec.loads(entry_codec.dumps(entry)) == entry


@settings(max_examples=50)
@given(events_lists, st.integers(1, 4), st.integers(1, 400))
def test_visible_respects_cap_per_channel_and_window(events, cap, days):
    """Reads keep at most `cap` per channel, newest first, all inside the window."""
    now = to_ms(T0)
    retention = Retention(max_entries=cap, window_ms=days * 86_400_000)
    shown = visible(list(fold(events).values()), now, retention)
    per_channel: dict[str, int] = {}
    for entry in shown:
        per_channel[entry.channel] = per_channel.get(entry.channel, 0) + 1
        assert entry.started_ms >= now - retention.window_ms
    assert all(n <= cap for n in per_channel.values())
    starts = [(e.started_ms, e.interaction_id) for e in shown]
    assert starts == sorted(starts, reverse=True)


def test_last_wrap_up_wins_whatever_the_arrival_order():
    """A later wrap-up replaces the disposition even when it arrives first."""
    call = voice_call("ix-1")
    late = InteractionWrappedUp(eid(), "acme", T0 + timedelta(hours=1), "ix-1", "voice",
                                "agent-1", disposition_code="CALLBACK")
    entry = fold([late, *call])["ix-1"]
    assert entry.wrapup is not None
    assert entry.wrapup.disposition_code == "CALLBACK"


def test_legs_fold_into_one_entry_without_double_counting():
    """Offer, accept and the same leg's events make one leg; the interaction is one entry."""
    events = voice_call("ix-2", duration=120)
    entry = fold(events + events[1:3])["ix-2"]
    assert [leg.agent_id for leg in entry.legs] == ["agent-1"]
    assert duration_of(entry) == 120


def test_title_falls_back_from_ai_title_to_disposition_to_type():
    """AI title, then email subject, then wrap-up code, then the interaction type."""
    call = voice_call("ix-3", disposition="RENEWAL")
    assert title_of(fold(call[:2])["ix-3"]) == "Inbound call"
    assert title_of(fold(call)["ix-3"]) == "RENEWAL"
    analysed = InteractionAnalyzed(eid(), "acme", T0, "ix-3", "voice", ai_title="Renewal call")
    assert title_of(apply(fold(call)["ix-3"], analysed)) == "Renewal call"


def test_describe_reports_queue_agent_duration_and_age():
    """The rendered item carries what an agent reads."""
    item = describe(fold(voice_call("ix-4"))["ix-4"], to_ms(T0 + timedelta(days=2)))
    assert item["queue"] == "Sales"
    assert item["agents"] == ["agent-1"]
    assert item["duration_seconds"] == 95
    assert item["ago"] == "2 days ago"
    assert item["notes"] == "Customer renewed."
