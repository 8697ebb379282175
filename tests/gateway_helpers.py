"""Desktop gateway test helpers: screen-pop factory (view_json v1) and an SSE reader."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import ClientResponse

from schemas.records import MatchCandidate, ScreenPopRequested

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def timeline_item(iid: str, channel: str, started: datetime, **extra: Any) -> dict[str, Any]:
    """A timeline item shaped like core.view.describe's output."""
    item: dict[str, Any] = {
        "interaction_id": iid, "channel": channel, "title": f"{channel.title()} interaction",
        "direction": "inbound", "disposition": None, "outcome": "resolved", "failed": False,
        "queue": "Support", "campaign": None, "agents": ["agent-9"], "legs": [],
        "started_at": started.isoformat(), "ended_at": None, "duration_seconds": 240,
        "ago": "2 days ago", "sentiment": None, "sentiment_label": None, "topics": [],
        "notes": None, "transcript_url": None, "recording_url": None,
    }
    item.update(extra)
    return item


def view(
    iid: str,
    *,
    status: str,
    candidates: list[tuple[str, str]],
    profile: tuple[str, str] | None,
    timeline: list[dict[str, Any]],
    phone: str = "+442079460123",
    insights: dict[str, Any] | None = None,
    trigger: str = "offered",
) -> dict[str, Any]:
    """A view_json document (docs/screen-pops.md, version 1)."""
    return {
        "v": 1,
        "interaction": {"interaction_id": iid, "channel": "voice", "direction": "inbound",
                        "queue": "Support", "trigger": trigger},
        "party": {"kind": "phone", "value": phone, "token": "tok-" + iid},
        "suppressed": False,
        "suppression_reason": None,
        "match": {"status": status, "source": "identifier", "count": len(candidates),
                  "identifier_kind": "phone",
                  "profile_id": profile[0] if profile else None,
                  "reason": f"phone matched {len(candidates)} profiles",
                  "candidates": [{"profile_id": p, "display_name": n} for p, n in candidates],
                  "hint": None},
        "profile": None if profile is None else {
            "profile_id": profile[0], "display_name": profile[1], "source": "csv",
            "fields": [{"name": "display_name", "label": "Name", "type": "text",
                        "value": profile[1]},
                       {"name": "tier", "label": "Tier", "type": "text", "value": "gold"}],
        },
        "timeline_scope": "profile" if profile else "party",
        "timeline": timeline,
        "insights": insights,
        "related": [{"record": "hubspot:call:991", "crm": "hubspot", "object_type": "call",
                     "record_id": "991", "url": None, "source": "activity",
                     "status": "suggested", "decided_by": None}],
        "notes": [] if insights else ["insights: not available in this deployment"],
        "prewarmed": False,
        "rendered_at": NOW.isoformat(),
    }


def pop(
    agent: str,
    *,
    tenant: str = "demo",
    iid: str | None = None,
    status: str = "several",
    candidates: list[tuple[str, str]] | None = None,
    occurred_at: datetime | None = None,
    timeline: list[dict[str, Any]] | None = None,
    insights: dict[str, Any] | None = None,
    phone: str = "+442079460123",
    trigger: str = "offered",
    rang_at: datetime | None = None,
) -> ScreenPopRequested:
    """A ScreenPopRequested for `agent` with a realistic view (`rang_at`: its ring time,
    by default its occurred_at)."""
    iid = iid or f"ix-{uuid.uuid4().hex[:8]}"
    cands = candidates if candidates is not None else [("p-1", "Alice Smith"),
                                                        ("p-2", "Alice Jones")]
    profile = cands[0] if status == "one" else None
    when = occurred_at or datetime.now(tz=UTC)
    items = timeline if timeline is not None else [
        timeline_item("old-1", "voice", when - timedelta(days=2), title="Billing question",
                      sentiment=0.6, sentiment_label="positive", topics=["billing"]),
        timeline_item("old-2", "email", when - timedelta(days=5), title="Refund request",
                      failed=True, outcome="failed", sentiment=-0.4,
                      sentiment_label="negative", topics=["refund"]),
        timeline_item("old-3", "chat", when - timedelta(days=40), title="Delivery status"),
    ]
    doc = view(iid, status=status, candidates=cands, profile=profile, timeline=items,
               phone=phone, insights=insights, trigger=trigger)
    return ScreenPopRequested(
        event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=when, interaction_id=iid,
        agent_id=agent, channel="voice", party_token="tok-" + iid,
        trigger_event_id=str(uuid.uuid4()), match_status=status, match_count=len(cands),
        candidates=tuple(MatchCandidate(p, n) for p, n in cands),
        matched_identifier_kind="phone", reason=doc["match"]["reason"],
        profile_id=profile[0] if profile else None, view_json=json.dumps(doc),
        rang_at=rang_at or when,
    )


def insights_doc() -> dict[str, Any]:
    """An insights object shaped like projections.reads.insights_hook's output."""
    return {
        "sentiment": {"available": True, "count": 3, "average": 0.1, "label": "neutral",
                      "trend": "declining",
                      "items": [{"interaction_id": "old-1", "date": "2025-02-27",
                                 "sentiment": -0.4, "label": "negative"},
                                {"interaction_id": "old-2", "date": "2025-02-24",
                                 "sentiment": 0.2, "label": "neutral"},
                                {"interaction_id": "old-3", "date": "2025-01-20",
                                 "sentiment": 0.6, "label": "positive"}]},
        "topics": {"available": True, "interactions_considered": 3,
                   "topics": [{"topic": "refund", "interactions": 2, "last_seen": "2025-02-27"},
                              {"topic": "billing", "interactions": 1,
                               "last_seen": "2025-02-24"}]},
        "engagement": {"available": True, "interactions_considered": 3, "notes": 2,
                       "summary": "Refund for order 1182 promised within 5 days. "
                                  "Prefers e-mail follow-up.",
                       "key_terms": ["refund", "order", "e-mail"]},
        "interactions_considered": 3,
        "journey": {"campaigns": ["Spring renewals"], "days": [{"date": "2025-02-20",
                    "interactions": [{"interaction_id": "c-1",
                                      "started_at": "2025-02-20T10:00:00+00:00",
                                      "campaign": "Spring renewals", "channel": "voice",
                                      "mode": "mobile", "outcome": "no_answer", "failed": True,
                                      "previous_score": None, "score": 2.0,
                                      "agent_name": "Agent 9", "comments": None}]}]},
    }


def pop_key(record: ScreenPopRequested) -> bytes:
    """The Kafka key the screen-pop agent uses."""
    return f"{record.tenant_id}:{record.agent_id}".encode()


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched Server-Sent Event."""

    id: str | None
    event: str
    data: str

    def json(self) -> Any:
        """The data parsed as JSON."""
        return json.loads(self.data)


async def read_events(resp: ClientResponse, count: int, timeout: float = 20.0) -> list[SseEvent]:
    """Read until `count` events were dispatched (comments and retry lines skipped);
    raises TimeoutError when they do not come."""
    events: list[SseEvent] = []
    fields: dict[str, str] = {}
    data: list[str] = []
    async with asyncio.timeout(timeout):
        while len(events) < count:
            raw = await resp.content.readline()
            if not raw:
                break
            line = raw.decode().rstrip("\r\n")
            if line == "":
                if data:
                    events.append(SseEvent(fields.get("id"), fields.get("event", "message"),
                                           "\n".join(data)))
                fields, data = {}, []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            else:
                fields[name] = value
    return events


async def wait_connected(resp: ClientResponse, timeout: float = 20.0) -> None:
    """Consume the stream's preamble up to the `: connected` comment."""
    async with asyncio.timeout(timeout):
        while True:
            raw = await resp.content.readline()
            if not raw or raw.startswith(b": connected"):
                return
