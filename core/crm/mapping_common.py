"""Vendor-neutral pieces of activity mapping: description with links, times, direction."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from schemas.records import ActivityRequested

_LINKS = (
    ("Recording", "recording_url"),
    ("Transcript", "transcript_url"),
    ("Email thread", "email_thread_url"),
)


def description(request: ActivityRequested) -> str:
    """The rendered body followed by one "Label: url" line per link present (recording,
    transcript, email thread), so every CRM shows where the evidence lives."""
    lines = [f"{label}: {getattr(request, attr)}" for label, attr in _LINKS
             if getattr(request, attr)]
    body = request.body.strip()
    if not lines:
        return body
    return f"{body}\n\n" + "\n".join(lines) if body else "\n".join(lines)


def started(request: ActivityRequested) -> datetime:
    """When the activity happened: its start, else the request time; always tz-aware UTC."""
    moment = request.started_at or request.occurred_at
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch."""
    return int(moment.timestamp() * 1000)


def iso_seconds(moment: datetime) -> str:
    """ISO 8601 to the second with an explicit +00:00 offset (what Zoho accepts)."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def iso_z(moment: datetime) -> str:
    """ISO 8601 to the second in UTC with a Z suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration_seconds(request: ActivityRequested) -> int:
    """The duration in whole seconds, 0 when unknown or negative."""
    return max(0, request.duration_seconds or 0)


def whole_minutes(seconds: int) -> int:
    """Seconds rounded up to whole minutes (a 10-second call still took a minute)."""
    return math.ceil(seconds / 60) if seconds > 0 else 0


def is_outbound(request: ActivityRequested) -> bool:
    """True only for outbound interactions (internal and unknown count as inbound)."""
    return request.direction == "outbound"


def clip(text: str, limit: int) -> str:
    """At most `limit` characters; an ellipsis marks a cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
