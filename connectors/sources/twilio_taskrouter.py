"""Twilio TaskRouter reservations and tasks (SDK JSON or EventCallback form) -> events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.sources.common import (
    as_mapping,
    event_id,
    optional,
    parse_json,
    parse_time,
    text,
)
from connectors.sources.errors import SourcePayloadError
from schemas.records import (
    CHANNELS,
    InteractionAccepted,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    InteractionTransferred,
    InteractionWrappedUp,
)

VENDOR = "twilio"
# Flex puts the medium in attributes.channelType; "web" is Flex WebChat.
_CHANNEL_ALIASES = {"web": "chat", "messenger": "chat", "gbm": "chat", "default": None}
_TRANSFER_MODES = {"COLD": "blind", "WARM": "consult"}


def translate(
    doc: Mapping[str, Any], tenant_id: str, default_channel: str
) -> list[InteractionEvent]:
    """A reservation (has `task`) or a task object -> events; [] for states not mapped."""
    if isinstance(doc.get("task"), Mapping):
        return reservation(doc, tenant_id, default_channel)
    if "assignment_status" in doc:
        return task(doc, tenant_id, default_channel)
    raise SourcePayloadError(f"{VENDOR}: TaskRouter object is neither a reservation nor a task")


def _attributes(task_obj: Mapping[str, Any]) -> Mapping[str, Any]:
    raw = task_obj.get("attributes") or "{}"
    # A JSON string inside the payload: as untrusted as the payload, same depth bound.
    parsed = parse_json(raw, VENDOR, "task attributes") if isinstance(raw, str) else raw
    return as_mapping(parsed, VENDOR, "task attributes")


def _context(task_obj: Mapping[str, Any], tenant_id: str, default_channel: str) -> dict[str, Any]:
    """Fields shared by every event of the task: interaction id, channel, addresses."""
    attrs = _attributes(task_obj)
    task_sid = text(task_obj, "sid", VENDOR)
    medium = (
        optional(attrs, "channelType")
        or optional(task_obj, "task_channel_unique_name")
        or "default"
    ).lower()
    channel = _CHANNEL_ALIASES.get(medium, medium) or default_channel
    if channel not in CHANNELS:
        raise SourcePayloadError(f"{VENDOR}: task channel is not one c360 knows")
    direction = (optional(attrs, "direction") or "inbound").lower()
    if direction not in ("inbound", "outbound"):
        raise SourcePayloadError(f"{VENDOR}: task direction is neither inbound nor outbound")
    customer = (
        optional(attrs, "customerAddress")
        or optional(attrs, "from")
        or optional(attrs, "caller")
        or ""
    )
    system = optional(attrs, "to") or optional(attrs, "called") or ""
    return {
        "task_sid": task_sid,
        "attrs": attrs,
        "tenant_id": tenant_id,
        # Voice tasks name their call, Flex Conversations tasks their conversation.
        "interaction_id": optional(attrs, "call_sid")
        or optional(attrs, "conversationSid")
        or optional(attrs, "channelSid")
        or task_sid,
        "channel": channel,
        "direction": direction,
        "from_address": system if direction == "outbound" else customer,
        "to_address": customer if direction == "outbound" else system,
        "customer_address": customer or None,
        "queue": optional(task_obj, "queue_name"),
    }


def reservation(
    doc: Mapping[str, Any], tenant_id: str, default_channel: str
) -> list[InteractionEvent]:
    """pending -> offered to the worker (+ transferred when it came from a transfer);
    accepted -> accepted; wrapping -> wrapped up; other statuses -> nothing."""
    task_obj = as_mapping(doc.get("task"), VENDOR, "task")
    ctx = _context(task_obj, tenant_id, default_channel)
    sid = text(doc, "sid", VENDOR)
    status = text(doc, "reservation_status", VENDOR).lower()
    worker = text(doc, "worker_sid", VENDOR)
    occurred = parse_time(doc.get("date_updated"), VENDOR, "date_updated")
    eid = event_id(tenant_id, VENDOR, sid, status, doc.get("version", ""))
    base = {
        "tenant_id": tenant_id,
        "occurred_at": occurred,
        "interaction_id": ctx["interaction_id"],
        "channel": ctx["channel"],
        "customer_address": ctx["customer_address"],
        "leg_id": sid,
        "source": VENDOR,
    }
    name = optional(doc, "worker_name")
    if status == "pending":
        keys = ("direction", "from_address", "to_address", "queue")
        out: list[InteractionEvent] = [
            InteractionOffered(
                event_id=eid, stage="offered", agent_id=worker, **base, **{k: ctx[k] for k in keys}
            )
        ]
        transfer = doc.get("task_transfer")
        if isinstance(transfer, Mapping):
            out.append(_transferred(transfer, worker, base))
        return out
    if status == "accepted":
        return [
            InteractionAccepted(
                event_id=eid, agent_id=worker, agent_name=name, queue=ctx["queue"], **base
            )
        ]
    if status == "wrapping":
        return [
            InteractionWrappedUp(
                event_id=eid, agent_id=worker, agent_name=name, **_outcome(ctx["attrs"]), **base
            )
        ]
    return []  # rejected, timeout, canceled, rescinded, completed


def _transferred(
    transfer: Mapping[str, Any], worker: str, base: Mapping[str, Any]
) -> InteractionTransferred:
    tid = text(transfer, "sid", VENDOR)
    to_queue = text(transfer, "transfer_type", VENDOR).upper() == "QUEUE"
    target = optional(transfer, "transfer_to")
    fields = {**base, "event_id": event_id(base["tenant_id"], VENDOR, tid, "transfer")}
    fields["occurred_at"] = parse_time(transfer.get("date_created"), VENDOR, "date_created")
    return InteractionTransferred(
        mode=_TRANSFER_MODES.get(text(transfer, "transfer_mode", VENDOR).upper(), "blind"),
        from_agent_id=optional(transfer, "initiating_worker_sid"),
        to_agent_id=None if to_queue else (target or worker),
        to_queue=target if to_queue else None,
        **fields,
    )


def _outcome(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Flex keeps the agent's disposition in attributes.conversations.outcome."""
    conv = attrs.get("conversations")
    conv = conv if isinstance(conv, Mapping) else {}
    return {"disposition_code": optional(conv, "outcome"), "notes": optional(conv, "content")}


def task(doc: Mapping[str, Any], tenant_id: str, default_channel: str) -> list[InteractionEvent]:
    """completed/canceled -> ended (age = duration); wrapping -> wrapped up only when the
    attributes name the worker (a task object does not); other statuses -> nothing."""
    ctx = _context(doc, tenant_id, default_channel)
    status = text(doc, "assignment_status", VENDOR).lower()
    occurred = parse_time(doc.get("date_updated"), VENDOR, "date_updated")
    eid = event_id(tenant_id, VENDOR, ctx["task_sid"], status, doc.get("version", ""))
    base = {k: ctx[k] for k in ("tenant_id", "interaction_id", "channel", "customer_address")}
    worker = optional(ctx["attrs"], "worker_sid")
    if status == "wrapping" and worker:
        return [
            InteractionWrappedUp(
                event_id=eid,
                occurred_at=occurred,
                agent_id=worker,
                source=VENDOR,
                **_outcome(ctx["attrs"]),
                **base,
            )
        ]
    if status in ("completed", "canceled"):
        age = doc.get("age", 0)
        if not isinstance(age, int) or isinstance(age, bool):
            raise SourcePayloadError(f"{VENDOR}: task age is not a whole number")
        started = doc.get("date_created")
        return [
            InteractionEnded(
                event_id=eid,
                occurred_at=occurred,
                direction=ctx["direction"],
                from_address=ctx["from_address"],
                to_address=ctx["to_address"],
                duration_seconds=age,
                started_at=parse_time(started, VENDOR, "date_created") if started else None,
                end_reason=optional(doc, "reason") or status,
                source=VENDOR,
                **base,
            )
        ]
    return []


def from_event_callback(form: Mapping[str, str], vendor: str) -> dict[str, Any]:
    """An EventCallbackUrl form post (documented parameter table, no published sample) in
    the SDK object shape, so one mapping serves both."""
    kind = text(form, "EventType", vendor)
    state = kind.split(".", 1)[1] if "." in kind else ""
    state = {"created": "pending", "wrapup": "wrapping"}.get(state, state)
    task_obj = {
        "sid": form.get("TaskSid", ""),
        "attributes": form.get("TaskAttributes", "{}"),
        "queue_name": form.get("TaskQueueName"),
        "task_channel_unique_name": form.get("TaskChannelUniqueName", "default"),
        "assignment_status": form.get("TaskAssignmentStatus", ""),
        "age": int(form["TaskAge"]) if form.get("TaskAge", "").isdigit() else 0,
        "date_updated": form.get("Timestamp"),
        "reason": form.get("TaskCompletedReason") or form.get("TaskCanceledReason"),
        "version": form.get("Sid", ""),
    }
    if kind.startswith("reservation."):
        return {
            "sid": form.get("ReservationSid", ""),
            "reservation_status": state,
            "worker_sid": form.get("WorkerSid", ""),
            "worker_name": form.get("WorkerName"),
            "date_updated": form.get("Timestamp"),
            "version": form.get("Sid", ""),
            "task": task_obj,
        }
    task_obj["assignment_status"] = state if kind.startswith("task.") else ""
    return task_obj
