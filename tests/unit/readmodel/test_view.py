"""The rendered timeline item: titles, legs folded without double counting, detail fields."""

from __future__ import annotations

from datetime import timedelta

from core.timeline import apply, fold, to_ms
from core.view import NON_QUEUED, describe, detail, duration_of, ended_ms_of
from schemas.records import (
    InteractionAnalyzed,
    InteractionEnded,
    InteractionOffered,
    InteractionWrappedUp,
    RecordingAvailable,
)
from tests.factories import CALLER, CENTRE, T0, eid, voice_call
from tests.unit.readmodel.calls import conference_call


def test_overlapping_legs_are_not_double_counted():
    """A conference's legs overlap: the fallback duration is their union, not their sum."""
    entry = fold(conference_call("ix-c"))["ix-c"]
    assert duration_of(entry) == 100  # legs [30,130] and [65,120]: union is 100 s
    assert ended_ms_of(entry) == to_ms(T0 + timedelta(seconds=130))


def test_sequential_legs_add_up():
    """A blind transfer's legs do not overlap: their durations add up."""
    events = [
        *conference_call("ix-s")[:-2],
        InteractionEnded(
            eid(),
            "acme",
            T0 + timedelta(seconds=60),
            "ix-s",
            "voice",
            "inbound",
            CALLER,
            CENTRE,
            30,
            leg_id="l1",
        ),
        InteractionEnded(
            eid(),
            "acme",
            T0 + timedelta(seconds=100),
            "ix-s",
            "voice",
            "inbound",
            CALLER,
            CENTRE,
            35,
            leg_id="l2",
        ),
    ]
    assert duration_of(fold(events)["ix-s"]) == 65


def test_folded_legs_keep_per_leg_agent_and_duration():
    """IVR, queue, agent and conference legs are one item with each leg's agent and time."""
    item = describe(fold(conference_call("ix-c"))["ix-c"], to_ms(T0 + timedelta(hours=3)))
    assert item["agents"] == ["a1", "a2"]
    assert item["agent_names"] == ["Ada", "Bo"]
    assert [(leg["agent_id"], leg["duration_seconds"]) for leg in item["legs"]] == [
        ("a1", 100),
        ("a2", 55),
    ]
    assert item["legs"][1]["mode"] == "conference"
    assert item["queue"] == "Sales"
    assert item["ago"] == "3 hours ago"


def test_non_queued_interaction_and_type_title():
    """No queue anywhere: 'Non-queued interaction'; no titles: the interaction type."""
    events = voice_call("ix-n", queue=None)
    entry = fold([e for e in events if not isinstance(e, InteractionWrappedUp)])["ix-n"]
    item = describe(entry, to_ms(T0))
    assert item["queue"] == NON_QUEUED
    assert item["title"] == "Inbound call"
    assert item["disposition"] is None


def test_email_subject_beats_wrap_up_code_and_ai_title_beats_subject():
    """Title fallback: AI title, then email subject, then wrap-up code."""
    iid = "ix-e"
    offer = InteractionOffered(
        eid(),
        "acme",
        T0,
        iid,
        "email",
        "inbound",
        "a@example.com",
        "help@example.com",
        subject="Invoice #42",
    )
    wrap = InteractionWrappedUp(eid(), "acme", T0, iid, "email", "a1", disposition_code="DONE")
    entry = fold([offer, wrap])[iid]
    assert describe(entry, to_ms(T0))["title"] == "Invoice #42"
    titled = apply(
        entry, InteractionAnalyzed(eid(), "acme", T0, iid, "email", ai_title="Disputed invoice")
    )
    assert describe(titled, to_ms(T0))["title"] == "Disputed invoice"


def test_last_wrap_up_sets_outcome_and_failure_flag():
    """The last wrap-up (by event time) gives outcome and failure, whatever arrives first."""
    first = InteractionWrappedUp(eid(), "acme", T0, "ix-w", "voice", "a1", outcome="sale")
    last = InteractionWrappedUp(
        eid(), "acme", T0 + timedelta(minutes=5), "ix-w", "voice", "a1", outcome="no_answer"
    )
    item = describe(fold([last, first])["ix-w"], to_ms(T0))
    assert (item["outcome"], item["failed"]) == ("no_answer", True)


def test_links_and_detail_fields():
    """Transcript and recording links when present; detail adds IVR path, summary, score."""
    iid = "ix-d"
    events = [
        *conference_call(iid),
        InteractionAnalyzed(
            eid(),
            "acme",
            T0,
            iid,
            "voice",
            sentiment=-0.4,
            transcript_url="https://t/1",
            summary="Wants a refund.",
        ),
        RecordingAvailable(eid(), "acme", T0, iid, "voice", "https://r/1", 130),
        InteractionWrappedUp(
            eid(),
            "acme",
            T0 + timedelta(minutes=3),
            iid,
            "voice",
            "a1",
            campaign="Winback",
            contact_mode="mobile",
            score=7.5,
        ),
    ]
    entry = fold(events)[iid]
    item = detail(entry, to_ms(T0))
    assert item["transcript_url"] == "https://t/1"
    assert item["recording_url"] == "https://r/1"
    assert item["has_transcript"] is True
    assert item["ivr_path"] == ["menu", "sales"]
    assert (item["summary"], item["score"], item["contact_mode"]) == (
        "Wants a refund.",
        7.5,
        "mobile",
    )
    assert item["wrapup_agent_name"] == "Ada"
    assert item["campaign"] == "Winback"
    assert set(describe(entry, 0)) <= set(item)
