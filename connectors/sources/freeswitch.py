"""FreeSWITCH CHANNEL_HANGUP_COMPLETE (ESL plain events) and mod_json_cdr CDRs -> events."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from connectors.sources.common import (
    event_id,
    from_epoch,
    load_json,
    looks_internal,
    optional,
    payload_errors,
)
from connectors.sources.errors import SourcePayloadError
from schemas.records import InteractionEnded, InteractionEvent, InteractionTransferred

VENDOR = "freeswitch"
# Caller-Transfer-Source: "<epoch>:<uuid>:<bl_xfer|att_xfer|uuid_br>:<dest>/<context>/<dialplan>"
_TRANSFER = re.compile(r"^(?P<epoch>\d+):[^:]*:(?P<kind>bl_xfer|att_xfer):(?P<dest>[^/]+)")


def parse_plain(text: str | bytes) -> dict[str, str]:
    """text/event-plain headers (URL-encoded values) -> dict; raises SourcePayloadError."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    headers: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        key, sep, value = line.partition(": ")
        if not sep or not key or " " in key:
            raise SourcePayloadError(f"{VENDOR}: event line is not 'Header: value'")
        headers[key] = unquote(value.strip())
    return headers


@payload_errors(VENDOR)
def translate(payload: object, tenant_id: str) -> list[InteractionEvent]:
    """A plain ESL event (text) or a mod_json_cdr document (JSON/mapping) -> events.

    The same call gives the same event ids from either source, so a deployment that sends
    both gets each call once. Raises SourcePayloadError when malformed.
    """
    if isinstance(payload, str | bytes) and payload.lstrip()[:1] not in ("{", b"{"):
        fields = parse_plain(payload)
        if fields.get("Event-Name") != "CHANNEL_HANGUP_COMPLETE":
            return []  # other channel events carry no end-of-call facts
        return hangup(_from_plain(fields), tenant_id)
    doc = load_json(payload, VENDOR)
    variables = doc.get("variables")
    if not isinstance(variables, Mapping):
        raise SourcePayloadError(f"{VENDOR}: JSON CDR has no variables object")
    return hangup({str(k): str(v) for k, v in variables.items()}, tenant_id)


def _from_plain(fields: Mapping[str, str]) -> dict[str, str]:
    """Plain event headers -> the channel-variable names the JSON CDR uses."""
    out = {k.removeprefix("variable_"): v for k, v in fields.items() if k.startswith("variable_")}
    out.setdefault("uuid", fields.get("Unique-ID", ""))
    out.setdefault("call_uuid", fields.get("Channel-Call-UUID", ""))
    out.setdefault("caller_id_number", fields.get("Caller-Caller-ID-Number", ""))
    out.setdefault("destination_number", fields.get("Caller-Destination-Number", ""))
    out.setdefault("hangup_cause", fields.get("Hangup-Cause", ""))
    out.setdefault("direction", fields.get("Call-Direction", ""))
    out.setdefault("transfer_source", fields.get("Caller-Transfer-Source", ""))
    return out


def _epoch(variables: Mapping[str, str], key: str) -> datetime | None:
    value = variables.get(key, "")
    if not value.isdigit():
        if value:
            raise SourcePayloadError(f"{VENDOR}: {key} is not an epoch")
        return None
    return from_epoch(int(value)) if int(value) else None


def _parties(variables: Mapping[str, str]) -> tuple[str, str, str]:
    """(direction, from, to): caller = the a-leg's caller id, callee = what it dialled.

    Old captures carry no direction; an extension's own phone calling a long number is an
    outbound call, calling another extension is internal, anything else is inbound.
    """
    caller = (
        optional(variables, "effective_caller_id_number")
        or optional(variables, "caller_id_number")
        or optional(variables, "sip_from_user")
        or ""
    )
    callee = optional(variables, "destination_number") or optional(variables, "sip_to_user") or ""
    cc_queue = optional(variables, "cc_queue")
    if not looks_internal(caller) or cc_queue:
        return "inbound", caller, callee
    return ("internal" if looks_internal(callee) else "outbound"), caller, callee


def hangup(variables: Mapping[str, str], tenant_id: str) -> list[InteractionEvent]:
    """One finished channel -> ended (+ transferred when it was blind/attended transferred)."""
    uuid = optional(variables, "uuid")
    if not uuid:
        raise SourcePayloadError(f"{VENDOR}: channel has no uuid")
    call = optional(variables, "call_uuid") or uuid
    started = _epoch(variables, "start_epoch")
    ended = _epoch(variables, "end_epoch")
    if ended is None:
        raise SourcePayloadError(f"{VENDOR}: channel has no end_epoch")
    duration = variables.get("duration", "0")
    if not duration.isdigit():
        raise SourcePayloadError(f"{VENDOR}: duration is not a whole number")
    direction, caller, callee = _parties(variables)
    customer = callee if direction == "outbound" else caller
    base: dict[str, Any] = {
        "tenant_id": tenant_id,
        "interaction_id": call,
        "channel": "voice",
        "customer_address": customer or None,
        "source": VENDOR,
    }
    out: list[InteractionEvent] = [
        InteractionEnded(
            event_id=event_id(tenant_id, VENDOR, call, uuid, "ended"),
            occurred_at=ended,
            direction=direction,
            from_address=caller,
            to_address=callee,
            duration_seconds=int(duration),
            started_at=started,
            end_reason=optional(variables, "hangup_cause"),
            agent_id=optional(variables, "cc_agent"),
            leg_id=uuid if uuid != call else None,
            **base,
        )
    ]
    transfer = _TRANSFER.match(variables.get("transfer_source", ""))
    if transfer:
        out.append(
            InteractionTransferred(
                event_id=event_id(tenant_id, VENDOR, call, uuid, "transfer", transfer["epoch"]),
                occurred_at=from_epoch(int(transfer["epoch"])),
                mode="blind" if transfer["kind"] == "bl_xfer" else "consult",
                to_agent_id=transfer["dest"],
                leg_id=uuid if uuid != call else None,
                **base,
            )
        )
    return out
