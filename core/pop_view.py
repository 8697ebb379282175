"""Pure rendering of the screen-pop view_json (docs/screen-pops.md, version 1)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.matching import Hint, MatchDecision
from core.ports import Party
from core.profiles import Profile
from core.timeline import InteractionEntry, from_ms
from core.view import direction_of, queue_of
from schemas.records import MatchCandidate

VIEW_VERSION = 1


@dataclass(frozen=True, slots=True)
class Panel:
    """The expensive part of a pop (match, profile, insights, related): what is pre-warmed."""

    match: MatchDecision
    profile: dict[str, Any] | None = None
    insights: dict[str, Any] | None = None
    related: list[dict[str, Any]] | None = None
    notes: tuple[str, ...] = ()
    link: str | None = None  # the interaction's link when computed (cache validity)
    scope_tokens: tuple[str, ...] = field(default=())


def match_view(match: MatchDecision) -> dict[str, Any]:
    """The `match` object of the view."""
    hint = match.hint
    return {
        "status": match.status,
        "source": match.source,
        "count": match.count,
        "identifier_kind": match.identifier_kind,
        "profile_id": match.profile_id,
        "reason": match.reason,
        "candidates": [
            {"profile_id": c.profile_id, "display_name": c.display_name} for c in match.candidates
        ],
        "hint": None
        if hint is None
        else {"crm": hint.crm, "object_type": hint.object_type, "record_id": hint.record_id},
    }


def match_from_view(doc: dict[str, Any]) -> MatchDecision:
    """Inverse of match_view (reading a pre-warmed panel back)."""
    hint = doc.get("hint")
    candidates = tuple(
        MatchCandidate(c["profile_id"], c["display_name"]) for c in doc["candidates"]
    )
    return MatchDecision(
        status=doc["status"],
        source=doc["source"],
        reason=doc["reason"],
        count=doc["count"],
        candidates=candidates,
        identifier_kind=doc["identifier_kind"],
        profile_id=doc["profile_id"],
        hint=None if hint is None else Hint(hint["crm"], hint["object_type"], hint["record_id"]),
    )


def panel_to_json(panel: Panel) -> str:
    """Stored form of a pre-warmed panel."""
    return json.dumps(
        {
            "match": match_view(panel.match),
            "profile": panel.profile,
            "insights": panel.insights,
            "related": panel.related,
            "notes": list(panel.notes),
            "link": panel.link,
            "scope_tokens": list(panel.scope_tokens),
        },
        separators=(",", ":"),
    )


def panel_from_json(raw: str) -> Panel:
    """Parse a stored panel."""
    doc = json.loads(raw)
    return Panel(
        match=match_from_view(doc["match"]),
        profile=doc["profile"],
        insights=doc["insights"],
        related=doc["related"],
        notes=tuple(doc["notes"]),
        link=doc["link"],
        scope_tokens=tuple(doc.get("scope_tokens", ())),
    )


def profile_section(profile: Profile, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The `profile` object of the view."""
    return {
        "profile_id": profile.profile_id,
        "display_name": profile.display_name,
        "source": profile.source,
        "fields": fields,
    }


def _head(entry: InteractionEntry, party: Party, trigger: str) -> dict[str, Any]:
    return {
        "v": VIEW_VERSION,
        "interaction": {
            "interaction_id": entry.interaction_id,
            "channel": entry.channel,
            "direction": direction_of(entry),
            "queue": queue_of(entry),
            "trigger": trigger,
        },
        "party": {"kind": party.kind, "value": party.value, "token": party.token},
    }


def suppressed_view(
    entry: InteractionEntry, party: Party, trigger: str, reason: str, match: MatchDecision
) -> dict[str, Any]:
    """A suppressed pop: enough to explain why nothing opens, nothing more."""
    return {
        **_head(entry, party, trigger),
        "suppressed": True,
        "suppression_reason": reason,
        "match": match_view(match),
    }


def full_view(
    entry: InteractionEntry,
    party: Party,
    trigger: str,
    panel: Panel,
    timeline: list[dict[str, Any]],
    *,
    prewarmed: bool,
    rendered_ms: int,
) -> dict[str, Any]:
    """The whole panel for the agent."""
    return {
        **_head(entry, party, trigger),
        "suppressed": False,
        "suppression_reason": None,
        "match": match_view(panel.match),
        "profile": panel.profile,
        "timeline_scope": "profile" if panel.profile else "party",
        "timeline": timeline,
        "insights": panel.insights,
        "related": panel.related,
        "notes": list(panel.notes),
        "prewarmed": prewarmed,
        "rendered_at": from_ms(rendered_ms).isoformat(),
    }


def dumps(view: dict[str, Any]) -> str:
    """Canonical JSON of a view (compact, UTF-8 kept)."""
    return json.dumps(view, ensure_ascii=False, separators=(",", ":"))
