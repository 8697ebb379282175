"""Insights: sentiment window, topic phrases, extractive engagement summary, campaign journey."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.insights import (
    InsightSettings,
    engagement_summary,
    insights_for,
    journey,
    sentiment,
    topics,
)
from core.timeline import apply, fold, to_ms
from schemas.records import InteractionAnalyzed, InteractionWrappedUp
from tests.factories import T0, eid, voice_call

CFG = InsightSettings()


def _call(n: int, **analysis):
    """Interaction n (n days before T0), optionally analysed."""
    iid = f"ix-{n:02d}"
    entry = fold(voice_call(iid, start=T0 - timedelta(days=n)))[iid]
    if analysis:
        entry = apply(
            entry,
            InteractionAnalyzed(eid(), "acme", T0 - timedelta(days=n), iid, "voice", **analysis),
        )
    return entry


def _wrapped(n: int, **wrap):
    iid = f"ix-{n:02d}"
    entry = fold(voice_call(iid, start=T0 - timedelta(days=n)))[iid]
    late = InteractionWrappedUp(
        eid(), "acme", T0 - timedelta(days=n) + timedelta(hours=1), iid, "voice", "agent-1", **wrap
    )
    return apply(entry, late)


def test_sentiment_needs_two_analysed_interactions():
    """One analysed interaction is not enough: no sentiment, and a message saying so."""
    got = sentiment([_call(1, sentiment=0.9), _call(2)], CFG)
    assert got["available"] is False
    assert "at least 2" in got["message"]


def test_sentiment_uses_the_newest_ten_only():
    """Twelve analysed interactions: the newest ten are averaged, newest first."""
    entries = [_call(n, sentiment=1.0 if n <= 10 else -1.0) for n in range(1, 13)]
    got = sentiment(entries, CFG)
    assert got["count"] == 10
    assert got["average"] == 1.0
    assert got["label"] == "positive"
    assert [i["interaction_id"] for i in got["items"]][:2] == ["ix-01", "ix-02"]


def test_sentiment_window_is_configurable_and_trend_reported():
    """A window of 4: newer scores better than older ones reads as improving."""
    entries = [_call(n, sentiment=s) for n, s in ((1, 0.8), (2, 0.6), (3, -0.5), (4, -0.7))]
    got = sentiment(entries, InsightSettings(sentiment_max=4))
    assert (got["count"], got["trend"], got["label"]) == (4, "improving", "neutral")


def test_topics_match_whole_phrases_in_transcripts_and_analytics():
    """Phrases match case-insensitively as whole words in transcripts, summaries and topics."""
    entries = [
        _call(1, transcript_text="I want my MONEY back, now!"),
        _call(2, topics=("refund",)),
        _call(3, summary="Asked about the moneyback guarantee"),  # not the phrase "money back"
        _call(4, transcript_text="Cancel my contract please"),
    ]
    phrases = {"Refund": ["refund", "money back"], "Cancellation": ["cancel"], "Fraud": ["fraud"]}
    got = topics(entries, phrases, CFG)
    assert [(t["topic"], t["interactions"]) for t in got["topics"]] == [
        ("Refund", 2),
        ("Cancellation", 1),
    ]
    assert got["topics"][0]["last_seen"] > got["topics"][1]["last_seen"]


def test_topics_without_configuration_say_so():
    """No phrases for the tenant: not available, with a message."""
    got = topics([_call(1, transcript_text="refund")], {}, CFG)
    assert got["available"] is False
    assert "configured" in got["message"]


def test_engagement_summary_without_notes_says_so():
    """No notes in the last 30 interactions: a clear message."""
    entries = [_wrapped(n, notes="  ") for n in range(1, 4)]
    got = engagement_summary(list(entries), CFG)
    assert got["available"] is False
    assert got["message"] == "No agent notes in the last 30 interactions."


def test_engagement_summary_is_extractive_and_looks_at_30_interactions():
    """Sentences come verbatim from the notes, favour recurring themes, ignore older notes."""
    notes = {
        1: "Router keeps dropping the connection. Booked an engineer visit.",
        2: "Router replaced last month but connection still drops.",
        3: "Asked for a discount on the broadband bill.",
        40: "Ancient note about a router connection router connection.",
    }
    entries = [_wrapped(n, notes=notes.get(n, "")) for n in range(1, 41)]
    got = engagement_summary(entries, CFG)
    assert got["notes"] == 3
    assert got["interactions_considered"] == 30
    sentences = [s.strip() for s in got["summary"].split(".") if s.strip()]
    corpus = " ".join(notes[n] for n in (1, 2, 3))
    assert all(s in corpus for s in sentences)
    assert "Ancient" not in got["summary"]
    assert got["key_terms"][:2] == ["connection", "router"]


@given(st.permutations(list(range(1, 8))))
def test_insights_do_not_depend_on_input_order(order):
    """Same entries in any order: same sentiment, summary and journey."""
    base = [
        _wrapped(n, notes=f"Note {n} about billing.", campaign="C", score=float(n))
        for n in range(1, 8)
    ]
    shuffled = [base[i - 1] for i in order]
    assert engagement_summary(shuffled, CFG) == engagement_summary(base, CFG)
    assert journey(shuffled) == journey(base)


def test_journey_groups_by_date_with_previous_scores():
    """Campaign steps grouped by day, newest first; previous score = the prior step's."""
    entries = [
        _wrapped(3, campaign="Renewal", contact_mode="home", outcome="no_answer", score=2.0),
        _wrapped(
            2,
            campaign="Renewal",
            contact_mode="SMS",
            outcome="replied",
            score=5.0,
            agent_name="Ada",
            notes="Sent quote.",
        ),
        _wrapped(1, campaign="Renewal", contact_mode="work", outcome="sale", score=9.0),
        _wrapped(4, campaign="Other", score=1.0),
        _call(5),
    ]
    got = journey(entries, campaign="renewal")
    steps = [day["interactions"][0] for day in got["days"]]
    assert [s["mode"] for s in steps] == ["work", "SMS", "home"]
    assert [(s["previous_score"], s["score"]) for s in steps] == [
        (5.0, 9.0),
        (2.0, 5.0),
        (None, 2.0),
    ]
    assert steps[2]["failed"] is True
    assert (steps[1]["agent_name"], steps[1]["comments"]) == ("Ada", "Sent quote.")
    assert got["campaigns"] == ["Renewal"]
    assert journey([_call(1)])["message"].startswith("No campaign")


@given(st.permutations(list(range(6))))
def test_insights_for_is_one_deterministic_answer_as_of_now(order):
    """insights_for (the screen-pop renderer's entry point): every section, the same answer
    for any input order, and nothing that started after `now`."""
    base = [_call(n, sentiment=0.1 * n, transcript_text="I want my money back") for n in range(3)]
    base += [_wrapped(n, notes=f"Call {n} about the router.", campaign="C") for n in range(3, 6)]
    phrases = {"Refund": ("money back",)}
    now = to_ms(T0) - 36 * 3_600_000  # a day and a half before T0: ix-00 and ix-01 are later
    got = insights_for([base[i] for i in order], now, phrases)
    assert got == insights_for(base, now, phrases)
    assert set(got) == {
        "as_of",
        "interactions_considered",
        "sentiment",
        "topics",
        "engagement",
        "journey",
    }
    assert got["interactions_considered"] == 4
    assert got["sentiment"]["available"] is False  # only ix-02 is analysed before now
    assert got["topics"]["topics"] == [
        {
            "topic": "Refund",
            "interactions": 1,
            "last_seen": (T0 - timedelta(days=2)).date().isoformat(),
        }
    ]
    assert got["engagement"]["notes"] == 4  # voice_call wraps up with a note too
    assert len(got["journey"]["days"]) == 3


def test_insights_for_an_empty_party_says_so_everywhere():
    """No interactions: each section explains itself instead of being empty."""
    got = insights_for([], to_ms(T0), {})
    assert got["sentiment"]["available"] is False
    assert got["topics"]["available"] is False
    assert got["engagement"]["message"] == "No agent notes in the last 30 interactions."
    assert got["journey"]["message"] == "No campaign interactions in the retention window."
