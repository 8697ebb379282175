"""Asterisk AMI events (Newchannel, queue/agent events, Hangup, transfers) -> canonical events."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from connectors.sources.common import (
    event_id,
    from_epoch,
    looks_internal,
    payload_errors,
    seconds_between,
    when,
)
from connectors.sources.errors import SourcePayloadError
from schemas.records import (
    InteractionAccepted,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    InteractionTransferred,
)

VENDOR = "asterisk"
_UNIQUEID = re.compile(r"(\d{9,})\.\d+$")  # "<epoch>.<seq>", optionally "<system>-" before it
_CHANNEL = re.compile(r"^(?P<device>[^/]+/[^-;@]+?)(?:-[0-9a-fA-F]{6,8})?(?:;\d)?$")
Block = Mapping[str, str]


def parse_ami(text: str | bytes) -> list[dict[str, str]]:
    """AMI text (CRLF or LF, blank line between messages) -> one dict per message.

    A line that is not `Key: value` raises SourcePayloadError; an `Event:` line also starts a
    new message when the blank line is missing. Responses to actions are dropped.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current = {}
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip() or " " in key.strip():
            raise SourcePayloadError(f"{VENDOR}: AMI line is not 'Key: value'")
        if key.strip() == "Event" and "Event" in current:
            blocks.append(current)
            current = {}
        current[key.strip()] = value.strip()
    if current:
        blocks.append(current)
    return [b for b in blocks if "Event" in b]


@payload_errors(VENDOR)
def translate(
    payload: str | bytes | Block | Iterable[Block],
    tenant_id: str,
    *,
    received_at: datetime | None = None,
    outbound_contexts: frozenset[str] = frozenset(),
) -> list[InteractionEvent]:
    """AMI text or parsed messages -> events. outbound_contexts are dial-plan contexts whose
    calls are outbound (otherwise the direction is read from who originated the channel)."""
    if isinstance(payload, str | bytes):
        messages: list[Block] = list(parse_ami(payload))
    elif isinstance(payload, Mapping):
        messages = [payload]
    else:
        messages = list(payload)
    out: list[InteractionEvent] = []
    for message in messages:
        if not isinstance(message, Mapping):
            raise SourcePayloadError(f"{VENDOR}: an AMI message must be a mapping")
        out.extend(event(message, tenant_id, received_at, outbound_contexts))
    return out


def _started(uniqueid: str) -> datetime | None:
    """Channel creation time: the epoch in the Uniqueid."""
    match = _UNIQUEID.search(uniqueid)
    return from_epoch(int(match.group(1))) if match else None


def device(channel: str) -> str:
    """SIP/777-000000bc -> SIP/777 (the device an agent logs in from)."""
    match = _CHANNEL.match(channel.strip())
    return match.group("device") if match else channel.strip()


def _need(msg: Block, key: str) -> str:
    value = msg.get(key, "").strip()
    if not value:
        raise SourcePayloadError(f"{VENDOR}: {msg.get('Event', 'message')} lacks {key}")
    return value


def _direction(msg: Block, outbound_contexts: frozenset[str]) -> str:
    """Outbound/internal when an extension's own device originated the call; else inbound."""
    if msg.get("Context") in outbound_contexts:
        return "outbound"
    peer = device(msg.get("Channel", "")).split("/", 1)[-1]
    if not looks_internal(peer):
        return "inbound"  # a trunk or named endpoint brought the call in
    return "internal" if looks_internal(msg.get("Exten", "")) else "outbound"


def event(
    msg: Block, tenant_id: str, received_at: datetime | None, outbound_contexts: frozenset[str]
) -> list[InteractionEvent]:
    """One AMI message -> zero or more events."""
    name = _need(msg, "Event")
    if name in ("BlindTransfer", "AttendedTransfer"):
        return _transfer(msg, tenant_id, received_at)
    if name not in (
        "Newchannel",
        "QueueCallerJoin",
        "AgentCalled",
        "AgentConnect",
        "AgentComplete",
        "Hangup",
    ):
        return []
    uniqueid = _need(msg, "Uniqueid")
    linkedid = msg.get("Linkedid") or uniqueid
    if name in ("Newchannel", "Hangup") and linkedid != uniqueid:
        return []  # an agent/dial leg: the queue events describe it with more context
    stamp = msg.get("Timestamp")
    own_time = from_epoch(float(stamp)) if stamp and _is_number(stamp) else None
    if name == "Newchannel" and own_time is None:
        own_time = _started(uniqueid)
    occurred = when(own_time, received_at, VENDOR)
    direction = _direction(msg, outbound_contexts)
    caller, exten = msg.get("CallerIDNum", ""), msg.get("Exten", "")
    customer = exten if direction == "outbound" else caller
    common: dict[str, Any] = {
        "event_id": event_id(
            tenant_id,
            VENDOR,
            linkedid,
            uniqueid,
            name,
            msg.get("DestUniqueid", ""),
            msg.get("SequenceNumber", ""),
        ),
        "tenant_id": tenant_id,
        "occurred_at": occurred,
        "interaction_id": f"asterisk:{linkedid}",
        "channel": "voice",
        "customer_address": customer or None,
        "source": VENDOR,
    }
    parties: dict[str, Any] = {"direction": direction, "from_address": caller, "to_address": exten}
    queue = msg.get("Queue") or None
    agent = msg.get("Interface") or msg.get("MemberName") or None
    leg = msg.get("DestUniqueid") or None
    if name == "Newchannel":
        return [InteractionOffered(stage="ivr", **parties, **common)]
    if name == "QueueCallerJoin":
        return [InteractionOffered(stage="queued", queue=queue, **parties, **common)]
    if name == "Hangup":  # of the call's first channel: the call ended
        started = _started(uniqueid)
        return [
            InteractionEnded(
                duration_seconds=seconds_between(started, occurred),
                started_at=started,
                end_reason=msg.get("Cause-txt") or None,
                **parties,
                **common,
            )
        ]
    if agent is None:
        raise SourcePayloadError(f"{VENDOR}: {name} lacks Interface")
    member = msg.get("MemberName")
    if name == "AgentCalled":
        return [
            InteractionOffered(
                stage="offered", agent_id=agent, leg_id=leg, queue=queue, **parties, **common
            )
        ]
    if name == "AgentConnect":
        return [
            InteractionAccepted(
                agent_id=agent,
                leg_id=leg,
                queue=queue,
                agent_name=member if member != agent else None,
                **common,
            )
        ]
    talk = msg.get("TalkTime", "0")  # AgentComplete: the agent leg ended
    if not talk.isdigit():
        raise SourcePayloadError(f"{VENDOR}: AgentComplete TalkTime is not a number")
    return [
        InteractionEnded(
            duration_seconds=int(talk),
            end_reason=msg.get("Reason") or None,
            agent_id=agent,
            leg_id=leg,
            **parties,
            **common,
        )
    ]


def _is_number(value: str) -> bool:
    return bool(re.fullmatch(r"\d+(\.\d+)?", value))


def _transfer(msg: Block, tenant_id: str, received_at: datetime | None) -> list[InteractionEvent]:
    """Blind transfer to a dial-plan extension; attended transfer to another channel."""
    if msg.get("Result", "Success") != "Success":
        return []
    blind = msg["Event"] == "BlindTransfer"
    prefix = "Transferer" if blind else "OrigTransferer"
    # Partial samples lack the Linkedid; the transferer's channel id is the next best key.
    linkedid = msg.get(f"{prefix}Linkedid") or _need(msg, f"{prefix}Uniqueid")
    target = msg.get("Extension") if blind else device(msg.get("TransferTargetChannel", ""))
    stamp = msg.get("Timestamp")
    own_time = from_epoch(float(stamp)) if stamp and _is_number(stamp) else None
    return [
        InteractionTransferred(
            event_id=event_id(
                tenant_id,
                VENDOR,
                linkedid,
                msg["Event"],
                target or "",
                msg.get("SequenceNumber", ""),
            ),
            tenant_id=tenant_id,
            occurred_at=when(own_time, received_at, VENDOR),
            interaction_id=f"asterisk:{linkedid}",
            channel="voice",
            mode="blind" if blind else "consult",
            from_agent_id=device(msg.get(f"{prefix}Channel", "")) or None,
            to_agent_id=target or None,
            source=VENDOR,
        )
    ]
