"""Canonical JSON: the documented form, validation messages, fuzzed input and the doc examples."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import codec, records
from schemas.canonical_json import from_json, to_json
from schemas.errors import SchemaError, UnknownRecordType
from tests.unit.schemas import strategies

DOC = Path(__file__).resolve().parents[3] / "docs" / "schemas.md"
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
RECORDING = records.RecordingAvailable("e1", "acme", T0, "call-42", "voice", "https://r/42.wav")
MINIMAL = {"type": "RecordingAvailable", "event_id": "e1", "tenant_id": "acme",
           "occurred_at": "2026-11-22T10:00:00.000Z", "interaction_id": "call-42",
           "channel": "voice", "recording_url": "https://r/42.wav"}


def _with(**changes) -> str:
    return json.dumps({**MINIMAL, **changes})


def test_the_documented_form():
    """"type" first, every field in schema order, nulls written, millisecond UTC stamps."""
    assert to_json(RECORDING) == (
        '{"type":"RecordingAvailable","event_id":"e1","tenant_id":"acme",'
        '"occurred_at":"2026-11-22T10:00:00.000Z","interaction_id":"call-42",'
        '"channel":"voice","recording_url":"https://r/42.wav","duration_seconds":null,'
        '"customer_address":null,"source":"canonical","schema_version":1}'
    )
    assert from_json(json.dumps(MINIMAL)) == RECORDING


@pytest.mark.parametrize(("stamp", "expected"), [
    (1_795_341_600_000, T0),
    ("2026-11-22T12:00:00.000+02:00", T0),
    ("2026-11-22t10:00:00z", T0),
    ("2026-11-22T10:00:00", T0),
    ("2026-11-22T10:00:00.123999Z", T0.replace(microsecond=123_000)),
    ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
])
def test_timestamps_in(stamp, expected):
    """RFC 3339 with any offset (to UTC), no offset = UTC, epoch ms; cut to milliseconds."""
    got = from_json(_with(occurred_at=stamp)).occurred_at
    assert got == expected
    assert got.utcoffset().total_seconds() == 0
    assert got.tzinfo is UTC


def test_timestamps_out_keep_four_digit_years_and_convert_to_utc():
    """Year 1 is 0001; an aware non-UTC datetime is written in UTC; naive is taken as UTC."""
    for moment, text in [
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000Z"),
        (datetime(2026, 11, 22, 12, tzinfo=timezone(timedelta(hours=2))),
         "2026-11-22T10:00:00.000Z"),
        (datetime(2026, 11, 22, 10, 0, 0, 999_999), "2026-11-22T10:00:00.999Z"),
    ]:
        record = dataclasses.replace(RECORDING, occurred_at=moment)
        assert json.loads(to_json(record))["occurred_at"] == text


@pytest.mark.parametrize(("changes", "words"), [
    ({"occurred_at": "2026-11-22"}, "occurred_at is not an RFC 3339 timestamp"),
    ({"occurred_at": "yesterday"}, "occurred_at is not an RFC 3339 timestamp"),
    ({"occurred_at": 10**20}, "occurred_at is out of the timestamp range"),
    ({"occurred_at": True}, "occurred_at must be an RFC 3339 timestamp or epoch milliseconds"),
    ({"event_id": None}, "RecordingAvailable.event_id must not be null"),
    ({"duration_seconds": 2**63}, "duration_seconds is out of the 64-bit range"),
    ({"duration_seconds": 1.5}, "duration_seconds must be int, got float"),
    ({"duration_seconds": True}, "duration_seconds must be int, got boolean"),
    ({"channel": ["voice"]}, "channel must be str, got list"),
    ({"tenant_id": "\ud800"}, "tenant_id is not valid Unicode"),
])
def test_bad_values_are_named(changes, words):
    """Each mistyped value is reported with its record and field."""
    with pytest.raises(SchemaError, match=re.escape(words)):
        from_json(_with(**changes))


def test_all_problems_are_reported_at_once():
    """Missing fields first, then every bad value, in one message."""
    doc = {"type": "RecordingAvailable", "event_id": 1, "occurred_at": "x", "channel": "v"}
    with pytest.raises(SchemaError) as caught:
        from_json(json.dumps(doc))
    assert str(caught.value) == (
        "RecordingAvailable: missing required field(s) tenant_id, interaction_id, "
        "recording_url; RecordingAvailable.event_id must be str, got int; "
        "RecordingAvailable.occurred_at is not an RFC 3339 timestamp"
    )


def test_optional_fields_may_be_left_out_or_null_and_unknown_fields_are_ignored():
    """Defaults apply to absent optional fields; extra fields (a newer producer) are ignored;
    null is only a value where the type is nullable."""
    assert from_json(_with(duration_seconds=None, storage_tier="cold")) == RECORDING
    with pytest.raises(SchemaError, match=re.escape("RecordingAvailable.source must not be null")):
        from_json(_with(source=None))  # a defaulted field that is not nullable


def test_nullable_required_fields_must_be_present_but_may_be_null():
    """PartyInteraction.party_value: null is a value, absence is an error."""
    party = records.PartyInteraction("e", "acme", T0, "tok", "anonymous", None, "v1", False,
                                     RECORDING)
    doc = json.loads(to_json(party))
    assert doc["party_value"] is None and from_json(json.dumps(doc)) == party
    del doc["party_value"]
    with pytest.raises(SchemaError, match=re.escape("missing required field(s) party_value")):
        from_json(json.dumps(doc))


def test_the_union_member_carries_its_type_and_is_validated():
    """PartyInteraction.event needs a known "type"; nested problems name the path."""
    party = json.loads(to_json(records.PartyInteraction(
        "e", "acme", T0, "tok", "phone", "+44", "v1", False, RECORDING)))
    assert party["event"]["type"] == "RecordingAvailable"
    party["event"]["extra"] = 1
    assert from_json(json.dumps(party)).event == RECORDING
    for event, words in [
        ({**party["event"], "type": "ProfileUpserted"}, 'whose "type" is one of InteractionOff'),
        ({k: v for k, v in party["event"].items() if k != "channel"},
         "PartyInteraction.event: RecordingAvailable: missing required field(s) channel"),
        ("RecordingAvailable", 'PartyInteraction.event must be an object whose "type"'),
    ]:
        with pytest.raises(SchemaError, match=re.escape(words)):
            from_json(json.dumps({**party, "event": event}))


def test_bytes_are_base64():
    """DeadLetter keys and values travel as standard base64."""
    letter = records.DeadLetter("e", T0, "c360.interactions.v1", 0, 7, b"\xc3\x01\x00", "E",
                                "m", "normalize", original_key=b"k")
    doc = json.loads(to_json(letter))
    assert doc["original_value"] == "wwEA" and doc["original_key"] == "aw=="
    assert from_json(json.dumps(doc)) == letter
    with pytest.raises(SchemaError, match=re.escape("DeadLetter.original_value is not base64")):
        from_json(json.dumps({**doc, "original_value": "not base64!"}))


def test_nan_and_infinity_have_no_json_form():
    """Refused on output (SchemaError naming the field) and on input (not JSON)."""
    analyzed = records.InteractionAnalyzed("e", "acme", T0, "ix", "voice",
                                           sentiment=float("inf"))
    with pytest.raises(SchemaError, match=re.escape("InteractionAnalyzed.sentiment is inf")):
        to_json(analyzed)
    assert codec.decode(codec.encode(analyzed)) == analyzed  # Avro carries it
    with pytest.raises(SchemaError, match="not JSON"):
        from_json('{"type": "InteractionAnalyzed", "sentiment": NaN}')


@pytest.mark.parametrize(("text", "error", "words"), [
    ("[" * 100_000, SchemaError, "not JSON"),
    ('{"a": ' * 50_000, SchemaError, "not JSON"),
    ("[]", SchemaError, 'object with a "type" field'),
    ('{"type": 5}', SchemaError, 'object with a "type" field'),
    ('{"type": "c360.v2.RecordingAvailable"}', UnknownRecordType, "c360.v2.RecordingAvailable"),
    (b"\xff\xfe{", SchemaError, "not JSON"),
])
def test_malformed_documents(text, error, words):
    """Deep nesting, non-objects, bad types and bad encodings are SchemaErrors."""
    with pytest.raises(error, match=re.escape(words)):
        from_json(text)


def test_full_type_names_are_accepted():
    """"c360.v1.RecordingAvailable" is the same as "RecordingAvailable"."""
    assert from_json(_with(type="c360.v1.RecordingAvailable")) == RECORDING


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10) | st.sampled_from(["2026-11-22T10:00:00Z", "d2Vi", "voice"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8,
)


@st.composite
def _json_documents(draw):
    """A record of a random kind with random valid and invalid field values."""
    cls = draw(st.sampled_from(strategies.TOP_LEVEL))
    doc = json.loads(to_json(draw(strategies.record(cls))))
    for name in draw(st.lists(st.sampled_from(sorted(doc)), max_size=3)):
        if draw(st.booleans()):
            doc.pop(name, None)
        else:
            doc[name] = draw(_json_values)
    return doc


@settings(max_examples=300, deadline=None)
@given(_json_documents())
def test_fuzzed_documents_validate_completely(doc):
    """Any document gives a SchemaError or a record — and an accepted record always encodes
    to Avro and round-trips, so JSON validation is as strict as the Avro schema."""
    with contextlib.suppress(SchemaError):
        record = from_json(json.dumps(doc))
        assert codec.decode(codec.encode(record)) == record
        assert from_json(to_json(record)) == record


def _doc_examples() -> list[dict]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Examples", 1)[1]
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, re.S)]


def test_the_documented_examples_are_valid_and_cover_every_record_kind():
    """docs/schemas.md has one parseable example per top-level record, in canonical form."""
    examples = _doc_examples()
    assert sorted(e["type"] for e in examples) == sorted(c.__name__ for c in strategies.TOP_LEVEL)
    for example in examples:
        record = from_json(json.dumps(example))
        assert json.loads(to_json(record)) == example
