"""Replay's compiled decoder reads exactly what codec.decode reads, or defers to it."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c360.replay_decode import compile_decoder, party_decoder
from schemas import codec
from schemas.canonical_json import to_json
from schemas.errors import PayloadTooLarge, SchemaError
from schemas.records import InteractionEvent, PartyInteraction
from schemas.registry import registry
from tests.factories import voice_call
from tests.unit.schemas.strategies import record

DECODE = party_decoder()
parties = record(PartyInteraction, json_safe=False)


def _expected(data: bytes) -> object:
    try:
        rec = codec.decode(data)
    except SchemaError as exc:
        return type(exc)
    if not isinstance(rec, PartyInteraction):
        return None
    return rec.tenant_id, rec.party_token, rec.event


def _got(data: bytes) -> object:
    try:
        return DECODE(data)
    except SchemaError as exc:
        return type(exc)


def _party(event: InteractionEvent) -> PartyInteraction:
    return PartyInteraction("e1", "acme", event.occurred_at, "tok", "phone", "+44", "v1",
                            False, event)


def test_the_compiled_path_is_taken_for_current_payloads() -> None:
    """The fast path itself (not the fallback) reads a current PartyInteraction."""
    entry = registry().of(PartyInteraction)
    fast = compile_decoder(entry.schema, codec.MAGIC + entry.fingerprint)
    rec = _party(voice_call("ix-1")[0])
    assert fast(codec.encode(rec)) == (rec.tenant_id, rec.party_token, rec.event)


@settings(max_examples=300, deadline=None)
@given(parties)
def test_any_party_interaction_decodes_as_codec_decodes_it(rec: PartyInteraction) -> None:
    """Every field of every event type, the whole value ranges: equal to codec's result."""
    data = codec.encode(rec)
    assert _got(data) == (rec.tenant_id, rec.party_token, rec.event) == _expected(data)


@settings(max_examples=300, deadline=None)
@given(parties, st.data())
def test_damaged_payloads_get_the_reference_verdict(rec: PartyInteraction, data: st.DataObject
                                                    ) -> None:
    """Truncated, extended or bit-flipped bytes: the same record or the same SchemaError."""
    raw = bytearray(codec.encode(rec))
    how = data.draw(st.sampled_from(["cut", "extend", "flip"]))
    if how == "cut":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif how == "extend":
        raw += data.draw(st.binary(min_size=1, max_size=4))
    else:
        at = data.draw(st.integers(10, len(raw) - 1))
        raw[at] ^= data.draw(st.integers(1, 255))
    assert _got(bytes(raw)) == _expected(bytes(raw))


def test_an_oversized_payload_is_refused_as_codec_refuses_it() -> None:
    """Over codec's size limit: PayloadTooLarge, even though the Avro body is valid."""
    event = voice_call("ix-3")[0]
    rec = _party(dataclasses.replace(event, subject="x" * codec.DEFAULT_MAX_BYTES))
    with pytest.raises(PayloadTooLarge):
        DECODE(codec.encode(rec))


def test_json_and_other_records_follow_codec() -> None:
    """Canonical JSON is read by codec; another record type is not a party record."""
    rec = _party(voice_call("ix-2")[1])
    assert DECODE(to_json(rec).encode()) == (rec.tenant_id, rec.party_token, rec.event)
    assert DECODE(codec.encode(rec.event)) is None
    with pytest.raises(SchemaError):
        DECODE(b"not avro")
