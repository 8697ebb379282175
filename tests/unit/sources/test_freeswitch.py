"""FreeSWITCH translation on the published CGRateS captures (plain ESL + mod_json_cdr)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from connectors.sources import freeswitch
from connectors.sources.errors import SourcePayloadError
from schemas.records import InteractionEnded, InteractionTransferred
from tests.unit.sources.samples import sample_json, sample_text


def test_hangup_complete_plain_2015() -> None:
    """A 66 s extension-to-extension call, blind-transferred to 1003 (Caller-Transfer-Source)."""
    ended, transferred = freeswitch.translate(
        sample_text("freeswitch_channel_hangup_complete_plain.txt"), "acme"
    )
    assert isinstance(ended, InteractionEnded)
    assert ended.interaction_id == "e3133bf7-dcde-4daf-9663-9a79ffcef5ad"
    assert (ended.duration_seconds, ended.end_reason) == (66, "NORMAL_CLEARING")
    assert (ended.direction, ended.from_address, ended.to_address) == ("internal", "1001", "1003")
    assert ended.started_at == datetime.fromtimestamp(1436280728, tz=UTC)
    assert ended.occurred_at == datetime.fromtimestamp(1436280794, tz=UTC)
    assert isinstance(transferred, InteractionTransferred)
    assert (transferred.mode, transferred.to_agent_id) == ("blind", "1003")


def test_plain_event_and_json_cdr_of_one_call_give_identical_events() -> None:
    """The 2018 plain event and its JSON CDR are one call: same events, same ids (dedupe)."""
    plain = freeswitch.translate(
        sample_text("freeswitch_channel_hangup_complete_plain_2.txt"), "acme"
    )
    cdr = freeswitch.translate(sample_json("freeswitch_json_cdr.json"), "acme")
    assert plain == cdr
    ended = plain[0]
    assert isinstance(ended, InteractionEnded)
    assert (ended.duration_seconds, ended.to_address) == (30, "1002")


def test_json_cdr_as_bytes() -> None:
    """The CDR as posted (raw JSON bytes) translates the same as the parsed document."""
    raw = json.dumps(sample_json("freeswitch_json_cdr.json")).encode()
    assert freeswitch.translate(raw, "acme") == freeswitch.translate(
        sample_json("freeswitch_json_cdr.json"), "acme"
    )


def test_other_plain_events_are_ignored() -> None:
    """CHANNEL_CREATE and friends carry no end-of-call facts."""
    assert freeswitch.translate("Event-Name: CHANNEL_CREATE\nUnique-ID: abc\n", "acme") == []


def test_direction_and_queue_variables() -> None:
    """An extension calling a long number is outbound; mod_callcenter vars name agent/queue."""
    doc = sample_json("freeswitch_json_cdr.json")
    doc["variables"]["destination_number"] = "+442079460958"
    [ended, _] = freeswitch.translate(doc, "acme")
    assert isinstance(ended, InteractionEnded)
    assert (ended.direction, ended.customer_address) == ("outbound", "+442079460958")
    doc["variables"].update({"cc_queue": "support@default", "cc_agent": "agent-7"})
    [ended, _] = freeswitch.translate(doc, "acme")
    assert isinstance(ended, InteractionEnded)
    assert (ended.direction, ended.agent_id) == ("inbound", "agent-7")


@pytest.mark.parametrize(
    "payload",
    [
        "Event-Name: CHANNEL_HANGUP_COMPLETE\nnot a header line",
        "Event-Name: CHANNEL_HANGUP_COMPLETE\nUnique-ID: abc\n",  # no end_epoch
        "Event-Name: CHANNEL_HANGUP_COMPLETE\nvariable_end_epoch: 17\n",  # no uuid
        "Event-Name: CHANNEL_HANGUP_COMPLETE\nUnique-ID: a\nvariable_end_epoch: soon\n",
        "Event-Name: CHANNEL_HANGUP_COMPLETE\nUnique-ID: a\nvariable_end_epoch: 17\n"
        "variable_duration: -3\n",
        '{"variables": []}',
        "{broken json",
        {"core-uuid": "x"},
    ],
)
def test_malformed_payloads_raise_source_payload_error(payload: object) -> None:
    """Malformed events raise SourcePayloadError, never KeyError/TypeError."""
    with pytest.raises(SourcePayloadError):
        freeswitch.translate(payload, "acme")
