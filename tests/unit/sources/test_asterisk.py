"""Asterisk AMI translation on the published samples (real queue call + docs examples)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.sources import asterisk
from connectors.sources.errors import SourcePayloadError
from schemas.records import (
    InteractionAccepted,
    InteractionEnded,
    InteractionOffered,
    InteractionTransferred,
)
from tests.unit.sources.samples import sample_text

RECEIVED = datetime(2017, 12, 26, 13, 44, 0, tzinfo=UTC)
CALL = "asterisk:1514295827.372"
ELISION = {"...", "\u2026"}


def _without_elisions(name: str) -> str:
    """The docs samples elide fields with '...' lines (not AMI); drop them before parsing."""
    lines = sample_text(name).splitlines()
    return "\n".join(line for line in lines if line.strip() not in ELISION)


def test_real_queue_call_lifecycle() -> None:
    """The 14-event real capture -> IVR offer, queued, offered to SIP/777, accepted, ends."""
    events = asterisk.translate(
        sample_text("asterisk_ami_queue_call_events_real.txt"), "acme", received_at=RECEIVED
    )
    kinds = [(type(e).__name__, getattr(e, "stage", None)) for e in events]
    assert kinds == [
        ("InteractionOffered", "ivr"),
        ("InteractionOffered", "queued"),
        ("InteractionOffered", "offered"),
        ("InteractionAccepted", None),
        ("InteractionEnded", None),  # AgentComplete: the agent leg
        ("InteractionEnded", None),  # Hangup of the caller's channel: the call
    ]
    assert {e.interaction_id for e in events} == {CALL}
    assert {e.customer_address for e in events} == {"123"}
    ivr, queued, offered, accepted, leg_end, call_end = events
    assert isinstance(ivr, InteractionOffered) and ivr.direction == "inbound"  # via a trunk
    assert ivr.occurred_at == datetime(2017, 12, 26, 13, 43, 47, tzinfo=UTC)  # Uniqueid epoch
    assert isinstance(queued, InteractionOffered) and queued.queue == "Q1"
    assert isinstance(offered, InteractionOffered) and offered.agent_id == "SIP/777"
    assert isinstance(accepted, InteractionAccepted)
    assert (accepted.agent_id, accepted.agent_name, accepted.leg_id) == (
        "SIP/777",
        None,
        "1514295839.373",
    )
    assert isinstance(leg_end, InteractionEnded)
    assert (leg_end.duration_seconds, leg_end.end_reason, leg_end.leg_id) == (
        3,
        "caller",
        "1514295839.373",
    )
    assert isinstance(call_end, InteractionEnded) and call_end.leg_id is None
    assert (call_end.duration_seconds, call_end.end_reason) == (13, "Normal Clearing")


def test_single_agent_event_files() -> None:
    """The single-block AgentConnect/AgentComplete captures translate on their own."""
    [connect] = asterisk.translate(
        sample_text("asterisk_ami_agentconnect_real.txt"), "acme", received_at=RECEIVED
    )
    [complete] = asterisk.translate(
        sample_text("asterisk_ami_agentcomplete_real.txt"), "acme", received_at=RECEIVED
    )
    assert isinstance(connect, InteractionAccepted) and isinstance(complete, InteractionEnded)
    assert complete.duration_seconds == 3


def test_docs_newchannel_layout() -> None:
    """The AMI spec's Newchannel: a named endpoint calling in, timed by its Uniqueid."""
    [event] = asterisk.translate(sample_text("asterisk_ami_newchannel_message_layout.txt"), "acme")
    assert isinstance(event, InteractionOffered)
    assert (event.direction, event.from_address, event.to_address) == (
        "inbound",
        "657-5309",
        "31337",
    )
    assert event.occurred_at == datetime.fromtimestamp(1368479157, tz=UTC)


def test_crlf_wire_format_parses_like_lf() -> None:
    """On the wire AMI uses CRLF; the parse is the same."""
    text = sample_text("asterisk_ami_queue_call_events_real.txt")
    assert asterisk.parse_ami(text.replace("\n", "\r\n")) == asterisk.parse_ami(text)


@pytest.mark.parametrize(
    "name",
    [
        "asterisk_ami_blind_transfer.txt",
        "asterisk_ami_dial_parallel.txt",
        "asterisk_ami_two_party_bridge.txt",
    ],
)
def test_elided_docs_samples_are_rejected_as_published(name: str) -> None:
    """'...' elision lines are not AMI: the raw docs samples raise a clear error."""
    with pytest.raises(SourcePayloadError, match="Key: value"):
        asterisk.translate(sample_text(name), "acme", received_at=RECEIVED)


def test_blind_transfer_docs_sample() -> None:
    """BlindTransfer (elisions dropped) -> a blind transfer to extension 2000 by fozzie."""
    events = asterisk.translate(
        _without_elisions("asterisk_ami_blind_transfer.txt"), "acme", received_at=RECEIVED
    )
    [transfer] = [e for e in events if isinstance(e, InteractionTransferred)]
    assert (transfer.mode, transfer.from_agent_id, transfer.to_agent_id) == (
        "blind",
        "PJSIP/fozzie",
        "2000",
    )


def test_dial_and_bridge_docs_samples_carry_no_lifecycle_of_their_own() -> None:
    """Dial/Bridge events are not mapped; their first channel's Newchannel/Hangup are."""
    for name in ("asterisk_ami_dial_parallel.txt", "asterisk_ami_two_party_bridge.txt"):
        events = asterisk.translate(_without_elisions(name), "acme", received_at=RECEIVED)
        assert all(isinstance(e, InteractionOffered | InteractionEnded) for e in events)


def test_direction_from_the_originating_device() -> None:
    """An extension's phone dialling a long number is outbound; dialling an extension internal."""

    def first(**fields: str) -> InteractionOffered:
        msg = {
            "Event": "Newchannel",
            "Uniqueid": "1700000000.1",
            "Linkedid": "1700000000.1",
            "Channel": "PJSIP/1001-00000001",
            "CallerIDNum": "1001",
            **fields,
        }
        [event] = asterisk.translate(msg, "acme")
        assert isinstance(event, InteractionOffered)
        return event

    outbound = first(Exten="02079460958")
    assert (outbound.direction, outbound.customer_address) == ("outbound", "02079460958")
    assert first(Exten="1002").direction == "internal"
    in_context = asterisk.translate(
        {
            "Event": "Newchannel",
            "Uniqueid": "1.1",
            "Channel": "SIP/trunk-00000001",
            "CallerIDNum": "100",
            "Exten": "5551234",
            "Context": "from-crm",
            "Timestamp": "1700000000",
        },
        "acme",
        outbound_contexts=frozenset({"from-crm"}),
    )
    assert in_context[0].direction == "outbound"  # type: ignore[union-attr]


def test_redelivery_is_idempotent_and_ids_distinct() -> None:
    """Same text -> same events; every event of the call has its own id."""
    text = sample_text("asterisk_ami_queue_call_events_real.txt")
    first = asterisk.translate(text, "acme", received_at=RECEIVED)
    assert first == asterisk.translate(text, "acme", received_at=RECEIVED)
    assert len({e.event_id for e in first}) == len(first)


@pytest.mark.parametrize(
    "payload",
    [
        "Event: Newchannel\nthis is not a header",
        "Event: Newchannel\nChannel: SIP/1-00000001",  # no Uniqueid
        "Event: AgentConnect\nUniqueid: 1.1\nTimestamp: 1700000000",  # no Interface
        "Event: AgentComplete\nUniqueid: 1.1\nInterface: SIP/1\nTalkTime: x\nTimestamp: 1",
        "Event: Hangup\nUniqueid: 1.1",  # no time at all and no received_at
        [42],
    ],
)
def test_malformed_payloads_raise_source_payload_error(payload: object) -> None:
    """Malformed AMI raises SourcePayloadError, never KeyError/TypeError."""
    with pytest.raises(SourcePayloadError):
        asterisk.translate(payload, "acme")  # type: ignore[arg-type]
