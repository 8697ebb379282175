"""Confluent wire format on confluent_kafka's registry client, against a local emulator."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import struct
from datetime import UTC, datetime

import pytest
from fastavro import parse_schema, schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.schema_registry import RegistryClient
from schemas import codec, records
from schemas.canonical_json import to_json
from schemas.confluent import ConfluentCodec, RegistryUnavailable
from schemas.errors import SchemaError, UnknownRecordType
from schemas.registry import standalone, standalone_json
from tests.unit.infra.registry_emulator import running_registry
from tests.unit.schemas import strategies

T0 = datetime(2026, 1, 1, tzinfo=UTC)
OFFER = records.InteractionOffered(
    "e1", "acme", T0, "ix", "voice", "inbound", "+442079460123", "+442079460999", queue="Sales"
)
RECORDING = records.RecordingAvailable("e3", "acme", T0, "ix", "voice", "https://r/1.wav")


@pytest.fixture
def registry():
    with running_registry() as (url, state):
        yield url, state


def _framed(schema_id: int, schema: dict, datum: dict) -> bytes:
    buf = io.BytesIO()
    buf.write(b"\x00" + struct.pack(">I", schema_id))
    schemaless_writer(buf, parse_schema(schema, named_schemas={}), datum)
    return buf.getvalue()


def _recording_datum(**extra) -> dict:
    return {
        "event_id": "e3",
        "tenant_id": "acme",
        "occurred_at": T0,
        "interaction_id": "ix",
        "channel": "voice",
        "recording_url": "https://r/1.wav",
        "duration_seconds": None,
        "customer_address": None,
        "source": "canonical",
        "schema_version": 1,
        **extra,
    }


def test_round_trip_registers_once_and_frames_with_the_schema_id(registry):
    """0x00 + id; one registration per subject and schema; a fresh reader fetches by id once."""
    url, state = registry
    codec_ = ConfluentCodec(RegistryClient(url))
    first = codec_.encode(OFFER, "c360.interactions.v1")
    second = codec_.encode(OFFER, "c360.interactions.v1")
    assert first[:5] == b"\x00\x00\x00\x00\x01"
    assert state.calls == ["POST /subjects/c360.interactions.v1-value/versions"]
    assert state.schemas == [standalone_json("InteractionOffered")]
    reader = ConfluentCodec(RegistryClient(url))
    assert reader.decode(first) == OFFER
    assert reader.decode(second) == OFFER
    assert state.calls.count("GET /schemas/ids/1") == 1


def test_codec_chooses_the_format(registry):
    """encode(confluent=, topic=) frames for the registry; decode reads all three formats."""
    url, _ = registry
    confluent = ConfluentCodec(RegistryClient(url))
    framed = codec.encode(OFFER, confluent=confluent, topic="c360.interactions.v1")
    assert framed[:1] == b"\x00"
    for data in (framed, codec.encode(OFFER), to_json(OFFER).encode()):
        assert codec.decode(data, confluent=confluent) == OFFER


def test_every_record_kind_survives(registry):
    """Generated records of every kind (unions, arrays, maps, bytes) round-trip."""
    url, _ = registry
    confluent = ConfluentCodec(RegistryClient(url))

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(record=strategies.any_record)
    def check(record):
        assert confluent.decode(confluent.encode(record, "t")) == record

    check()


def test_a_newer_writer_registered_by_another_producer_is_read(registry):
    """A v1.1 writer with an extra optional field: this reader drops the field."""
    url, state = registry
    newer = standalone("RecordingAvailable")
    newer["fields"].append({"name": "storage_tier", "type": ["null", "string"], "default": None})
    schema_id = state.register("c360.interactions.v1-value", json.dumps(newer))
    data = _framed(schema_id, newer, _recording_datum(storage_tier="cold"))
    assert ConfluentCodec(RegistryClient(url)).decode(data) == RECORDING


def test_an_older_writer_missing_an_optional_field_is_read_with_the_default(registry):
    """A writer without `customer_address` decodes with customer_address=None."""
    url, state = registry
    older = standalone("RecordingAvailable")
    older["fields"] = [f for f in older["fields"] if f["name"] != "customer_address"]
    datum = _recording_datum()
    del datum["customer_address"]
    schema_id = state.register("c360.interactions.v1-value", json.dumps(older))
    got = ConfluentCodec(RegistryClient(url)).decode(_framed(schema_id, older, datum))
    assert got == RECORDING


def test_data_errors_are_schema_errors(registry):
    """Unknown id (404), a non-c360 schema, a truncated frame or a garbage body."""
    url, state = registry
    confluent = ConfluentCodec(RegistryClient(url))
    with pytest.raises(SchemaError, match="404"):
        confluent.decode(b"\x00\x00\x00\x00\x63body")
    other = state.register(
        "x-value",
        json.dumps(
            {
                "type": "record",
                "name": "Payment",
                "namespace": "shop",
                "fields": [{"name": "id", "type": "string"}],
            }
        ),
    )
    with pytest.raises(UnknownRecordType, match=f"schema id {other} is not a c360 record"):
        confluent.decode(b"\x00" + struct.pack(">I", other) + b"\x02a")
    with pytest.raises(SchemaError, match="truncated"):
        confluent.decode(b"\x00\x00\x01")
    good = confluent.encode(RECORDING, "t")
    with pytest.raises(SchemaError, match="RecordingAvailable body does not decode"):
        confluent.decode(good[:8])


def test_registry_outages_are_transient_not_data_errors(registry):
    """5xx and 429 raise RegistryUnavailable (not a SchemaError) and are not cached."""
    url, state = registry
    client = RegistryClient(url)
    confluent = ConfluentCodec(client)
    state.faults = [503, 429]
    for _ in range(2):
        with pytest.raises(RegistryUnavailable) as caught:
            confluent.encode(OFFER, "t")
        assert not isinstance(caught.value, SchemaError)
    assert confluent.decode(confluent.encode(OFFER, "t")) == OFFER
    dead = ConfluentCodec(RegistryClient("http://127.0.0.1:9", timeout=0.5))
    with pytest.raises(RegistryUnavailable, match="unreachable"):
        dead.encode(OFFER, "t")


def test_credentials_in_the_url_become_basic_auth(registry):
    """https://key:secret@host sends Authorization: Basic, and no userinfo in the URL."""
    url, state = registry
    with_auth = url.replace("http://", "http://api%2Dkey:s3cr%40t@")
    ConfluentCodec(RegistryClient(with_auth)).encode(OFFER, "t")
    assert state.auth == ["Basic " + base64.b64encode(b"api-key:s3cr@t").decode()]
    assert "s3cr" not in repr(RegistryClient(with_auth)).replace(with_auth, "")


def test_fuzzed_confluent_frames_fail_cleanly(registry):
    """Any frame gives a record or a SchemaError (ids 1-2 known, others 404)."""
    url, _ = registry
    confluent = ConfluentCodec(RegistryClient(url))
    confluent.encode(OFFER, "t")
    confluent.encode(RECORDING, "t")

    @settings(max_examples=150, deadline=None)
    @given(body=st.binary(max_size=60), schema_id=st.integers(0, 3))
    def check(body, schema_id):
        with contextlib.suppress(SchemaError):
            codec.decode(b"\x00" + struct.pack(">I", schema_id) + body, confluent=confluent)

    check()


def test_missing_and_resolve_split_the_lookups_from_the_cpu_work(registry):
    """missing() reads the caches only; resolve() fills them (failures too), after which
    encode/decode ask the registry nothing, and a bad id raises its own data error."""
    url, state = registry
    framed = ConfluentCodec(RegistryClient(url)).encode(OFFER, "t")
    calls = len(state.calls)
    confluent = ConfluentCodec(RegistryClient(url))
    other = (codec.encode(OFFER), to_json(OFFER).encode(), b"\x00\x00")
    assert not confluent.missing(other, [(str, "t")])
    lookups = confluent.missing([framed, b"\x00\x00\x00\x00\x63x"], [(type(OFFER), "t")])
    assert lookups.ids == {1, 99} and lookups.subjects == {("t-value", "InteractionOffered")}
    assert len(state.calls) == calls
    confluent.resolve(lookups)
    asked = len(state.calls)
    assert not confluent.missing([framed], [(type(OFFER), "t")])
    assert confluent.decode(confluent.encode(OFFER, "t")) == OFFER
    with pytest.raises(SchemaError, match="404"):
        confluent.decode(b"\x00\x00\x00\x00\x63x")
    assert len(state.calls) == asked
    assert confluent.missing([b"\x00\x00\x00\x00\x63x"]).ids == {99}  # asked again next time
