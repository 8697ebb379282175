"""Pure fold of interaction events into one timeline entry per interaction (a semilattice)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TypeVar

from schemas.records import (
    InteractionAccepted,
    InteractionAnalyzed,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    InteractionTransferred,
    InteractionWrappedUp,
    RecordingAvailable,
)

# Why a semilattice: Kafka delivers at least once and legs/analytics arrive late or out of
# order. Every event becomes a partial entry, and `merge` is idempotent, commutative and
# associative, so the stored entry is a function of the *set* of events seen, whatever the
# order or the number of duplicates. Each section is a register: "first" sections keep the
# value with the smallest stamp (the original offer), "last" sections the largest (the last
# wrap-up wins). A stamp is (occurred_at in ms, 64-bit digest of the event id), so ties
# break deterministically.

Stamp = tuple[int, str]
_Section = TypeVar(
    "_Section", "Offer", "Queued", "Hinted", "Ending", "WrapUp", "Analysis", "Recording"
)


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (naive ones are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """Aware UTC datetime of epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass(frozen=True, slots=True)
class Offer:
    """What the first offer/queue event said about the interaction."""

    stamp: Stamp
    direction: str
    queue: str | None = None
    campaign: str | None = None
    subject: str | None = None
    ivr_path: tuple[str, ...] = ()
    hint: str | None = None  # "<crm>:<object>:<id>" of the routing plan's record hint


@dataclass(frozen=True, slots=True)
class Queued:
    """The first queue any offer named (an INITIATED offer often has none yet)."""

    stamp: Stamp
    queue: str


@dataclass(frozen=True, slots=True)
class Hinted:
    """The first CRM record hint any offer carried ("<crm>:<object>:<id>")."""

    stamp: Stamp
    hint: str


@dataclass(frozen=True, slots=True)
class Ending:
    """The interaction-level end (duration and end reason)."""

    stamp: Stamp
    direction: str
    duration_seconds: int
    end_reason: str | None = None


@dataclass(frozen=True, slots=True)
class WrapUp:
    """The last wrap-up of the interaction."""

    stamp: Stamp
    agent_id: str
    disposition_code: str | None = None
    notes: str | None = None
    outcome: str | None = None
    failed: bool = False
    campaign: str | None = None
    contact_mode: str | None = None
    score: float | None = None
    agent_name: str | None = None


@dataclass(frozen=True, slots=True)
class Analysis:
    """The latest analytics result."""

    stamp: Stamp
    sentiment: float | None = None
    sentiment_label: str | None = None
    topics: tuple[str, ...] = ()
    transcript_url: str | None = None
    ai_title: str | None = None
    summary: str | None = None
    transcript_text: str | None = None


@dataclass(frozen=True, slots=True)
class Recording:
    """The latest recording link."""

    stamp: Stamp
    url: str
    duration_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class AgentLeg:
    """One agent (or transfer/conference) leg; its sections merge like the entry's."""

    leg_id: str
    accepted: Stamp | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    queue: str | None = None
    transfer: Stamp | None = None
    mode: str | None = None  # blind | consult | conference, when the leg came from a transfer
    ended: Stamp | None = None
    duration_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class InteractionEntry:
    """Everything known about one interaction, merged from its events."""

    tenant_id: str
    interaction_id: str
    channel: str
    started_ms: int
    last_ms: int
    offer: Offer | None = None
    queued: Queued | None = None
    hinted: Hinted | None = None
    ending: Ending | None = None
    wrapup: WrapUp | None = None
    analysis: Analysis | None = None
    recording: Recording | None = None
    legs: tuple[AgentLeg, ...] = field(default=())


def _first(a: _Section | None, b: _Section | None) -> _Section | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a.stamp <= b.stamp else b


def _last(a: _Section | None, b: _Section | None) -> _Section | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a.stamp >= b.stamp else b


def _pick(a: str | None, b: str | None) -> str | None:
    """Deterministic choice between two unstamped values (commutative: the smaller wins)."""
    if a is None or b is None:
        return a if b is None else b
    return min(a, b)


def _merge_leg(a: AgentLeg, b: AgentLeg) -> AgentLeg:
    # Agent fields come from the latest accept when there is one; otherwise (offer, transfer
    # or leg-end only) from a deterministic pick, so the merge stays commutative.
    none: Stamp = (-1, "")
    acc = a if (a.accepted or none) >= (b.accepted or none) else b
    xfer = a if (a.transfer or none) >= (b.transfer or none) else b
    end = a if (a.ended or none) >= (b.ended or none) else b
    return AgentLeg(
        leg_id=a.leg_id,
        accepted=acc.accepted,
        agent_id=acc.agent_id if acc.accepted else _pick(a.agent_id, b.agent_id),
        agent_name=acc.agent_name if acc.accepted else _pick(a.agent_name, b.agent_name),
        queue=acc.queue if acc.accepted else _pick(a.queue, b.queue),
        transfer=xfer.transfer,
        mode=xfer.mode,
        ended=end.ended,
        duration_seconds=end.duration_seconds,
    )


def _merge_legs(a: tuple[AgentLeg, ...], b: tuple[AgentLeg, ...]) -> tuple[AgentLeg, ...]:
    legs = {leg.leg_id: leg for leg in a}
    for leg in b:
        legs[leg.leg_id] = _merge_leg(legs[leg.leg_id], leg) if leg.leg_id in legs else leg
    return tuple(sorted(legs.values(), key=lambda leg: leg.leg_id))


def merge(a: InteractionEntry | None, b: InteractionEntry) -> InteractionEntry:
    """Join two partial entries of one interaction; idempotent, commutative, associative."""
    if a is None:
        return b
    # The channel is fixed per interaction; a disagreeing producer cannot flip it back and
    # forth, because the smaller value wins deterministically.
    return InteractionEntry(
        tenant_id=a.tenant_id,
        interaction_id=a.interaction_id,
        channel=min(a.channel, b.channel),
        started_ms=min(a.started_ms, b.started_ms),
        last_ms=max(a.last_ms, b.last_ms),
        offer=_first(a.offer, b.offer),
        queued=_first(a.queued, b.queued),
        hinted=_first(a.hinted, b.hinted),
        ending=_last(a.ending, b.ending),
        wrapup=_last(a.wrapup, b.wrapup),
        analysis=_last(a.analysis, b.analysis),
        recording=_last(a.recording, b.recording),
        legs=_merge_legs(a.legs, b.legs),
    )


def _leg_key(leg_id: str | None, agent_id: str | None) -> str:
    return leg_id or (f"agent:{agent_id}" if agent_id else "main")


def event_digest(event_id: str) -> str:
    """64-bit digest (16 hex chars) of an event id: the tie-breaker inside stamps.

    Stamps only order events that share a millisecond, so 8 bytes are enough, and they store
    as 8 raw bytes instead of a 36-character UUID (docs/storage.md, memory per entry)."""
    return hashlib.blake2b(event_id.encode(), digest_size=8).hexdigest()


def entry_of(event: InteractionEvent) -> InteractionEntry:
    """The partial entry one event contributes (pure; never raises for a valid record)."""
    ms = to_ms(event.occurred_at)
    stamp: Stamp = (ms, event_digest(event.event_id))
    base = InteractionEntry(
        tenant_id=event.tenant_id,
        interaction_id=event.interaction_id,
        channel=event.channel,
        started_ms=ms,
        last_ms=ms,
    )
    match event:
        case InteractionOffered():
            hint = event.crm_record_hint
            offer = Offer(
                stamp=stamp,
                direction=event.direction,
                queue=event.queue,
                campaign=event.campaign,
                subject=event.subject,
                ivr_path=event.ivr_path,
                hint=f"{hint.crm}:{hint.object_type}:{hint.record_id}" if hint else None,
            )
            legs: tuple[AgentLeg, ...] = ()
            if event.agent_id and event.stage == "offered":
                key = _leg_key(event.leg_id, event.agent_id)
                legs = (AgentLeg(leg_id=key, agent_id=event.agent_id, queue=event.queue),)
            queued = Queued(stamp, event.queue) if event.queue else None
            hinted = Hinted(stamp, offer.hint) if offer.hint else None
            return replace(base, offer=offer, queued=queued, hinted=hinted, legs=legs)
        case InteractionAccepted():
            leg = AgentLeg(
                leg_id=_leg_key(event.leg_id, event.agent_id),
                accepted=stamp,
                agent_id=event.agent_id,
                agent_name=event.agent_name,
                queue=event.queue,
            )
            return replace(base, legs=(leg,))
        case InteractionTransferred():
            key = _leg_key(event.leg_id, event.to_agent_id or f"queue:{event.to_queue}")
            leg = AgentLeg(
                leg_id=key,
                transfer=stamp,
                mode=event.mode,
                agent_id=event.to_agent_id,
                queue=event.to_queue,
            )
            return replace(base, legs=(leg,))
        case InteractionEnded():
            started = to_ms(event.started_at) if event.started_at else ms
            base = replace(base, started_ms=min(ms, started))
            if event.leg_id:
                leg = AgentLeg(
                    leg_id=event.leg_id,
                    ended=stamp,
                    duration_seconds=event.duration_seconds,
                    agent_id=event.agent_id,
                )
                return replace(base, legs=(leg,))
            ending = Ending(stamp, event.direction, event.duration_seconds, event.end_reason)
            return replace(base, ending=ending)
        case InteractionWrappedUp():
            wrap = WrapUp(
                stamp=stamp,
                agent_id=event.agent_id,
                disposition_code=event.disposition_code,
                notes=event.notes,
                outcome=event.outcome,
                failed=event.failed,
                campaign=event.campaign,
                contact_mode=event.contact_mode,
                score=event.score,
                agent_name=event.agent_name,
            )
            return replace(base, wrapup=wrap)
        case InteractionAnalyzed():
            analysis = Analysis(
                stamp=stamp,
                sentiment=event.sentiment,
                sentiment_label=event.sentiment_label,
                topics=event.topics,
                transcript_url=event.transcript_url,
                ai_title=event.ai_title,
                summary=event.summary,
                transcript_text=event.transcript_text,
            )
            return replace(base, analysis=analysis)
        case RecordingAvailable():
            rec = Recording(stamp, event.recording_url, event.duration_seconds)
            return replace(base, recording=rec)
    msg = f"not an interaction event: {type(event).__name__}"  # pragma: no cover
    raise TypeError(msg)  # pragma: no cover


def apply(entry: InteractionEntry | None, event: InteractionEvent) -> InteractionEntry:
    """Fold one event into an entry; applying the same event twice equals applying it once."""
    return merge(entry, entry_of(event))


def fold(events: list[InteractionEvent]) -> dict[str, InteractionEntry]:
    """Reference fold: the entries (by interaction id) of a set of events, in any order."""
    entries: dict[str, InteractionEntry] = {}
    for event in events:
        entries[event.interaction_id] = apply(entries.get(event.interaction_id), event)
    return entries


@dataclass(frozen=True, slots=True)
class Retention:
    """How much timeline a party keeps per channel: at most `max_entries` within `window_ms`."""

    max_entries: int = 50
    window_ms: int = 365 * 24 * 3600 * 1000
    # How long a trimmed interaction's tombstone absorbs late events after its window.
    tombstone_grace_ms: int = 7 * 24 * 3600 * 1000


def visible(
    entries: list[InteractionEntry], now_ms: int, retention: Retention
) -> list[InteractionEntry]:
    """Entries a read returns: inside the window, newest first, capped per channel.

    The cap keeps the newest `max_entries` per channel by start time (ties by interaction id),
    which is what the Redis index holds after trimming, whatever order events arrived in.
    """
    floor = now_ms - retention.window_ms
    ordered = sorted(
        (e for e in entries if e.started_ms >= floor),
        key=lambda e: (e.started_ms, e.interaction_id),
        reverse=True,
    )
    kept: list[InteractionEntry] = []
    per_channel: dict[str, int] = {}
    for entry in ordered:
        count = per_channel.get(entry.channel, 0)
        if count < retention.max_entries:
            per_channel[entry.channel] = count + 1
            kept.append(entry)
    return kept
