"""Genesys Cloud analytics conversation details (query/job results) -> canonical events."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from connectors.sources.common import as_mapping, event_id, optional, parse_time, text
from connectors.sources.errors import SourcePayloadError
from schemas.records import (
    InteractionAccepted,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    InteractionWrappedUp,
)

VENDOR = "genesys"
# callback is a voice call-back; video/cobrowse/screenshare are not customer contacts here.
_MEDIA = {"voice": "voice", "callback": "voice", "chat": "chat", "email": "email"}
_MESSAGE_TYPES = {"sms": "sms", "whatsapp": "whatsapp"}
_AGENTS = ("agent", "user")
_ROUTING = ("ivr", "acd", "external")


def translate_conversations(doc: Mapping[str, Any], tenant_id: str) -> list[InteractionEvent]:
    """A details query result ({"conversations": [...]}) -> events of every conversation."""
    out: list[InteractionEvent] = []
    for conv in _list(doc.get("conversations"), "conversations"):
        out.extend(conversation(as_mapping(conv, VENDOR, "conversation"), tenant_id))
    return out


def _list(value: object, where: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise SourcePayloadError(f"{VENDOR}: {where} must be a list")
    return value


def _sessions(conv: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    for raw in _list(conv.get("participants"), "participants"):
        part = as_mapping(raw, VENDOR, "participant")
        for session in _list(part.get("sessions", []), "sessions"):
            yield part, as_mapping(session, VENDOR, "session")


def _segments(session: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        as_mapping(s, VENDOR, "segment") for s in _list(session.get("segments", []), "segments")
    ]


def _channel(session: Mapping[str, Any]) -> str | None:
    media = text(session, "mediaType", VENDOR).lower()
    if media == "message":
        return _MESSAGE_TYPES.get((optional(session, "messageType") or "").lower(), "chat")
    return _MEDIA.get(media)


def _parties(conv: Mapping[str, Any]) -> tuple[str, str, str]:
    """(direction, customer address, system address) from the customer's session, else from
    the routing legs (IVR/ACD carry the caller's ani), else an agent's outbound dial."""
    sessions = list(_sessions(conv))
    for part, s in sessions:
        if part.get("purpose") == "customer":
            numbers = s.get("callbackNumbers")
            if isinstance(numbers, list) and numbers:
                return "outbound", str(numbers[0]), ""
            if (optional(s, "direction") or "inbound") == "outbound":
                return "outbound", optional(s, "dnis") or "", optional(s, "ani") or ""
            return "inbound", optional(s, "ani") or "", optional(s, "dnis") or ""
    for part, s in sessions:
        if part.get("purpose") in _ROUTING and optional(s, "direction") == "inbound":
            return "inbound", optional(s, "ani") or "", optional(s, "dnis") or ""
    for part, s in sessions:
        if part.get("purpose") in _AGENTS and optional(s, "direction") == "outbound":
            return "outbound", optional(s, "dnis") or "", optional(s, "ani") or ""
    return "inbound", "", ""


def conversation(conv: Mapping[str, Any], tenant_id: str) -> list[InteractionEvent]:
    """One conversation -> IVR/queue offers, agent offers/accepts/wrap-ups, and its end."""
    cid = text(conv, "conversationId", VENDOR)
    sessions = list(_sessions(conv))
    channels = [c for c in (_channel(s) for _, s in sessions) if c]
    if not channels:
        return []
    direction, customer, system = _parties(conv)
    base: dict[str, Any] = {
        "tenant_id": tenant_id,
        "interaction_id": cid,
        "channel": channels[0],
        "customer_address": customer or None,
        "source": VENDOR,
    }
    offer: dict[str, Any] = {"direction": direction, "from_address": customer, "to_address": system}
    if direction == "outbound":
        offer["from_address"], offer["to_address"] = system, customer
    out: list[InteractionEvent] = []
    seen_stage: set[str] = set()
    for part, session in sessions:
        purpose = str(part.get("purpose", ""))
        segments = _segments(session)
        if not segments:
            continue
        first = segments[0]
        at = parse_time(first.get("segmentStart"), VENDOR, "segmentStart")
        stage = {"ivr": "ivr", "acd": "queued"}.get(purpose)
        if stage and stage not in seen_stage:
            seen_stage.add(stage)
            eid = event_id(tenant_id, VENDOR, cid, text(session, "sessionId", VENDOR), stage)
            queue = optional(first, "queueId")
            out.append(
                InteractionOffered(
                    event_id=eid, occurred_at=at, stage=stage, queue=queue, **offer, **base
                )
            )
        if purpose in _AGENTS:
            out.extend(_agent_leg(part, session, segments, offer, base))
    ended = _ended(conv, sessions, offer, base)
    return out + ended


def _agent_leg(
    part: Mapping[str, Any],
    session: Mapping[str, Any],
    segments: list[Mapping[str, Any]],
    offer: Mapping[str, Any],
    base: Mapping[str, Any],
) -> list[InteractionEvent]:
    """alert -> offered to the agent; first interact -> accepted; wrapup -> wrapped up."""
    agent = optional(part, "userId")
    if agent is None:
        return []
    leg = text(session, "sessionId", VENDOR)
    tenant, cid = base["tenant_id"], base["interaction_id"]
    out: list[InteractionEvent] = []
    accepted = False
    for index, seg in enumerate(segments):
        kind = optional(seg, "segmentType")
        start = parse_time(seg.get("segmentStart"), VENDOR, "segmentStart")
        eid = event_id(tenant, VENDOR, cid, leg, kind, index)
        queue = optional(seg, "queueId")
        common = {"event_id": eid, "occurred_at": start, "agent_id": agent, **base}
        if kind == "alert":
            out.append(
                InteractionOffered(stage="offered", leg_id=leg, queue=queue, **offer, **common)
            )
        elif kind == "interact" and not accepted:
            accepted = True
            out.append(InteractionAccepted(leg_id=leg, queue=queue, **common))
        elif kind == "wrapup":
            end = seg.get("segmentEnd")
            common["occurred_at"] = parse_time(end, VENDOR, "segmentEnd") if end else start
            out.append(
                InteractionWrappedUp(
                    disposition_code=optional(seg, "wrapUpCode"),
                    notes=optional(seg, "wrapUpNote"),
                    **common,
                )
            )
    return out


def _ended(
    conv: Mapping[str, Any],
    sessions: list[tuple[Mapping[str, Any], Mapping[str, Any]]],
    offer: Mapping[str, Any],
    base: Mapping[str, Any],
) -> list[InteractionEvent]:
    """The conversation's end: conversationEnd, else the last segment end once all ended."""
    start = parse_time(conv.get("conversationStart"), VENDOR, "conversationStart")
    segments = [seg for _, s in sessions for seg in _segments(s)]
    talk = [seg for seg in segments if seg.get("segmentType") != "wrapup"]
    end: datetime | None = None
    if conv.get("conversationEnd"):
        end = parse_time(conv.get("conversationEnd"), VENDOR, "conversationEnd")
    elif talk and all(seg.get("segmentEnd") for seg in talk):
        end = max(parse_time(seg["segmentEnd"], VENDOR, "segmentEnd") for seg in talk)
    if end is None:
        return []  # still in progress
    reasons = [optional(seg, "disconnectType") for seg in talk if optional(seg, "disconnectType")]
    return [
        InteractionEnded(
            event_id=event_id(base["tenant_id"], VENDOR, base["interaction_id"], "ended"),
            occurred_at=end,
            duration_seconds=max(0, round((end - start).total_seconds())),
            started_at=start,
            end_reason=reasons[-1] if reasons else None,
            **offer,
            **base,
        )
    ]
