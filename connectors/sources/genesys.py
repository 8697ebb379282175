"""Genesys Cloud -> canonical events: EventBridge conversation detail events, analytics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.sources.common import (
    as_mapping,
    event_id,
    load_json,
    optional,
    parse_time,
    payload_errors,
    text,
)
from connectors.sources.errors import SourcePayloadError
from connectors.sources.genesys_analytics import translate_conversations
from schemas.records import (
    InteractionAccepted,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    InteractionWrappedUp,
)

VENDOR = "genesys"
_TOPIC_PREFIX = "v2.detail.events.conversation."
_MEDIA = {"voice": "voice", "callback": "voice", "chat": "chat", "email": "email"}
_MESSAGE_TYPES = {"sms": "sms", "whatsapp": "whatsapp"}


@payload_errors(VENDOR)
def translate(payload: object, tenant_id: str) -> list[InteractionEvent]:
    """An EventBridge event (or bare notification) or an analytics details result -> events.

    Raises SourcePayloadError for malformed or unrecognised payloads.
    """
    doc = load_json(payload, VENDOR)
    if "conversations" in doc:
        return translate_conversations(doc, tenant_id)
    detail = doc.get("detail", doc)
    detail = as_mapping(detail, VENDOR, "detail")
    topic = optional(detail, "topicName") or ""
    if not topic.startswith(_TOPIC_PREFIX):
        raise SourcePayloadError(f"{VENDOR}: not a conversation detail event")
    body = as_mapping(detail.get("eventBody"), VENDOR, "eventBody")
    return detail_event(topic.split(".", 5)[-1], body, tenant_id)


def _channel(body: Mapping[str, Any]) -> str | None:
    media = text(body, "mediaType", VENDOR).lower()
    if media == "message":
        return _MESSAGE_TYPES.get((optional(body, "messageType") or "").lower(), "chat")
    return _MEDIA.get(media)


def detail_event(kind: str, body: Mapping[str, Any], tenant_id: str) -> list[InteractionEvent]:
    """customer.start -> IVR offer; acd.start -> queued; user.start -> accepted;
    user.end -> agent leg ended; acw -> wrapped up; customer.end -> ended."""
    conversation = text(body, "conversationId", VENDOR)
    channel = _channel(body)
    if channel is None:
        return []
    direction = (optional(body, "direction") or "inbound").lower()
    if direction not in ("inbound", "outbound"):
        raise SourcePayloadError(f"{VENDOR}: direction is neither INBOUND nor OUTBOUND")
    ani, dnis = optional(body, "ani") or "", optional(body, "dnis") or ""
    # ani is the calling party: the customer on inbound calls, the agent/system on outbound.
    customer = ani if direction == "inbound" else dnis
    session = optional(body, "sessionId") or optional(body, "participantId") or ""
    base: dict[str, Any] = {
        "event_id": event_id(tenant_id, VENDOR, conversation, session, kind),
        "tenant_id": tenant_id,
        "occurred_at": parse_time(body.get("eventTime"), VENDOR, "eventTime"),
        "interaction_id": conversation,
        "channel": channel,
        "customer_address": customer or None,
        "source": VENDOR,
    }
    parties: dict[str, Any] = {"direction": direction, "from_address": ani, "to_address": dnis}
    agent = optional(body, "userId")
    queue = optional(body, "queueId")
    duration_ms = body.get("interactingDurationMs", 0)
    if not isinstance(duration_ms, int | float) or isinstance(duration_ms, bool):
        raise SourcePayloadError(f"{VENDOR}: interactingDurationMs is not a number")
    ended: dict[str, Any] = {"duration_seconds": round(duration_ms / 1000), **parties}
    ended["end_reason"] = optional(body, "disconnectType")
    if kind == "customer.start":
        return [InteractionOffered(stage="ivr", **parties, **base)]
    if kind == "acd.start":
        return [InteractionOffered(stage="queued", queue=queue, **parties, **base)]
    if kind == "customer.end":
        return [InteractionEnded(**ended, **base)]
    if agent is None:
        return []
    if kind == "user.start":
        return [InteractionAccepted(agent_id=agent, leg_id=session, queue=queue, **base)]
    if kind == "user.end":
        return [InteractionEnded(agent_id=agent, leg_id=session, **ended, **base)]
    if kind == "acw":
        return [
            InteractionWrappedUp(
                agent_id=agent,
                disposition_code=optional(body, "wrapupCode"),
                notes=optional(body, "wrapupNote"),
                **base,
            )
        ]
    return []  # acd.end, outbound, attributes, ...: not lifecycle
