"""Avro single-object codec: round trips, exact bytes, and clean failures on any input."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import canonical_json, codec, records
from schemas.errors import PayloadTooLarge, SchemaError, UnknownRecordType
from schemas.registry import registry
from tests.unit.schemas import strategies

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
OFFER = records.InteractionOffered(
    "e1", "acme", T0, "call-42", "voice", "inbound", "+442079460123", "+442079460999",
    stage="queued", queue="Billing", ivr_path=("main", "billing"),
    routing_data={"lang": "en"}, crm_record_hint=records.CrmRecordHint("hubspot", "contact", "7"),
)
PARTY = records.PartyInteraction("e2", "acme", T0, "tok", "phone", "+442079460123", "v1",
                                 False, OFFER)


@pytest.mark.parametrize("cls", strategies.TOP_LEVEL, ids=lambda c: c.__name__)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_avro_round_trip_and_stable_bytes(cls, data):
    """decode(encode(x)) == x (arrays as tuples, nested dataclasses) and re-encoding is
    byte-identical (consumers may hash encodings, e.g. the CRM sink's content hash)."""
    record = data.draw(strategies.record(cls, json_safe=False))
    encoded = codec.encode(record)
    decoded = codec.decode(encoded)
    assert decoded == record
    assert codec.encode(decoded) == encoded


@pytest.mark.parametrize("cls", strategies.TOP_LEVEL, ids=lambda c: c.__name__)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_canonical_json_round_trip(cls, data):
    """from_json(to_json(x)) == x, and decode() reads the JSON bytes as the same record."""
    record = data.draw(strategies.record(cls))
    text = canonical_json.to_json(record)
    assert canonical_json.from_json(text) == record
    assert codec.decode(b"  \n" + text.encode()) == record


def test_decoded_datetimes_are_utc_aware_and_collections_are_tuples():
    """Timestamps come back tz-aware UTC; arrays are tuples; nested records dataclasses."""
    got = codec.decode(codec.encode(PARTY))
    assert got.occurred_at.tzinfo is not None and got.occurred_at.utcoffset().total_seconds() == 0
    assert got.event.ivr_path == ("main", "billing")
    assert isinstance(got.event.crm_record_hint, records.CrmRecordHint)


def test_naive_datetimes_are_encoded_as_utc():
    """A naive datetime means UTC, whatever the host's time zone (fastavro alone would use
    local time)."""
    naive = records.RecordingAvailable("e", "t", datetime(2026, 1, 1, 12, 0), "i", "voice", "u")
    assert codec.decode(codec.encode(naive)).occurred_at == datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_single_object_header():
    """C3 01, then the writer schema's 8-byte fingerprint, then the Avro body."""
    data = codec.encode(OFFER)
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == registry().of(records.InteractionOffered).fingerprint


@settings(max_examples=400)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_to_a_record_or_a_schema_error(data):
    """The decoder never raises anything but SchemaError on garbage (DLQ-able)."""
    with contextlib.suppress(SchemaError):
        codec.decode(data)


@settings(max_examples=300)
@given(entry=st.sampled_from(sorted(registry().by_name)), body=st.binary(max_size=80))
def test_known_header_with_garbage_body_is_a_schema_error_or_a_record(entry, body):
    """A known fingerprint followed by junk is rejected cleanly (or happens to decode)."""
    fingerprint = registry().by_name[entry].fingerprint
    with contextlib.suppress(SchemaError):
        codec.decode(codec.MAGIC + fingerprint + body)


@settings(max_examples=60, deadline=None)
@given(record=strategies.any_record, data=st.data())
def test_truncations_extensions_and_bit_flips_fail_cleanly(record, data):
    """Every cut-short encoding is a SchemaError, so is one with a trailing byte, and a
    flipped bit gives a SchemaError or some record — never another exception."""
    encoded = codec.encode(record)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(SchemaError):
        codec.decode(encoded[:cut])
    with pytest.raises(SchemaError, match="trailing"):
        codec.decode(encoded + b"\x00")
    position = data.draw(st.integers(10, len(encoded) - 1))
    flipped = bytearray(encoded)
    flipped[position] ^= 1 << data.draw(st.integers(0, 7))
    with contextlib.suppress(SchemaError):
        codec.decode(bytes(flipped))


@pytest.mark.parametrize(("data", "error", "words"), [
    (b"", SchemaError, "empty payload"),
    (b"\xc3\x01\x00", SchemaError, "truncated single-object header"),
    (b"\xc3\x01" + b"\x00" * 8 + b"x", UnknownRecordType, "unknown schema fingerprint 00000"),
    (b"\x01\x02garbage", SchemaError, "not a c360 record: starts with 0102"),
    (b"\x00\x00\x00\x00\x01", SchemaError, "no schema registry is configured"),
    (b'{"type": "NoSuchRecord"}', UnknownRecordType, "unknown record type 'NoSuchRecord'"),
    (b'{"event_id": "e"}', SchemaError, 'object with a "type" field'),
    (b'{"type": "InteractionEnded", "event_id": "e"}', SchemaError,
     "InteractionEnded: missing required field.s. tenant_id, occurred_at, interaction_id"),
    (b'{"type": "RecordingAvailable", "event_id": 5, "tenant_id": "t", "occurred_at": 0,'
     b' "interaction_id": "i", "channel": "voice", "recording_url": "u"}',
     SchemaError, "RecordingAvailable.event_id must be str, got int"),
    (b"{broken", SchemaError, "not JSON"),
])
def test_clear_errors(data, error, words):
    """Each failure says what is wrong."""
    with pytest.raises(error, match=words):
        codec.decode(data)


def test_bytes_like_payloads_are_read_and_others_refused():
    """bytearray/memoryview decode like bytes; None or str is a SchemaError, not a crash."""
    data = codec.encode(OFFER)
    assert codec.decode(bytearray(data)) == codec.decode(memoryview(data)) == OFFER
    for wrong in (None, "text"):
        with pytest.raises(SchemaError, match="payload must be bytes"):
            codec.decode(wrong)  # type: ignore[arg-type]


def test_garbage_body_names_the_record():
    """A body that does not decode names the record the fingerprint promised."""
    entry = registry().of(records.InteractionOffered)
    with pytest.raises(SchemaError, match="InteractionOffered body does not decode"):
        codec.decode(codec.MAGIC + entry.fingerprint + b"\x02")


def test_oversized_payloads_are_refused_before_decoding():
    """The size limit is checked first, whatever the format."""
    for data in (b"{" + b" " * 100, codec.encode(OFFER) + b"\x00" * 100):
        with pytest.raises(PayloadTooLarge, match="exceeds the 50 limit"):
            codec.decode(data, max_bytes=50)
    assert codec.decode(codec.encode(OFFER), max_bytes=len(codec.encode(OFFER))) == OFFER


@pytest.mark.parametrize(("record", "words"), [
    (records.RecordingAvailable(5, "t", T0, "i", "voice", "u"), "RecordingAvailable"),  # type: ignore[arg-type]
    (records.DeadLetter("e", T0, "t", 2**63, 0, b"", "x", "y", "z"), "DeadLetter"),
    (records.PartyInteraction("e", "t", T0, "tok", "phone", None, "v1", False,
                              OFFER.crm_record_hint), "PartyInteraction.event must be one of"),  # type: ignore[arg-type]
])
def test_values_the_schema_rejects_are_schema_errors_on_encode(record, words):
    """Encoding a record holding a value its schema cannot carry raises SchemaError."""
    with pytest.raises(SchemaError, match=words):
        codec.encode(record)


def test_only_records_encode():
    """A non-record is UnknownRecordType; Confluent framing without a topic is refused."""
    with pytest.raises(UnknownRecordType):
        codec.encode({"type": "InteractionOffered"})
    with pytest.raises(SchemaError, match="needs the topic"):
        codec.encode(OFFER, confluent=object())  # type: ignore[arg-type]
