"""Amazon Connect translation, checked on the published samples in ../shared/vendor-samples."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from connectors.sources import amazon_connect
from connectors.sources.amazon_connect_lens import translate_analysis
from connectors.sources.errors import SourcePayloadError
from schemas.records import (
    InteractionAccepted,
    InteractionAnalyzed,
    InteractionEnded,
    InteractionOffered,
    InteractionWrappedUp,
)
from tests.unit.sources.samples import sample_json

RECEIVED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_connected_to_agent_detail_sample() -> None:
    """contact-events.md block 1 (detail only) -> one InteractionAccepted for the agent."""
    [event] = amazon_connect.translate(
        sample_json("amazon_connect_contact_event_connected_to_agent_detail.json"), "acme"
    )
    assert isinstance(event, InteractionAccepted)
    assert event.interaction_id == "11111111-1111-1111-1111-111111111111"
    assert event.agent_id == "12345678-1234-1234-1234-123456789012"
    assert event.queue == "12345678-1234-1234-1234-123456789012"
    assert event.occurred_at == datetime(2021, 8, 4, 17, 29, 9, tzinfo=UTC)
    assert (event.channel, event.source, event.tenant_id) == ("voice", "amazon_connect", "acme")


def test_disconnected_sample_with_envelope_and_mixed_casing() -> None:
    """contact-events.md block 2 -> InteractionEnded on the initial contact, this contact as leg."""
    [event] = amazon_connect.translate(
        sample_json("amazon_connect_contact_event_disconnected.jsonc"), "acme"
    )
    assert isinstance(event, InteractionEnded)
    assert event.interaction_id == "11111111-2222-3333-4444-555555555555"
    assert event.leg_id == "11111111-1111-1111-1111-111111111111"
    assert event.direction == "outbound"  # initiationMethod OUTBOUND, channel "Voice"
    assert event.duration_seconds == 44  # 17:17:53 -> 17:18:37
    assert event.started_at == datetime(2021, 8, 4, 17, 17, 53, tzinfo=UTC)
    assert event.agent_id == "arn"  # "AgentInfo"/"AgentArn" casing, placeholder value
    # Contact events carry no customer endpoint: the address is unknown, not guessed.
    assert (event.from_address, event.to_address, event.customer_address) == ("", "", None)


def _detail(**changes: object) -> dict[str, object]:
    base = copy.deepcopy(sample_json("amazon_connect_contact_event_connected_to_agent_detail.json"))
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("INITIATED", InteractionOffered),
        ("QUEUED", InteractionOffered),
        ("COMPLETED", InteractionWrappedUp),
        ("CONNECTED_TO_SYSTEM", None),
        ("CONTACT_DATA_UPDATED", None),
        ("SOME_FUTURE_EVENT", None),
    ],
)
def test_event_types(event_type: str, expected: type | None) -> None:
    """Lifecycle event types map to records; others (and future ones) are ignored, per AWS."""
    events = amazon_connect.translate(_detail(eventType=event_type), "acme", received_at=RECEIVED)
    assert [type(e) for e in events] == ([expected] if expected else [])


def test_queued_uses_enqueue_time_and_queue() -> None:
    """QUEUED -> offered at stage queued, at the enqueue timestamp, with the queue id."""
    [event] = amazon_connect.translate(_detail(eventType="QUEUED"), "acme")
    assert isinstance(event, InteractionOffered)
    assert (event.stage, event.queue) == ("queued", "12345678-1234-1234-1234-123456789012")
    assert event.occurred_at == datetime(2021, 8, 4, 17, 29, 4, tzinfo=UTC)


def test_customer_endpoint_when_present() -> None:
    """Newer contact events with customerEndpoint carry the customer address through."""
    detail = _detail(
        eventType="INITIATED",
        customerEndpoint={"address": "+12015550123", "type": "TELEPHONE_NUMBER"},
        systemEndpoint={"address": "+12015550100", "type": "TELEPHONE_NUMBER"},
    )
    [event] = amazon_connect.translate(detail, "acme")
    assert isinstance(event, InteractionOffered)
    assert (event.from_address, event.to_address) == ("+12015550123", "+12015550100")
    assert event.customer_address == "+12015550123"


def test_chat_subtypes_and_tasks() -> None:
    """Chat sub-types map to sms/whatsapp; TASK contacts are not customer interactions."""
    sub = {"connect:Subtype": {"ValueString": "connect:WhatsApp"}}
    [event] = amazon_connect.translate(_detail(channel="CHAT", segmentAttributes=sub), "acme")
    assert event.channel == "whatsapp"
    assert amazon_connect.translate(_detail(channel="TASK"), "acme") == []


def test_flow_event_sample_placeholder_is_rejected_clearly() -> None:
    """The published Lambda event's InitiationMethod is a placeholder ('INBOUND | OUTBOUND ...')."""
    with pytest.raises(SourcePayloadError, match="initiation method"):
        amazon_connect.translate(
            sample_json("amazon_connect_lambda_contact_flow_event.jsonc"),
            "acme",
            received_at=RECEIVED,
        )


def test_flow_event_with_a_real_initiation_method() -> None:
    """The same sample with INBOUND -> an IVR-stage offer carrying the ANI and attributes."""
    doc = sample_json("amazon_connect_lambda_contact_flow_event.jsonc")
    doc["Details"]["ContactData"]["InitiationMethod"] = "INBOUND"
    [event] = amazon_connect.translate(doc, "acme", received_at=RECEIVED)
    assert isinstance(event, InteractionOffered)
    assert (event.stage, event.direction, event.queue) == ("ivr", "inbound", "PasswordReset")
    assert event.customer_address == "+1234567890"
    assert event.from_address == "+1234567890"
    assert event.routing_data == {"exampleAttributeKey1": "exampleAttributeValue1"}
    assert event.occurred_at == RECEIVED
    with pytest.raises(SourcePayloadError, match="received_at"):
        amazon_connect.translate(doc, "acme")


def test_voice_analysis_needs_contact_id_and_time() -> None:
    """The voice analysis file has no ContactId/time: passed in, else a clear error."""
    doc = sample_json("amazon_connect_contact_lens_call_analysis_original.jsonc")
    with pytest.raises(SourcePayloadError, match="ContactId"):
        amazon_connect.translate(doc, "acme")
    [event] = translate_analysis(doc, "acme", contact_id="c-1", occurred_at=RECEIVED)
    assert isinstance(event, InteractionAnalyzed)
    assert event.sentiment == pytest.approx(3.1 / 5)
    assert event.sentiment_label == "POSITIVE"
    assert event.topics == ()
    assert event.ai_title == "I need to cancel. I want to cancel my plan subscription"
    assert event.summary is not None and "Action item: I will send you" in event.summary
    assert event.transcript_text is not None
    assert event.transcript_text.startswith("AGENT: Okay.\nCUSTOMER: Just hello.")


def test_chat_analysis_sample() -> None:
    """The chat analysis file names its contact and times; categories become topics."""
    [event] = amazon_connect.translate(
        sample_json("amazon_connect_contact_lens_chat_analysis_original.json"), "acme"
    )
    assert isinstance(event, InteractionAnalyzed)
    assert event.interaction_id == "b49644f6-672f-445c-b209-f76b36482830"
    assert event.channel == "chat"
    assert event.topics == ("agent-intro",)
    assert event.occurred_at == datetime(2022, 10, 27, 3, 34, 43, 192000, tzinfo=UTC)
    assert event.sentiment == pytest.approx(3.75 / 5)  # the customer's last progressive score
    assert event.summary is not None and event.summary.startswith("Issue: It's just too bad.")


@pytest.mark.parametrize(
    "name",
    [
        "amazon_connect_contact_lens_rules_eventbridge_1.jsonc",
        "amazon_connect_contact_lens_rules_eventbridge_2.jsonc",
        "amazon_connect_contact_lens_realtime_segments_event.json",
    ],
)
def test_ignored_kinds(name: str) -> None:
    """Rules-matched and real-time segment events translate to nothing (see docs/sources.md)."""
    assert amazon_connect.translate(sample_json(name), "acme") == []


def test_event_ids_are_deterministic_and_scoped() -> None:
    """Re-delivery gives the same ids; another tenant or event type gives other ids."""
    raw = json.dumps(sample_json("amazon_connect_contact_event_disconnected.jsonc")).encode()
    first = amazon_connect.translate(raw, "acme")
    assert first == amazon_connect.translate(raw, "acme")
    other_tenant = amazon_connect.translate(raw, "globex")[0].event_id
    other_kind = amazon_connect.translate(_detail(eventType="QUEUED"), "acme")[0].event_id
    assert len({first[0].event_id, other_tenant, other_kind}) == 3


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"\xff\xfe",
        "[1, 2]",
        {},
        {"detail-type": "Amazon Connect Contact Event", "detail": "nope"},
        {"eventType": "QUEUED", "contactId": "c", "channel": "VOICE"},
        {"eventType": "QUEUED", "contactId": "c", "channel": "VOICE", "initiationMethod": 3},
        {
            "eventType": "QUEUED",
            "contactId": "c",
            "channel": "VOICE",
            "initiationMethod": "INBOUND",
            "initiationTimestamp": "yesterday",
        },
        {
            "eventType": "QUEUED",
            "contactId": "c",
            "channel": "VOICE",
            "initiationMethod": "INBOUND",
            "queueInfo": [],
        },
    ],
)
def test_malformed_payloads_raise_source_payload_error(payload: object) -> None:
    """Malformed input raises SourcePayloadError (a ValueError), never KeyError/TypeError."""
    with pytest.raises(SourcePayloadError):
        amazon_connect.translate(payload, "acme")
