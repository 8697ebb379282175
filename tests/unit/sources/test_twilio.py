"""Twilio translation (Voice, Conversations, TaskRouter) on the published samples."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from connectors.sources import twilio
from connectors.sources.errors import SourcePayloadError
from schemas.records import (
    InteractionAccepted,
    InteractionEnded,
    InteractionOffered,
    InteractionTransferred,
    InteractionWrappedUp,
)
from tests.unit.sources.samples import http_request, sample_json, sample_text

RECEIVED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_incoming_pstn_call_webhook() -> None:
    """A ringing inbound PSTN call -> offered at IVR stage, the caller is the customer."""
    headers, body = http_request("twilio_voice_incoming_pstn_webhook.http")
    assert int(headers["content-length"]) == len(body)  # the capture is byte-exact
    [event] = twilio.translate(body, "acme", received_at=RECEIVED)
    assert isinstance(event, InteractionOffered)
    assert event.interaction_id == "CA0b33a4462bd42d3eeaa07f07653796e3"
    assert (event.direction, event.stage, event.channel) == ("inbound", "ivr", "voice")
    assert (event.from_address, event.to_address) == ("+447381234567", "+12031234567")
    assert event.customer_address == "+447381234567"
    assert event.occurred_at == RECEIVED  # the first webhook of a call has no Timestamp


def test_voice_sdk_client_call_is_an_agent_dialling_out() -> None:
    """From=client:Anonymous with an empty To: outbound; the dialled number is a custom param."""
    _, body = http_request("twilio_voice_incoming_client_anonymous.http")
    [plain] = twilio.translate(body, "acme", received_at=RECEIVED)
    assert isinstance(plain, InteractionOffered)
    assert (plain.direction, plain.from_address, plain.to_address) == (
        "outbound",
        "client:Anonymous",
        "",
    )
    assert plain.customer_address is None and plain.agent_id is None
    [dialled] = twilio.translate(body, "acme", received_at=RECEIVED, dial_param="phoneNumber")
    assert isinstance(dialled, InteractionOffered)
    assert dialled.customer_address == dialled.to_address == "+12031234567"


def _status_callback(**changes: str) -> str:
    form = {
        "CallSid": "CA0b33a4462bd42d3eeaa07f07653796e3",
        "CallStatus": "completed",
        "Direction": "inbound",
        "From": "+447381234567",
        "To": "+12031234567",
        "CallDuration": "42",
        "Timestamp": "Wed, 01 May 2024 12:00:42 +0000",
        "SequenceNumber": "3",
        "CallbackSource": "call-progress-events",
    }
    form.update(changes)
    return urlencode(form)


def test_status_callback_completed() -> None:
    """A completed status callback (fields from Twilio's parameter table) -> ended."""
    [event] = twilio.translate(_status_callback(), "acme")
    assert isinstance(event, InteractionEnded)
    assert (event.duration_seconds, event.end_reason) == (42, "completed")
    assert event.occurred_at == datetime(2024, 5, 1, 12, 0, 42, tzinfo=UTC)


def test_child_leg_folds_into_parent_call() -> None:
    """outbound-dial legs carry ParentCallSid: the parent is the interaction, the child a leg."""
    body = _status_callback(CallSid="CAchild", ParentCallSid="CAparent", Direction="outbound-dial")
    [event] = twilio.translate(body, "acme")
    assert (event.interaction_id, event.leg_id) == ("CAparent", "CAchild")
    assert isinstance(event, InteractionEnded) and event.customer_address == "+12031234567"


def test_in_progress_is_ignored_and_unknown_status_is_an_error() -> None:
    """in-progress says nothing new; an unknown status is a payload error."""
    assert twilio.translate(_status_callback(CallStatus="in-progress"), "acme") == []
    with pytest.raises(SourcePayloadError, match="CallStatus"):
        twilio.translate(_status_callback(CallStatus="exploded"), "acme")


def test_conversations_message_added_sdk_author_is_not_taken_as_customer() -> None:
    """onMessageAdded from an SDK identity: chat interaction, customer address left unknown."""
    [event] = twilio.translate(sample_text("twilio_conversations_onMessageAdded_1.form"), "acme")
    assert isinstance(event, InteractionOffered)
    assert event.interaction_id == "CH6c25138e952448e3b27ef8164097a1c7"
    assert (event.channel, event.from_address, event.customer_address) == ("chat", "", None)
    assert event.occurred_at == datetime(2021, 8, 10, 18, 0, 58, 111000, tzinfo=UTC)


def test_conversations_whatsapp_author_is_the_customer() -> None:
    """A WhatsApp-sourced message names the customer's address."""
    body = sample_text("twilio_conversations_onMessageAdded_1.form")
    body = body.replace("Source=SDK", "Source=WHATSAPP").replace(
        "Author=dave", "Author=whatsapp%3A%2B447381234567"
    )
    [event] = twilio.translate(body, "acme")
    assert (event.channel, event.customer_address) == ("whatsapp", "whatsapp:+447381234567")


def test_reservation_accepted_sdk_event() -> None:
    """reservation.accepted -> accepted by the worker, on the task's queue."""
    [event] = twilio.translate(
        sample_json("twilio_taskrouter_sdk_reservation_accepted.json"), "acme"
    )
    assert isinstance(event, InteractionAccepted)
    assert (event.agent_id, event.queue, event.leg_id) == ("WKxxx", "Sample Queue", "WRxx1")
    assert event.interaction_id == "WTxx1"  # no call_sid/conversationSid in its attributes
    assert event.channel == "voice"  # the `default` task channel -> tenant default_channel
    assert event.occurred_at == datetime.fromtimestamp(1521437338, tz=UTC)


def test_reservation_created_by_cold_queue_transfer() -> None:
    """A pending reservation from a COLD QUEUE transfer -> offered to Alice + blind transfer."""
    doc = sample_json("twilio_taskrouter_sdk_reservation_created_by_cold_transfer.json")
    offered, transferred = twilio.translate(json.dumps(doc), "acme")
    assert isinstance(offered, InteractionOffered) and isinstance(
        transferred, InteractionTransferred
    )
    assert (offered.stage, offered.agent_id, offered.queue) == ("offered", "WKxxx", "EnglishTaskQ")
    assert (transferred.mode, transferred.to_queue, transferred.to_agent_id) == (
        "blind",
        "WQxxx",
        None,
    )
    assert transferred.from_agent_id == "WKxxx"


def test_task_wrapup_without_a_worker_is_not_guessed() -> None:
    """task.wrapup objects do not name the worker, so no wrap-up is invented."""
    doc = sample_json("twilio_taskrouter_sdk_task_wrapup.json")
    assert twilio.translate(doc, "acme") == []
    doc["attributes"] = json.dumps({"worker_sid": "WK1", "conversations": {"outcome": "Sold"}})
    [event] = twilio.translate(doc, "acme")
    assert isinstance(event, InteractionWrappedUp)
    assert (event.agent_id, event.disposition_code) == ("WK1", "Sold")


def test_task_completed_is_ended_with_age_as_duration() -> None:
    """A completed Flex voice task -> ended on its call, from the customer in the attributes."""
    doc = copy.deepcopy(sample_json("twilio_taskrouter_sdk_task_wrapup.json"))
    doc["assignment_status"] = "completed"
    doc["attributes"] = json.dumps(
        {"call_sid": "CA1", "from": "+447381234567", "to": "+12031234567", "direction": "inbound"}
    )
    [event] = twilio.translate(doc, "acme")
    assert isinstance(event, InteractionEnded)
    assert (event.interaction_id, event.duration_seconds) == ("CA1", 413)
    assert (event.from_address, event.customer_address) == ("+447381234567", "+447381234567")


def test_event_callback_form_reservation_accepted() -> None:
    """An EventCallbackUrl form post (parameter table, unverified) maps like the SDK event."""
    body = urlencode(
        {
            "EventType": "reservation.accepted",
            "Sid": "EV1",
            "TaskSid": "WT1",
            "ReservationSid": "WR1",
            "WorkerSid": "WK1",
            "WorkerName": "Alice",
            "TaskQueueName": "Sales",
            "TaskChannelUniqueName": "voice",
            "TaskAttributes": json.dumps({"call_sid": "CA9", "from": "+12015550123"}),
            "Timestamp": "1714564800",
        }
    )
    [event] = twilio.translate(body, "acme")
    assert isinstance(event, InteractionAccepted)
    assert (event.interaction_id, event.agent_id, event.agent_name) == ("CA9", "WK1", "Alice")
    assert event.customer_address == "+12015550123"


def test_redelivery_is_idempotent() -> None:
    """The same webhook twice gives identical events (same event ids)."""
    _, body = http_request("twilio_voice_incoming_pstn_webhook.http")
    first = twilio.translate(body, "acme", received_at=RECEIVED)
    again = twilio.translate(body, "acme", received_at=RECEIVED)
    assert first == again


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"=&=",
        "CallSid=CA1",
        "CallSid=CA1&CallStatus=ringing&Direction=sideways",
        _status_callback(CallDuration="forty"),
        _status_callback(Timestamp="not a date"),
        "EventType=onMessageAdded&MessageSid=IM1",
        '{"task": "nope"}',
        '{"assignment_status": "completed", "sid": "WT1", "attributes": "{bad"}',
        '{"assignment_status": "completed", "sid": "WT1", "date_updated": 1, "age": "x"}',
        '{"sid": "WR1", "reservation_status": "accepted", "task": {"sid": "WT1"}}',
        "{not json",
    ],
)
def test_malformed_payloads_raise_source_payload_error(payload: object) -> None:
    """Malformed input raises SourcePayloadError, never KeyError/TypeError."""
    with pytest.raises(SourcePayloadError):
        twilio.translate(payload, "acme", received_at=RECEIVED)


def test_task_attributes_nested_beyond_the_limit_are_a_payload_error_not_a_crash() -> None:
    """TaskRouter attributes are JSON inside JSON: bounded in depth like the payload."""
    deep = "[" * 100_000 + "]" * 100_000
    doc = json.dumps({"assignment_status": "completed", "sid": "WT1", "attributes": deep})
    with pytest.raises(SourcePayloadError):
        twilio.translate(doc, "acme", received_at=RECEIVED)
