"""Amazon Connect Contact Lens post-contact analysis files -> InteractionAnalyzed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from connectors.sources.common import event_id, optional, parse_time, payload_errors, text
from connectors.sources.errors import SourcePayloadError
from schemas.records import InteractionAnalyzed, InteractionEvent

VENDOR = "amazon_connect"
MAX_TRANSCRIPT_CHARS = 32_000  # keeps one Kafka record small; the full file stays in S3
MAX_TITLE_CHARS = 120
_SCALE = 5.0  # Contact Lens scores run from -5 to +5
_LABEL_EDGE = 0.2  # |score / 5| below this reads as NEUTRAL


@payload_errors(VENDOR)
def translate_analysis(
    doc: Mapping[str, Any],
    tenant_id: str,
    *,
    contact_id: str | None = None,
    occurred_at: datetime | None = None,
) -> list[InteractionEvent]:
    """One analysis output file -> [InteractionAnalyzed].

    Voice files carry neither the contact id nor a time (both are in the S3 object key and
    metadata), so the caller passes them; chat files carry both. Raises SourcePayloadError
    when either is unknown or the file is malformed.
    """
    meta = doc.get("CustomerMetadata")
    contact = contact_id or (optional(meta, "ContactId") if isinstance(meta, Mapping) else None)
    if not contact:
        raise SourcePayloadError(f"{VENDOR}: analysis file has no ContactId; pass contact_id")
    channel = {"VOICE": "voice", "CHAT": "chat"}.get(text(doc, "Channel", VENDOR).upper())
    if channel is None:
        raise SourcePayloadError(f"{VENDOR}: analysis channel is neither VOICE nor CHAT")
    turns = _list(doc.get("Transcript"), "Transcript")
    when = occurred_at or _last_time(turns)
    if when is None:
        raise SourcePayloadError(f"{VENDOR}: analysis file has no time; pass occurred_at")
    traits = _map(doc.get("ConversationCharacteristics"), "ConversationCharacteristics")
    score = _customer_score(_map(traits.get("Sentiment") or {}, "Sentiment"))
    categories = _map(doc.get("Categories") or {}, "Categories")
    contact_summary = _map(traits.get("ContactSummary") or {}, "ContactSummary")
    issues, outcomes, actions = _findings(turns, contact_summary)
    post = contact_summary.get("PostContactSummary")
    summary = optional(post, "Content") if isinstance(post, Mapping) else None
    if summary is None and (issues or outcomes or actions):
        parts = [f"Issue: {t}" for t in issues] + [f"Outcome: {t}" for t in outcomes]
        summary = "\n".join(parts + [f"Action item: {t}" for t in actions])
    return [
        InteractionAnalyzed(
            event_id=event_id(tenant_id, VENDOR, contact, "analysis", doc.get("Version", "")),
            tenant_id=tenant_id,
            occurred_at=when,
            interaction_id=contact,
            channel=channel,
            sentiment=None if score is None else round(score / _SCALE, 4),
            sentiment_label=None if score is None else _label(score / _SCALE),
            topics=tuple(str(c) for c in _list(categories.get("MatchedCategories"), "categories")),
            transcript_text=_transcript(turns) or None,
            ai_title=issues[0][:MAX_TITLE_CHARS] if issues else None,
            summary=summary,
            source=VENDOR,
        )
    ]


def _map(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SourcePayloadError(f"{VENDOR}: {where} must be an object")
    return value


def _list(value: object, where: str) -> Sequence[Any]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SourcePayloadError(f"{VENDOR}: {where} must be a list")
    return value


def _last_time(turns: Sequence[Any]) -> datetime | None:
    stamps = [t["AbsoluteTime"] for t in turns if isinstance(t, Mapping) and t.get("AbsoluteTime")]
    return parse_time(max(stamps), VENDOR, "AbsoluteTime") if stamps else None


def _customer_score(sentiment: Mapping[str, Any]) -> float | None:
    """Voice: OverallSentiment.CUSTOMER; chat: the customer's last progressive score."""
    overall = sentiment.get("OverallSentiment")
    if isinstance(overall, Mapping) and isinstance(overall.get("CUSTOMER"), int | float):
        return float(overall["CUSTOMER"])
    groups = _list(sentiment.get("DetailsByTranscriptItemGroup"), "Sentiment groups")
    scores = [
        float(g["ProgressiveScore"])
        for g in groups
        if isinstance(g, Mapping)
        and g.get("ParticipantRole") == "CUSTOMER"
        and isinstance(g.get("ProgressiveScore"), int | float)
    ]
    return scores[-1] if scores else None


def _label(score: float) -> str:
    if score >= _LABEL_EDGE:
        return "POSITIVE"
    return "NEGATIVE" if score <= -_LABEL_EDGE else "NEUTRAL"


def _transcript(turns: Sequence[Any]) -> str:
    lines = []
    for turn in turns:
        if not isinstance(turn, Mapping) or turn.get("Type", "MESSAGE") != "MESSAGE":
            continue
        who = optional(turn, "ParticipantRole") or optional(turn, "ParticipantId") or "UNKNOWN"
        content = optional(turn, "Content")
        if content:
            lines.append(f"{who}: {content}")
    return "\n".join(lines)[:MAX_TRANSCRIPT_CHARS]


def _findings(
    turns: Sequence[Any], summary: Mapping[str, Any]
) -> tuple[list[str], list[str], list[str]]:
    """Issues, outcomes and action items: inline per turn (voice) or by offsets (chat)."""
    keys = ("IssuesDetected", "OutcomesDetected", "ActionItemsDetected")
    found: tuple[list[str], list[str], list[str]] = ([], [], [])
    # Voice samples repeat one placeholder Id for every turn: walk the turns, not the index.
    by_id = {t.get("Id"): t for t in turns if isinstance(t, Mapping)}
    for turn in (t for t in turns if isinstance(t, Mapping)):
        for bucket, key in zip(found, keys, strict=True):
            bucket.extend(i["Text"] for i in turn.get(key) or () if optional(i, "Text"))
    for item in _list(summary.get("SummaryItemsDetected"), "SummaryItemsDetected"):
        for bucket, key in zip(found, keys, strict=True):
            for hit in item.get(key) or () if isinstance(item, Mapping) else ():
                bucket.extend(_excerpts(hit, by_id))
    return found


def _excerpts(hit: object, by_id: Mapping[Any, Any]) -> list[str]:
    out = []
    for ref in hit.get("TranscriptItems") or () if isinstance(hit, Mapping) else ():
        turn = by_id.get(ref.get("Id")) if isinstance(ref, Mapping) else None
        offsets = ref.get("CharacterOffsets") or {} if isinstance(ref, Mapping) else {}
        content = optional(turn, "Content") if isinstance(turn, Mapping) else None
        if content:
            begin, end = offsets.get("BeginOffsetChar"), offsets.get("EndOffsetChar")
            fits = (
                isinstance(begin, int) and isinstance(end, int) and 0 <= begin < end <= len(content)
            )
            # Offsets that do not fit the item (seen in the published chat sample) would cut
            # words in half; the whole item is the honest excerpt then.
            out.append((content[begin:end] if fits else content).strip())
    return [t for t in out if t]
