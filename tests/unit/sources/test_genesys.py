"""Genesys Cloud translation on the published samples (EventBridge + analytics details)."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.sources import genesys
from connectors.sources.errors import SourcePayloadError
from schemas.records import (
    InteractionAccepted,
    InteractionEnded,
    InteractionOffered,
    InteractionWrappedUp,
)
from tests.unit.sources.samples import sample_json

DETAILS = "genesys_analytics_conversation_detail_query_result.json"
VOICE = "585f63eb-e0be-47b6-a1d0-c65ba586bef2"  # IVR -> queue -> agent voice conversation


def test_customer_start_chat_event() -> None:
    """customer.start (blueprint fixture) -> an IVR-stage chat offer at eventTime."""
    [event] = genesys.translate(
        sample_json("genesys_eventbridge_detail_customer_start_chat.json"), "acme"
    )
    assert isinstance(event, InteractionOffered)
    assert event.interaction_id == "2f7bf00a-0fc2-4d6a-9b56-92238191433e"
    assert (event.channel, event.direction, event.stage) == ("chat", "inbound", "ivr")
    assert event.occurred_at == datetime(2022, 4, 6, 9, 30, 44, 949000, tzinfo=UTC)
    assert event.customer_address is None  # web chat: no ani, externalContactId is no address


def test_customer_end_chat_event() -> None:
    """customer.end -> ended with interactingDurationMs as the duration."""
    [event] = genesys.translate(
        sample_json("genesys_eventbridge_detail_customer_end_chat.json"), "acme"
    )
    assert isinstance(event, InteractionEnded)
    assert event.duration_seconds == 60
    assert event.occurred_at == datetime(2022, 4, 6, 9, 31, 44, 949000, tzinfo=UTC)


def _body(topic: str, **fields: Any) -> dict[str, Any]:
    doc = copy.deepcopy(sample_json("genesys_eventbridge_detail_customer_start_chat.json"))
    doc["detail"]["topicName"] = doc["detail"]["topicName"].replace("customer.start", topic)
    doc["detail"]["eventBody"].update(fields)
    return doc


@pytest.mark.parametrize(
    ("topic", "fields", "expected"),
    [
        ("acd.start", {"queueId": "q1"}, InteractionOffered),
        ("user.start", {"userId": "u1"}, InteractionAccepted),
        ("user.end", {"userId": "u1"}, InteractionEnded),
        ("acw", {"userId": "u1", "wrapupCode": "w1"}, InteractionWrappedUp),
        ("acd.end", {}, None),
        ("user.start", {}, None),  # no userId: nothing to attribute
    ],
)
def test_other_topics(topic: str, fields: dict[str, Any], expected: type | None) -> None:
    """Queue, agent, wrap-up topics map to lifecycle records; others are ignored."""
    events = genesys.translate(_body(topic, **fields), "acme")
    assert [type(e) for e in events] == ([expected] if expected else [])


def test_voice_event_takes_the_ani_as_customer() -> None:
    """A voice customer.start with a tel: ani carries it as the customer address."""
    doc = _body(
        "customer.start", mediaType="VOICE", ani="tel:+81399999998", dnis="tel:+81359891323"
    )
    [event] = genesys.translate(doc, "acme")
    assert isinstance(event, InteractionOffered)
    assert (event.from_address, event.customer_address) == ("tel:+81399999998",) * 2


def test_analytics_details_sample_translates_every_conversation() -> None:
    """All 25 conversations of the 2016 query result end; each has a channel c360 knows."""
    events = genesys.translate(sample_json(DETAILS), "acme")
    ended = [e for e in events if isinstance(e, InteractionEnded)]
    assert len(ended) == 25 == len({e.interaction_id for e in ended})
    assert Counter(e.channel for e in ended) == Counter(voice=21, chat=4)  # callback = voice


def test_analytics_voice_conversation_lifecycle() -> None:
    """IVR -> queue -> agent alert/accept -> wrap-up -> end, with the caller's ani."""
    events = [
        e for e in genesys.translate(sample_json(DETAILS), "acme") if e.interaction_id == VOICE
    ]
    offers = [e for e in events if isinstance(e, InteractionOffered)]
    assert [o.stage for o in offers] == ["ivr", "queued", "offered", "offered"]
    assert {o.customer_address for o in offers} == {"tel:+81399999998"}
    accepted = [e for e in events if isinstance(e, InteractionAccepted)]
    assert "8c88c7f8-b6ba-4761-b2e5-4ae4425a3991" in {a.agent_id for a in accepted}
    [wrap] = [e for e in events if isinstance(e, InteractionWrappedUp)]
    assert wrap.disposition_code == "1ccb1c09-9495-4034-b377-b809f58d17da"
    [end] = [e for e in events if isinstance(e, InteractionEnded)]
    assert end.duration_seconds == 38
    assert end.started_at == datetime(2016, 9, 6, 7, 6, 11, 478000, tzinfo=UTC)


def test_analytics_callback_uses_the_callback_number() -> None:
    """Outbound preview callbacks name the customer in callbackNumbers; wrap-up codes kept."""
    events = [
        e
        for e in genesys.translate(sample_json(DETAILS), "acme")
        if e.interaction_id == "5773eca4-0874-4617-a6e8-85591aa94609"
    ]
    [end] = [e for e in events if isinstance(e, InteractionEnded)]
    assert (end.direction, end.to_address, end.customer_address) == (
        "outbound",
        "+13175202754",
        "+13175202754",
    )
    [wrap] = [e for e in events if isinstance(e, InteractionWrappedUp)]
    assert wrap.disposition_code == "ININ-OUTBOUND-PREVIEW-SKIPPED"


def test_in_progress_conversation_has_no_end() -> None:
    """A conversation with an open segment and no conversationEnd is not ended yet."""
    doc = copy.deepcopy(sample_json(DETAILS))
    conv = next(c for c in doc["conversations"] if c["conversationId"] == VOICE)
    del conv["participants"][0]["sessions"][0]["segments"][-1]["segmentEnd"]
    events = genesys.translate({"conversations": [conv]}, "acme")
    assert not any(isinstance(e, InteractionEnded) for e in events)


def test_event_ids_are_deterministic() -> None:
    """Translating the same result twice gives the same ids, all distinct."""
    first = genesys.translate(sample_json(DETAILS), "acme")
    assert first == genesys.translate(sample_json(DETAILS), "acme")
    assert len({e.event_id for e in first}) == len(first)


@pytest.mark.parametrize(
    "payload",
    [
        b"{",
        {"detail": {"topicName": "v2.users.123.presence"}},
        {"detail": {"topicName": "v2.detail.events.conversation.x.customer.start"}},
        {
            "detail": {
                "topicName": "v2.detail.events.conversation.x.customer.start",
                "eventBody": {"conversationId": "x", "mediaType": "CHAT"},
            }
        },
        {"conversations": "nope"},
        {"conversations": [{"conversationId": "c", "participants": [{"sessions": [1]}]}]},
        {
            "conversations": [
                {
                    "conversationId": "c",
                    "conversationStart": "bad",
                    "participants": [
                        {
                            "purpose": "customer",
                            "sessions": [
                                {
                                    "mediaType": "chat",
                                    "sessionId": "s",
                                    "segments": [
                                        {
                                            "segmentStart": "2016-09-06T10:38:12.756Z",
                                            "segmentEnd": "2016-09-06T10:53:42.552Z",
                                        }
                                    ],
                                }
                            ],
                        }
                    ],
                }
            ]
        },
    ],
)
def test_malformed_payloads_raise_source_payload_error(payload: object) -> None:
    """Malformed input raises SourcePayloadError, never KeyError/TypeError."""
    with pytest.raises(SourcePayloadError):
        genesys.translate(payload, "acme")
