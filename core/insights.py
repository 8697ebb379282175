"""Pure insights over a party's entries: sentiment, topics, engagement summary, journey."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.query import newest_first
from core.timeline import InteractionEntry, from_ms
from core.view import agent_name_of, campaign_of, is_failed

# Every function takes entries in any order and sorts them itself (newest first by start,
# then interaction id), so the same set of entries always gives the same insight.

POSITIVE_AT, NEGATIVE_AT = 0.25, -0.25
CONTACT_MODES = {
    "home": "home",
    "work": "work",
    "mobile": "mobile",
    "office": "office",
    "sms": "SMS",
    "email": "email",
}
_CHANNEL_MODES = {"sms": "SMS", "email": "email"}


@dataclass(frozen=True, slots=True)
class InsightSettings:
    """How far back each insight looks."""

    sentiment_max: int = 10  # the last N analysed interactions (2..10)
    sentiment_min: int = 2  # fewer than this: no sentiment, and a message saying so
    notes_interactions: int = 30
    topics_interactions: int = 30
    summary_sentences: int = 3
    key_terms: int = 5

    def __post_init__(self) -> None:
        if not 2 <= self.sentiment_min <= self.sentiment_max <= 10:
            msg = "sentiment window must satisfy 2 <= min <= max <= 10"
            raise ValueError(msg)


def label_of(score: float) -> str:
    """positive / neutral / negative for a score in [-1, 1]."""
    if score >= POSITIVE_AT:
        return "positive"
    return "negative" if score <= NEGATIVE_AT else "neutral"


def _date(ms: int) -> str:
    return from_ms(ms).date().isoformat()


def sentiment(entries: Sequence[InteractionEntry], cfg: InsightSettings) -> dict[str, Any]:
    """Average and trend over the last `sentiment_max` interactions with a sentiment score;
    `available` is False (with a message) when fewer than `sentiment_min` exist."""
    scored = [
        (e, e.analysis.sentiment)
        for e in newest_first(entries)
        if e.analysis is not None and e.analysis.sentiment is not None
    ]
    recent = scored[: cfg.sentiment_max]
    if len(recent) < cfg.sentiment_min:
        return {
            "available": False,
            "count": len(recent),
            "message": f"Recent sentiment needs at least {cfg.sentiment_min} analysed "
            f"interactions; {len(recent)} found.",
        }
    scores = [float(score) for _, score in recent]
    average = sum(scores) / len(scores)
    half = len(scores) // 2
    newer, older = sum(scores[:half]) / half, sum(scores[-half:]) / half
    trend = (
        "stable" if abs(newer - older) < 0.2 else ("improving" if newer > older else "declining")
    )
    return {
        "available": True,
        "count": len(recent),
        "average": round(average, 3),
        "label": label_of(average),
        "trend": trend,
        "items": [
            {
                "interaction_id": e.interaction_id,
                "date": _date(e.started_ms),
                "sentiment": score,
                "label": (e.analysis.sentiment_label if e.analysis else None) or label_of(score),
            }
            for e, score in recent
        ],
    }


def _normalize(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def _contains(haystack: str, phrase: str) -> bool:
    # Both sides are normalized to space-separated words, so " phrase " matches whole words
    # only and punctuation or line breaks between the words do not matter.
    return bool(phrase) and f" {phrase} " in f" {haystack} "


def topics(
    entries: Sequence[InteractionEntry], phrases: Mapping[str, Sequence[str]], cfg: InsightSettings
) -> dict[str, Any]:
    """Admin-defined topics (name -> phrases) found in the transcripts and analytics (AI
    title, summary, analytics topics) of the last `topics_interactions` interactions."""
    if not phrases:
        return {
            "available": False,
            "topics": [],
            "message": "No topic phrases are configured for this tenant.",
        }
    wanted = {name: [_normalize(p) for p in plist] for name, plist in phrases.items()}
    counts: Counter[str] = Counter()
    last_seen: dict[str, str] = {}
    recent = newest_first(entries)[: cfg.topics_interactions]
    for entry in recent:
        a = entry.analysis
        if a is None:
            continue
        texts = [a.transcript_text, a.summary, a.ai_title, *a.topics]
        haystack = " | ".join(_normalize(t) for t in texts if t)
        for name, plist in wanted.items():
            if any(_contains(haystack, p) for p in plist):
                counts[name] += 1
                last_seen.setdefault(name, _date(entry.started_ms))
    # Most mentioned first, then most recently seen, then by name (stable sorts, last key first).
    ranked = sorted(counts)
    ranked.sort(key=lambda n: last_seen[n], reverse=True)
    ranked.sort(key=lambda n: counts[n], reverse=True)
    return {
        "available": True,
        "interactions_considered": len(recent),
        "topics": [
            {"topic": n, "interactions": counts[n], "last_seen": last_seen[n]} for n in ranked
        ],
        **({} if ranked else {"message": "No configured topic was mentioned recently."}),
    }


# fmt: off
_STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "customer",
    "did", "do", "does", "for", "from", "had", "has", "have", "he", "her", "him", "his", "i",
    "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our",
    "she", "so", "that", "the", "their", "them", "then", "there", "they", "this", "to", "up",
    "us", "was", "we", "were", "will", "with", "would", "you", "your", "called", "call",
    "said", "asked", "wants", "wanted",
))
# fmt: on
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def _words(sentence: str) -> list[str]:
    return [
        w
        for w in re.findall(r"\w+", sentence.casefold())
        if len(w) > 1 and w not in _STOPWORDS and not w.isdigit()
    ]


def engagement_summary(entries: Sequence[InteractionEntry], cfg: InsightSettings) -> dict[str, Any]:
    """Extractive summary of the agent notes of the last `notes_interactions` interactions.

    Sentences are scored by the frequency of their content words across all the notes
    (normalized by sentence length), the top ones are kept and shown oldest first. Ties break
    by recency, then position, then text, so the output is deterministic.
    """
    recent = newest_first(entries)[: cfg.notes_interactions]
    noted = [e for e in recent if e.wrapup and e.wrapup.notes and e.wrapup.notes.strip()]
    if not noted:
        return {
            "available": False,
            "interactions_considered": len(recent),
            "notes": 0,
            "message": f"No agent notes in the last {cfg.notes_interactions} interactions.",
        }
    sentences: list[tuple[int, int, str]] = []  # (age rank, position, text)
    seen: set[str] = set()
    for rank, entry in enumerate(noted):
        notes = entry.wrapup.notes if entry.wrapup and entry.wrapup.notes else ""
        for pos, text in enumerate(s.strip() for s in _SENTENCE.split(notes.strip())):
            key = _normalize(text)
            if key and key not in seen:
                seen.add(key)
                sentences.append((rank, pos, text))
    freq = Counter(w for _, _, text in sentences for w in set(_words(text)))
    top = max(freq.values(), default=1)

    def score(item: tuple[int, int, str]) -> float:
        words = set(_words(item[2]))
        return sum(freq[w] / top for w in words) / math.sqrt(len(words)) if words else 0.0

    best = sorted(sentences, key=lambda s: (-score(s), s[0], s[1], s[2]))
    chosen = sorted(best[: cfg.summary_sentences], key=lambda s: (-s[0], s[1]))
    terms = sorted(freq, key=lambda w: (-freq[w], w))[: cfg.key_terms]
    return {
        "available": True,
        "interactions_considered": len(recent),
        "notes": len(noted),
        "summary": " ".join(text if text[-1:] in ".!?" else text + "." for _, _, text in chosen),
        "key_terms": terms,
    }


def insights_for(
    entries: Sequence[InteractionEntry],
    now_ms: int,
    topic_phrases: Mapping[str, Sequence[str]],
    cfg: InsightSettings | None = None,
) -> dict[str, Any]:
    """Every insight of a party as of `now_ms`: sentiment, topics, engagement, journey.

    Pure and deterministic (the same entries, in any order, and the same now give the same
    answer), so the query API and the screen-pop renderer show the same thing. Entries that
    started after `now_ms` are left out: a pop rendered during a replay sees what the agent
    saw then.
    """
    cfg = cfg or InsightSettings()
    known = [e for e in entries if e.started_ms <= now_ms]
    return {
        "as_of": from_ms(now_ms).isoformat(),
        "interactions_considered": len(known),
        "sentiment": sentiment(known, cfg),
        "topics": topics(known, topic_phrases, cfg),
        "engagement": engagement_summary(known, cfg),
        "journey": journey(known),
    }


def mode_of(entry: InteractionEntry) -> str | None:
    """Contact mode: the wrap-up's (home/work/mobile/office/SMS/email), else by channel."""
    raw = (entry.wrapup.contact_mode or "").strip().lower() if entry.wrapup else ""
    return CONTACT_MODES.get(raw) or _CHANNEL_MODES.get(entry.channel) or (raw or None)


def journey(entries: Sequence[InteractionEntry], campaign: str | None = None) -> dict[str, Any]:
    """Campaign interactions grouped by date (newest first), with each step's previous score
    (the same campaign's prior scored interaction)."""
    steps = [e for e in newest_first(entries) if campaign_of(e)]
    if campaign is not None:
        steps = [e for e in steps if (campaign_of(e) or "").casefold() == campaign.casefold()]
    previous: dict[str, float | None] = {}
    prior_score: dict[str, float | None] = {}
    for entry in reversed(steps):  # oldest first, to carry scores forward
        name = campaign_of(entry) or ""
        previous[entry.interaction_id] = prior_score.get(name)
        score = entry.wrapup.score if entry.wrapup else None
        if score is not None:
            prior_score[name] = score
    days: dict[str, list[dict[str, Any]]] = {}
    for entry in steps:
        wrap = entry.wrapup
        days.setdefault(_date(entry.started_ms), []).append(
            {
                "interaction_id": entry.interaction_id,
                "started_at": from_ms(entry.started_ms).isoformat(),
                "campaign": campaign_of(entry),
                "channel": entry.channel,
                "mode": mode_of(entry),
                "outcome": (wrap.outcome or wrap.disposition_code) if wrap else None,
                "failed": is_failed(entry),
                "previous_score": previous[entry.interaction_id],
                "score": wrap.score if wrap else None,
                "agent_name": agent_name_of(entry),
                "comments": wrap.notes if wrap else None,
            }
        )
    return {
        "campaigns": sorted({campaign_of(e) or "" for e in steps}),
        "days": [{"date": day, "interactions": items} for day, items in days.items()],
        **({} if steps else {"message": "No campaign interactions in the retention window."}),
    }
