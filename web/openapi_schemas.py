"""JSON schemas of the read model's answers (components of the OpenAPI document)."""

from __future__ import annotations

from typing import Any

from schemas.records import CHANNELS

_STR = {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}
_ITEM: dict[str, Any] = {
    "type": "object",
    "description": "One interaction (IVR, queue, agent, transfer and conference legs folded).",
    "properties": {
        "interaction_id": _STR,
        "channel": {"type": "string", "enum": list(CHANNELS)},
        "title": {
            "type": "string",
            "description": "AI title, else email subject, else "
            "wrap-up code, else the interaction type",
        },
        "direction": _NULLABLE_STR,
        "disposition": _NULLABLE_STR,
        "outcome": _NULLABLE_STR,
        "failed": {"type": "boolean"},
        "queue": {"type": "string", "description": "or 'Non-queued interaction'"},
        "campaign": _NULLABLE_STR,
        "agents": {"type": "array", "items": _STR},
        "agent_names": {"type": "array", "items": _STR},
        "legs": {
            "type": "array",
            "description": "Per leg (agent, transfer, conference): who and how long",
            "items": {
                "type": "object",
                "properties": {
                    "leg_id": _STR,
                    "agent_id": _NULLABLE_STR,
                    "agent_name": _NULLABLE_STR,
                    "queue": _NULLABLE_STR,
                    "mode": {
                        "type": ["string", "null"],
                        "enum": ["blind", "consult", "conference", None],
                    },
                    "duration_seconds": {"type": ["integer", "null"]},
                    "accepted_at": {"type": ["string", "null"], "format": "date-time"},
                    "ended_at": {"type": ["string", "null"], "format": "date-time"},
                },
            },
        },
        "started_at": {"type": "string", "format": "date-time"},
        "started_ms": {"type": "integer"},
        "ended_at": {"type": ["string", "null"], "format": "date-time"},
        "duration_seconds": {"type": ["integer", "null"]},
        "ago": {"type": "string", "examples": ["3 days ago"]},
        "sentiment": {"type": ["number", "null"]},
        "sentiment_label": _NULLABLE_STR,
        "topics": {"type": "array", "items": _STR},
        "notes": _NULLABLE_STR,
        "transcript_url": _NULLABLE_STR,
        "recording_url": _NULLABLE_STR,
        "has_transcript": {"type": "boolean"},
    },
}
_NUM = {"type": ["number", "null"]}
_DETAIL: dict[str, Any] = {
    "allOf": [
        {"$ref": "#/components/schemas/TimelineItem"},
        {
            "type": "object",
            "properties": {
                "ivr_path": {"type": "array", "items": _STR},
                "subject": _NULLABLE_STR,
                "crm_record_hint": _NULLABLE_STR,
                "end_reason": _NULLABLE_STR,
                "contact_mode": _NULLABLE_STR,
                "score": _NUM,
                "wrapup_agent_id": _NULLABLE_STR,
                "wrapup_agent_name": _NULLABLE_STR,
                "ai_title": _NULLABLE_STR,
                "summary": _NULLABLE_STR,
                "transcript_text": _NULLABLE_STR,
                "recording_duration_seconds": {"type": ["integer", "null"]},
                "last_event_at": {"type": "string", "format": "date-time"},
            },
        },
    ]
}
_STEP: dict[str, Any] = {
    "type": "object",
    "properties": {
        "interaction_id": _STR,
        "started_at": {"type": "string", "format": "date-time"},
        "campaign": _STR,
        "channel": _STR,
        "mode": {
            "type": ["string", "null"],
            "enum": ["home", "work", "mobile", "office", "SMS", "email", None],
        },
        "outcome": _NULLABLE_STR,
        "failed": {"type": "boolean"},
        "previous_score": _NUM,
        "score": _NUM,
        "agent_name": _NULLABLE_STR,
        "comments": _NULLABLE_STR,
    },
}
SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {"code": _STR, "message": _STR}}},
    },
    "TimelineItem": _ITEM,
    "Timeline": {
        "type": "object",
        "properties": {
            "tenant": _STR,
            "party": {"type": "object"},
            "profile_id": _STR,
            "channels": {"type": "array", "items": _STR},
            "filters": {"type": "object"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/TimelineItem"}},
            "next_cursor": _NULLABLE_STR,
            "next_before": {"type": ["integer", "null"]},
        },
    },
    "Insights": {
        "type": "object",
        "properties": {
            "sentiment": {
                "type": "object",
                "description": "available=false with a message when "
                "fewer than 2 analysed interactions exist",
            },
            "topics": {
                "type": "object",
                "description": "Admin-defined topics found recently: topics[{topic, "
                "interactions, last_seen}]; available=false when none are configured",
            },
            "engagement": {
                "type": "object",
                "description": "Extractive summary of the notes of the last 30 interactions: "
                "summary, key_terms; available=false with a message when there are no notes",
            },
            "interactions_considered": {"type": "integer"},
        },
    },
    "Journey": {
        "type": "object",
        "properties": {
            "campaigns": {"type": "array", "items": _STR},
            "days": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "date": {"type": "string", "format": "date"},
                        "interactions": {"type": "array", "items": _STEP},
                    },
                },
            },
        },
    },
    "Interaction": {
        "type": "object",
        "properties": {"tenant": _STR, "item": _DETAIL},
    },
}
