"""Twilio -> canonical events: Voice webhooks/status callbacks, Conversations, TaskRouter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from connectors.sources import twilio_taskrouter
from connectors.sources.common import (
    event_id,
    load_form,
    load_json,
    optional,
    parse_time,
    payload_errors,
    text,
    when,
)
from connectors.sources.errors import SourcePayloadError
from schemas.records import InteractionEnded, InteractionEvent, InteractionOffered

VENDOR = "twilio"
_RINGING = frozenset({"queued", "initiated", "ringing"})
_FINAL = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
_MESSAGE_SOURCES = {"SMS": "sms", "WHATSAPP": "whatsapp"}


@payload_errors(VENDOR)
def translate(
    payload: object,
    tenant_id: str,
    *,
    received_at: datetime | None = None,
    dial_param: str | None = None,
    default_channel: str = "voice",
) -> list[InteractionEvent]:
    """A Twilio webhook body (form or JSON) -> canonical events ([] for states c360 ignores).

    dial_param names a custom TwiML-App parameter that carries the number an agent's Voice
    SDK client dialled (Twilio leaves To empty then). default_channel is used for TaskRouter
    tasks on the medium-less `default` channel. Raises SourcePayloadError when malformed.
    """
    if isinstance(payload, bytes | bytearray | str) and _looks_like_json(payload):
        return twilio_taskrouter.translate(load_json(payload, VENDOR), tenant_id, default_channel)
    if isinstance(payload, Mapping) and ("task" in payload or "assignment_status" in payload):
        return twilio_taskrouter.translate(payload, tenant_id, default_channel)
    form = load_form(payload, VENDOR)
    if "CallSid" in form:
        return voice(form, tenant_id, received_at, dial_param)
    if form.get("EventType") == "onMessageAdded":
        return message_added(form, tenant_id, received_at)
    if "." in form.get("EventType", "") and "TaskSid" in form:
        return twilio_taskrouter.translate(
            twilio_taskrouter.from_event_callback(form, VENDOR), tenant_id, default_channel
        )
    if form.get("EventType", "").startswith("on"):
        return []  # other Conversations hooks (onConversationAdded, ...) are not mapped yet
    raise SourcePayloadError(f"{VENDOR}: unrecognised webhook body")


def _looks_like_json(payload: bytes | bytearray | str) -> bool:
    head = payload[:64].lstrip()
    return head[:1] in ("{", b"{")


def _timestamp(form: Mapping[str, str], received_at: datetime | None) -> datetime:
    """Status callbacks carry an RFC 2822 Timestamp; the first webhook of a call does not."""
    stamp = form.get("Timestamp")
    if stamp:
        try:
            return parsedate_to_datetime(stamp)
        except (TypeError, ValueError) as exc:
            raise SourcePayloadError(f"{VENDOR}: Timestamp is not an RFC 2822 date") from exc
    return when(None, received_at, VENDOR)


def voice(
    form: Mapping[str, str], tenant_id: str, received_at: datetime | None, dial_param: str | None
) -> list[InteractionEvent]:
    """Voice webhook / status callback: ringing -> offered, final statuses -> ended."""
    call_sid = text(form, "CallSid", VENDOR)
    status = text(form, "CallStatus", VENDOR).lower()
    raw_direction = text(form, "Direction", VENDOR).lower()
    caller, called = form.get("From", "").strip(), form.get("To", "").strip()
    if dial_param and not called:
        called = form.get(dial_param, "").strip()
    # A Voice SDK client ("client:<identity>") calling in is an agent dialling out.
    agent_leg = caller.lower().startswith("client:")
    if raw_direction == "inbound" and not agent_leg:
        direction, customer = "inbound", caller
    elif raw_direction in ("inbound", "outbound-api", "outbound-dial"):
        direction, customer = "outbound", called
    else:
        raise SourcePayloadError(f"{VENDOR}: unknown call Direction")
    agent = caller.split(":", 1)[1] if agent_leg else None
    common: dict[str, Any] = {
        "tenant_id": tenant_id,
        "occurred_at": _timestamp(form, received_at),
        "interaction_id": optional(form, "ParentCallSid") or call_sid,
        "channel": "voice",
        "direction": direction,
        "from_address": caller,
        "to_address": called,
        "leg_id": call_sid if optional(form, "ParentCallSid") else None,
        "customer_address": customer or None,
        "source": VENDOR,
    }
    eid = event_id(tenant_id, VENDOR, call_sid, status, form.get("SequenceNumber", ""))
    if status in _RINGING:
        known_agent = agent if agent and agent.lower() != "anonymous" else None
        stage = "offered" if known_agent else "ivr"
        return [InteractionOffered(event_id=eid, stage=stage, agent_id=known_agent, **common)]
    if status in _FINAL:
        duration = form.get("CallDuration") or form.get("Duration") or "0"
        if not duration.isdigit():
            raise SourcePayloadError(f"{VENDOR}: CallDuration is not a whole number")
        return [
            InteractionEnded(
                event_id=eid, duration_seconds=int(duration), end_reason=status, **common
            )
        ]
    if status in ("in-progress", "answered", "ringing-no-answer"):
        return []  # no agent or party information beyond what ringing already said
    raise SourcePayloadError(f"{VENDOR}: unknown CallStatus")


def message_added(
    form: Mapping[str, str], tenant_id: str, received_at: datetime | None
) -> list[InteractionEvent]:
    """Conversations onMessageAdded: the conversation (interaction) exists on this channel.

    Only SMS/WhatsApp authors are phone addresses of the customer; an SDK/API author may be
    the agent, so it is not taken as the customer (the address stays unknown).
    """
    conversation = text(form, "ConversationSid", VENDOR)
    message = text(form, "MessageSid", VENDOR)
    source = form.get("Source", "").upper()
    author = form.get("Author", "").strip()
    channel = _MESSAGE_SOURCES.get(source, "chat")
    if author.lower().startswith("whatsapp:"):
        channel = "whatsapp"
    customer = author if source in _MESSAGE_SOURCES else ""
    created = form.get("DateCreated")
    stamp = parse_time(created, VENDOR, "DateCreated") if created else None
    return [
        InteractionOffered(
            event_id=event_id(tenant_id, VENDOR, message, "onMessageAdded"),
            tenant_id=tenant_id,
            occurred_at=when(stamp, received_at, VENDOR),
            interaction_id=conversation,
            channel=channel,
            direction="inbound",
            from_address=customer,
            to_address="",
            stage="ivr",
            customer_address=customer or None,
            source=VENDOR,
        )
    ]
