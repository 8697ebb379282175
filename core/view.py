"""Pure rendering of an InteractionEntry as the timeline item agents read (JSON-ready)."""

from __future__ import annotations

import json
from typing import Any

from core.timeline import AgentLeg, InteractionEntry, from_ms

NON_QUEUED = "Non-queued interaction"
_TYPE_TITLES = {
    ("voice", "inbound"): "Inbound call",
    ("voice", "outbound"): "Outbound call",
    ("voice", "internal"): "Internal call",
    ("chat", None): "Chat",
    ("sms", None): "SMS conversation",
    ("email", "inbound"): "Inbound email",
    ("email", "outbound"): "Outbound email",
    ("whatsapp", None): "WhatsApp conversation",
}
FAILED_OUTCOMES = frozenset({"failed", "failure", "abandoned", "no_answer", "busy", "missed"})


def direction_of(entry: InteractionEntry) -> str | None:
    """The interaction's direction: the offer's, else the end's."""
    if entry.offer is not None:
        return entry.offer.direction
    return entry.ending.direction if entry.ending is not None else None


def title_of(entry: InteractionEntry) -> str:
    """AI title -> email subject -> wrap-up code -> interaction type."""
    if entry.analysis is not None and entry.analysis.ai_title:
        return entry.analysis.ai_title
    if entry.offer is not None and entry.offer.subject:
        return entry.offer.subject
    if entry.wrapup is not None and entry.wrapup.disposition_code:
        return entry.wrapup.disposition_code
    direction = direction_of(entry)
    return _TYPE_TITLES.get(
        (entry.channel, direction),
        _TYPE_TITLES.get((entry.channel, None), f"{entry.channel.capitalize()} interaction"),
    )


def _leg_span(leg: AgentLeg) -> tuple[int, int] | None:
    if leg.ended is None or leg.duration_seconds is None:
        return None
    end = leg.ended[0]
    return end - leg.duration_seconds * 1000, end


def duration_of(entry: InteractionEntry) -> int | None:
    """Interaction duration: the end's, else the time covered by ended legs.

    Overlapping legs (a conference, a consult transfer) are counted once: the fallback is the
    length of the union of the legs' intervals, not the sum of their durations.
    """
    if entry.ending is not None:
        return entry.ending.duration_seconds
    spans = sorted(s for s in map(_leg_span, entry.legs) if s is not None)
    if not spans:
        return None
    total, (lo, hi) = 0, spans[0]
    for start, end in spans[1:]:
        if start > hi:
            total, lo, hi = total + hi - lo, start, end
        else:
            hi = max(hi, end)
    return (total + hi - lo) // 1000


def ended_ms_of(entry: InteractionEntry) -> int | None:
    """When the interaction ended: the interaction-level end, else the last leg end."""
    if entry.ending is not None:
        return entry.ending.stamp[0]
    ends = [leg.ended[0] for leg in entry.legs if leg.ended is not None]
    return max(ends) if ends else None


def queue_of(entry: InteractionEntry) -> str | None:
    """The queue the interaction was routed through, if any."""
    if entry.queued is not None:
        return entry.queued.queue
    return next((leg.queue for leg in entry.legs if leg.queue), None)


def campaign_of(entry: InteractionEntry) -> str | None:
    """The campaign: the wrap-up's (the last word), else the offer's."""
    if entry.wrapup is not None and entry.wrapup.campaign:
        return entry.wrapup.campaign
    return entry.offer.campaign if entry.offer is not None else None


def is_failed(entry: InteractionEntry) -> bool:
    """Failure outcome flag: wrap-up says failed, or its outcome is a failure outcome."""
    if entry.wrapup is None:
        return False
    outcome = (entry.wrapup.outcome or "").lower()
    return entry.wrapup.failed or outcome in FAILED_OUTCOMES


def agent_name_of(entry: InteractionEntry) -> str | None:
    """Name of the wrapping-up agent: the wrap-up's, else their leg's, else any leg's."""
    wrap = entry.wrapup
    if wrap is not None and wrap.agent_name:
        return wrap.agent_name
    named = [leg for leg in entry.legs if leg.agent_name]
    if wrap is not None:
        own = [leg for leg in named if leg.agent_id == wrap.agent_id]
        named = own or named
    return named[0].agent_name if named else None


def ago(delta_ms: int) -> str:
    """Human 'how long ago' for a non-negative delta."""
    seconds = max(0, delta_ms // 1000)
    for unit, size in (
        ("year", 31_536_000),
        ("month", 2_592_000),
        ("day", 86_400),
        ("hour", 3_600),
        ("minute", 60),
    ):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def _iso(ms: int | None) -> str | None:
    return from_ms(ms).isoformat() if ms is not None else None


def _leg(leg: AgentLeg) -> dict[str, Any]:
    span = _leg_span(leg)
    return {
        "leg_id": leg.leg_id,
        "agent_id": leg.agent_id,
        "agent_name": leg.agent_name,
        "queue": leg.queue,
        "mode": leg.mode,
        "duration_seconds": leg.duration_seconds,
        "accepted_at": _iso(leg.accepted[0] if leg.accepted else None),
        "ended_at": _iso(span[1] if span else None),
    }


def _before_ago(entry: InteractionEntry) -> dict[str, Any]:
    wrap = entry.wrapup
    return {
        "interaction_id": entry.interaction_id,
        "channel": entry.channel,
        "title": title_of(entry),
        "direction": direction_of(entry),
        "disposition": wrap.disposition_code if wrap else None,
        "outcome": wrap.outcome if wrap else None,
        "failed": is_failed(entry),
        "queue": queue_of(entry) or NON_QUEUED,
        "campaign": campaign_of(entry),
        "agents": sorted({leg.agent_id for leg in entry.legs if leg.agent_id}),
        "agent_names": sorted({leg.agent_name for leg in entry.legs if leg.agent_name}),
        "legs": [_leg(leg) for leg in entry.legs],
        "started_at": _iso(entry.started_ms),
        "started_ms": entry.started_ms,
        "ended_at": _iso(ended_ms_of(entry)),
        "duration_seconds": duration_of(entry),
    }


def _after_ago(entry: InteractionEntry) -> dict[str, Any]:
    wrap, analysis = entry.wrapup, entry.analysis
    return {
        "sentiment": analysis.sentiment if analysis else None,
        "sentiment_label": analysis.sentiment_label if analysis else None,
        "topics": list(analysis.topics) if analysis else [],
        "notes": wrap.notes if wrap else None,
        "transcript_url": analysis.transcript_url if analysis else None,
        "recording_url": entry.recording.url if entry.recording else None,
        "has_transcript": bool(analysis and (analysis.transcript_url or analysis.transcript_text)),
    }


def describe(entry: InteractionEntry, now_ms: int) -> dict[str, Any]:
    """The timeline item for one entry, relative to `now_ms` (keys are a stable contract).

    Only `ago` depends on `now_ms`; everything else is a function of the entry alone, which
    is what lets `item_fragment` render it once per stored entry."""
    return {**_before_ago(entry), "ago": ago(now_ms - entry.started_ms), **_after_ago(entry)}


# An item as JSON is head + '"<ago>"' + tail: the parts that depend on the entry alone,
# rendered once, around the one that depends on the clock.
Fragment = tuple[str, str]


def item_fragment(entry: InteractionEntry) -> Fragment:
    """`describe(entry, now)` as `json.dumps` writes it, split around the `ago` value."""
    before, after = json.dumps(_before_ago(entry)), json.dumps(_after_ago(entry))
    return before[:-1] + ', "ago": ', ", " + after[1:]


def item_json(fragment: Fragment, started_ms: int, now_ms: int) -> str:
    """`json.dumps(describe(entry, now_ms))` from the entry's fragment (`ago` only renders
    digits, unit words and spaces, so it needs no escaping)."""
    return f'{fragment[0]}"{ago(now_ms - started_ms)}"{fragment[1]}'


def detail(entry: InteractionEntry, now_ms: int) -> dict[str, Any]:
    """`describe` plus what only the single-interaction view shows (IVR path, summary, …)."""
    item = describe(entry, now_ms)
    wrap, analysis, offer = entry.wrapup, entry.analysis, entry.offer
    item.update(
        {
            "ivr_path": list(offer.ivr_path) if offer else [],
            "subject": offer.subject if offer else None,
            "crm_record_hint": entry.hinted.hint if entry.hinted else None,
            "end_reason": entry.ending.end_reason if entry.ending else None,
            "contact_mode": wrap.contact_mode if wrap else None,
            "score": wrap.score if wrap else None,
            "wrapup_agent_id": wrap.agent_id if wrap else None,
            "wrapup_agent_name": agent_name_of(entry),
            "ai_title": analysis.ai_title if analysis else None,
            "summary": analysis.summary if analysis else None,
            "transcript_text": analysis.transcript_text if analysis else None,
            "recording_duration_seconds": entry.recording.duration_seconds
            if entry.recording
            else None,
            "last_event_at": _iso(entry.last_ms),
        }
    )
    return item
