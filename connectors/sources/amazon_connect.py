"""Amazon Connect -> canonical interaction events (contact events, flow Lambda events)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.sources import amazon_connect_lens
from connectors.sources.common import (
    as_mapping,
    event_id,
    ifind,
    load_json,
    optional,
    parse_time,
    payload_errors,
    seconds_between,
    text,
    when,
)
from connectors.sources.errors import SourcePayloadError
from schemas.records import (
    InteractionAccepted,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    InteractionWrappedUp,
)

VENDOR = "amazon_connect"
# Amazon Connect Channel -> canonical channel; TASK is back-office work, not a customer contact.
_CHANNELS = {"voice": "voice", "chat": "chat", "email": "email"}
_SUBTYPES = {"connect:sms": "sms", "connect:whatsapp": "whatsapp"}
# InitiationMethod -> direction. API-started voice contacts are outbound dials; API-started
# chats are customers arriving through a custom widget.
_DIRECTIONS = {
    "INBOUND": "inbound",
    "OUTBOUND": "outbound",
    "CALLBACK": "outbound",
    "AGENT_REPLY": "outbound",
    "TRANSFER": "inbound",
    "QUEUE_TRANSFER": "inbound",
    "EXTERNAL_OUTBOUND": "outbound",
    "WEBRTC_API": "inbound",
    "DISCONNECT": "inbound",
    "MONITOR": "internal",
}
IGNORED_DETAIL_TYPES = (
    "Contact Lens Post Call Rules Matched",  # a rule name only; see docs/sources.md
    "Contact Lens Realtime Rules Matched",
)


@payload_errors(VENDOR)
def translate(
    payload: object, tenant_id: str, *, received_at: datetime | None = None
) -> list[InteractionEvent]:
    """Any supported Amazon Connect payload -> canonical events ([] for kinds c360 ignores).

    Raises SourcePayloadError for malformed payloads and unknown payload shapes.
    """
    doc = load_json(payload, VENDOR)
    detail_type = doc.get("detail-type")
    if detail_type == "Amazon Connect Contact Event":
        detail = as_mapping(doc.get("detail"), VENDOR, "detail")
        return contact_event(detail, tenant_id, doc, received_at)
    if detail_type in IGNORED_DETAIL_TYPES:
        return []
    if "eventType" in doc and "contactId" in doc:  # the `detail` object on its own
        return contact_event(doc, tenant_id, {}, received_at)
    if doc.get("Name") == "ContactFlowEvent":
        return flow_event(doc, tenant_id, received_at)
    if "ConversationCharacteristics" in doc and "Transcript" in doc:
        return amazon_connect_lens.translate_analysis(doc, tenant_id)
    if doc.get("EventType") == "SEGMENTS" or "AgentARN" in doc:
        return []  # real-time segments / agent event stream: not interaction lifecycle
    raise SourcePayloadError(f"{VENDOR}: unrecognised payload shape")


def _channel(raw: str, detail: Mapping[str, Any]) -> str | None:
    subtype = ifind(ifind(detail, "segmentAttributes") or {}, "connect:Subtype") or {}
    sub = (optional(subtype, "ValueString") or "").lower() if isinstance(subtype, Mapping) else ""
    if sub in _SUBTYPES:
        return _SUBTYPES[sub]
    return _CHANNELS.get(raw.lower())


def _direction(method: str, channel: str) -> str:
    if method == "API":
        return "outbound" if channel == "voice" else "inbound"
    if method not in _DIRECTIONS:
        raise SourcePayloadError(f"{VENDOR}: unknown initiation method")
    return _DIRECTIONS[method]


def _arn_id(arn: str | None) -> str | None:
    """The resource id at the end of an ARN (agent/<id>, queue/<id>)."""
    return arn.rsplit("/", 1)[-1] if arn else None


def _endpoint(obj: Mapping[str, Any], key: str) -> str:
    found = ifind(obj, key)
    return (optional(found, "Address") or optional(found, "address") or "") if found else ""


def _time(obj: Mapping[str, Any], key: str) -> datetime | None:
    value = ifind(obj, key)
    return parse_time(value, VENDOR, key) if value else None


def contact_event(
    detail: Mapping[str, Any],
    tenant_id: str,
    envelope: Mapping[str, Any],
    received_at: datetime | None = None,
) -> list[InteractionEvent]:
    """One contact event (INITIATED, QUEUED, CONNECTED_TO_AGENT, DISCONNECTED, COMPLETED)."""
    kind = text(detail, "eventType", VENDOR)
    contact_id = text(detail, "contactId", VENDOR)
    channel = _channel(text(detail, "channel", VENDOR), detail)
    if channel is None:
        return []
    direction = _direction(text(detail, "initiationMethod", VENDOR).upper(), channel)
    agent = ifind(detail, "agentInfo") or {}
    queue = ifind(detail, "queueInfo") or {}
    if not isinstance(agent, Mapping) or not isinstance(queue, Mapping):
        raise SourcePayloadError(f"{VENDOR}: agentInfo/queueInfo must be objects")
    customer = _endpoint(detail, "customerEndpoint")
    system = _endpoint(detail, "systemEndpoint")
    from_addr, to_addr = (system, customer) if direction == "outbound" else (customer, system)
    initiated = _time(detail, "initiationTimestamp")
    fallback = envelope.get("time")
    common: dict[str, Any] = {
        "tenant_id": tenant_id,
        "interaction_id": optional(detail, "initialContactId") or contact_id,
        "channel": channel,
        "customer_address": customer or None,
        "source": VENDOR,
    }

    def at(*keys: tuple[Mapping[str, Any], str]) -> datetime:
        for obj, key in keys:
            found = _time(obj, key)
            if found is not None:
                return found
        envelope_time = parse_time(fallback, VENDOR, "time") if fallback else None
        return when(envelope_time, received_at, VENDOR)

    eid = event_id(tenant_id, VENDOR, contact_id, kind)
    agent_id = _arn_id(optional(agent, "agentArn") or optional(agent, "AgentArn"))
    queue_id = _arn_id(optional(queue, "queueArn"))
    if kind in ("INITIATED", "QUEUED"):
        queued = kind == "QUEUED"
        return [
            InteractionOffered(
                event_id=eid,
                occurred_at=at((queue, "enqueueTimestamp"), (detail, "initiationTimestamp"))
                if queued
                else at((detail, "initiationTimestamp")),
                direction=direction,
                from_address=from_addr,
                to_address=to_addr,
                stage="queued" if queued else "ivr",
                leg_id=contact_id,
                queue=queue_id if queued else None,
                **common,
            )
        ]
    if kind == "CONNECTED_TO_AGENT" and agent_id:
        return [
            InteractionAccepted(
                event_id=eid,
                occurred_at=at((agent, "connectedToAgentTimestamp")),
                agent_id=agent_id,
                leg_id=contact_id,
                queue=queue_id,
                **common,
            )
        ]
    if kind == "DISCONNECTED":
        ended = at((detail, "disconnectTimestamp"))
        return [
            InteractionEnded(
                event_id=eid,
                occurred_at=ended,
                direction=direction,
                from_address=from_addr,
                to_address=to_addr,
                duration_seconds=seconds_between(initiated, ended),
                started_at=initiated,
                end_reason=optional(detail, "disconnectReason"),
                agent_id=agent_id,
                leg_id=contact_id,
                **common,
            )
        ]
    if kind == "COMPLETED" and agent_id:
        return [
            InteractionWrappedUp(
                event_id=eid,
                occurred_at=at(
                    (agent, "afterContactWorkEndTimestamp"), (detail, "disconnectTimestamp")
                ),
                agent_id=agent_id,
                **common,
            )
        ]
    return []  # CONNECTED_TO_SYSTEM, CONTACT_DATA_UPDATED, AMD_*, new types: not lifecycle


def flow_event(
    doc: Mapping[str, Any], tenant_id: str, received_at: datetime | None
) -> list[InteractionEvent]:
    """A contact-flow Lambda invocation: the customer is in the IVR (carries the ANI)."""
    data = as_mapping(
        as_mapping(doc.get("Details"), VENDOR, "Details").get("ContactData"),
        VENDOR,
        "Details.ContactData",
    )
    contact_id = text(data, "ContactId", VENDOR)
    channel = _channel(text(data, "Channel", VENDOR), data)
    if channel is None:
        return []
    direction = _direction(text(data, "InitiationMethod", VENDOR).upper(), channel)
    customer = _endpoint(data, "CustomerEndpoint")
    system = _endpoint(data, "SystemEndpoint")
    queue = data.get("Queue")
    attributes = data.get("Attributes") or {}
    if not isinstance(attributes, Mapping):
        raise SourcePayloadError(f"{VENDOR}: ContactData.Attributes must be an object")
    return [
        InteractionOffered(
            event_id=event_id(tenant_id, VENDOR, contact_id, "ContactFlowEvent"),
            tenant_id=tenant_id,
            occurred_at=when(None, received_at, VENDOR),
            interaction_id=optional(data, "InitialContactId") or contact_id,
            channel=channel,
            direction=direction,
            from_address=system if direction == "outbound" else customer,
            to_address=customer if direction == "outbound" else system,
            stage="ivr",
            leg_id=contact_id,
            queue=optional(queue, "Name") if isinstance(queue, Mapping) else None,
            routing_data={str(k): str(v) for k, v in attributes.items()},
            customer_address=customer or None,
            source=VENDOR,
        )
    ]
