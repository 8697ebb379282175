"""Schema evolution: historic writer schemas resolve into today's records, both directions."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas import codec, records
from schemas import registry as registry_module
from schemas.convert import plan
from schemas.errors import SchemaError, UnknownRecordType
from schemas.evolution import compatibility_problems, evolution_problems
from schemas.registry import history_documents, registry, standalone

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RECORDING = records.RecordingAvailable("e", "acme", T0, "ix", "voice", "https://r/1.wav")
OPTIONAL = {"name": "storage_tier", "type": ["null", "string"], "default": None}


@pytest.fixture(autouse=True)
def fresh_registry():
    """Writers added by a test do not leak into the next one."""
    registry_module.registry.cache_clear()
    yield
    registry_module.registry.cache_clear()


def _newer() -> dict:
    doc = standalone("RecordingAvailable")
    doc["fields"].append(OPTIONAL)
    return doc


def _older() -> dict:
    doc = standalone("RecordingAvailable")
    doc["fields"] = [f for f in doc["fields"] if f["name"] != "customer_address"]
    return doc


def _single_object(writer: dict, datum: dict) -> bytes:
    parsed = parse_schema(writer, named_schemas={})
    buf = io.BytesIO()
    buf.write(codec.MAGIC + bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed),
                                                      "CRC-64-AVRO")))
    schemaless_writer(buf, parsed, datum)
    return buf.getvalue()


def _datum(**changes) -> dict:
    datum = {"event_id": "e", "tenant_id": "acme", "occurred_at": T0, "interaction_id": "ix",
             "channel": "voice", "recording_url": "https://r/1.wav", "duration_seconds": None,
             "customer_address": None, "source": "canonical", "schema_version": 1}
    datum.update(changes)
    return {k: v for k, v in datum.items() if v is not ...}


def test_a_v1_reader_reads_a_newer_writer_once_its_schema_is_known():
    """Unknown fingerprint first (clear error); after add_writer the extra field is skipped."""
    data = _single_object(_newer(), _datum(storage_tier="cold", customer_address="+4420"))
    with pytest.raises(UnknownRecordType, match="unknown schema fingerprint"):
        codec.decode(data)
    fingerprint = registry().add_writer(_newer())
    assert data[2:10] == fingerprint
    got = codec.decode(data)
    assert got == records.RecordingAvailable("e", "acme", T0, "ix", "voice", "https://r/1.wav",
                                             customer_address="+4420")


def test_an_older_writer_missing_an_optional_field_is_read_with_the_default():
    """A writer without customer_address decodes with the field's default (None)."""
    registry().add_writer(_older())
    assert codec.decode(_single_object(_older(), _datum(customer_address=...))) == RECORDING


def test_a_newer_interaction_record_inside_party_interaction_is_read():
    """A PartyInteraction writer whose nested InteractionAccepted gained an optional field
    (the by-party topic's usual case) resolves into today's nested dataclass."""
    accepted = records.InteractionAccepted("e1", "acme", T0, "ix", "voice", "agent-7")
    party = records.PartyInteraction("e2", "acme", T0, "tok", "phone", "+44", "v1", False,
                                     accepted)
    writer = standalone("PartyInteraction")
    union = next(f for f in writer["fields"] if f["name"] == "event")["type"]
    member = next(t for t in union if isinstance(t, dict) and t["name"] == "InteractionAccepted")
    member["fields"].append({"name": "wrap_timer", "type": ["null", "long"], "default": None})
    registry().add_writer(writer)
    datum = plan(records.PartyInteraction).to_avro(party)
    datum["event"][1]["wrap_timer"] = 30
    assert codec.decode(_single_object(writer, datum)) == party


def test_a_newer_reader_reads_todays_records():
    """Today's encoded bytes, resolved into a v1.1 reader, get the new field's default."""
    body = codec.encode(RECORDING)[codec.HEADER_BYTES:]
    writer = parse_schema(standalone("RecordingAvailable"), named_schemas={})
    got = schemaless_reader(io.BytesIO(body), writer, parse_schema(_newer(), named_schemas={}))
    assert got["storage_tier"] is None
    assert got["recording_url"] == "https://r/1.wav"


def test_history_files_are_loaded_and_indexed(tmp_path):
    """Self-contained .avsc files in a history folder become known writers."""
    (tmp_path / "recording_available.v1.1.avsc").write_text(json.dumps(_newer()))
    (tmp_path / "README.md").write_text("not a schema")
    docs = history_documents(tmp_path)
    assert [d["name"] for d in docs] == ["RecordingAvailable"]
    reg = registry()
    for doc in docs:
        reg.add_writer(doc)
    assert codec.decode(_single_object(_newer(), _datum(storage_tier="hot"))) == RECORDING


def test_shipped_history_schemas_are_all_readable():
    """Every file in schemas/avsc/history/ is a c360.v1 writer today's schema can read."""
    reg = registry()
    for doc in history_documents():
        assert reg.writers[reg.add_writer(doc)].entry.name == doc["name"].rsplit(".", 1)[-1]


def test_adding_the_current_schema_as_a_writer_changes_nothing():
    """The current fingerprint stays the direct (no resolution) path."""
    reg = registry()
    before = dict(reg.writers)  # the history folder's writers (ScreenPopRequested v1.0)
    assert reg.add_writer(standalone("RecordingAvailable")) == reg.named(
        "RecordingAvailable").fingerprint
    assert reg.writers == before


def test_a_pop_written_before_rang_at_is_read_with_none():
    """schemas/avsc/history holds ScreenPopRequested before `rang_at`: its records decode."""
    old = next(d for d in history_documents() if d["name"] == "ScreenPopRequested")
    assert "rang_at" not in [f["name"] for f in old["fields"]]
    datum = {"event_id": "e", "tenant_id": "acme", "occurred_at": T0, "interaction_id": "ix",
             "agent_id": "a", "channel": "voice", "party_token": "t",
             "trigger_event_id": "x", "match_status": "none"}
    pop = codec.decode(_single_object(old, datum))
    assert isinstance(pop, records.ScreenPopRequested)
    assert pop.rang_at is None
    assert pop.occurred_at == T0
    assert evolution_problems(old, standalone("ScreenPopRequested")) == []


@pytest.mark.parametrize(("doc", "words"), [
    ({**standalone("RecordingAvailable"), "namespace": "c360.v2"}, "c360.v1 record"),
    ({**standalone("RecordingAvailable"), "name": "Nope"}, "unknown record type"),
    ({**standalone("RecordingAvailable"),
      "fields": [f for f in standalone("RecordingAvailable")["fields"]
                 if f["name"] != "recording_url"]},
     "recording_url: added without a default"),
])
def test_incompatible_or_foreign_writers_are_refused(doc, words):
    """A writer today's schema cannot read (or not ours) is refused with the reason."""
    with pytest.raises(SchemaError, match=words):
        registry().add_writer(doc)


def test_evolution_gate_accepts_an_optional_addition():
    """Adding an optional field with a default is compatible both ways."""
    assert evolution_problems(standalone("RecordingAvailable"), _newer()) == []


@pytest.mark.parametrize(("change", "problem"), [
    (lambda f: f.append({"name": "x", "type": "string"}), "added without a default"),
    (lambda f: f.__setitem__(0, {**f[0], "type": "long"}), "type changed"),
    (lambda f: f.pop(0), "added without a default"),
])
def test_breaking_changes_are_caught(change, problem):
    """Required additions, retypes and removals of required fields break compatibility."""
    current = standalone("RecordingAvailable")
    newer = standalone("RecordingAvailable")
    change(newer["fields"])
    assert any(problem in p for p in evolution_problems(current, newer))


def test_compatibility_is_directional():
    """The older schema cannot read a writer that dropped a required field; the reverse can."""
    current = standalone("RecordingAvailable")
    fewer = standalone("RecordingAvailable")
    fewer["fields"] = [f for f in fewer["fields"] if f["name"] != "recording_url"]
    assert compatibility_problems(current, fewer) == ["recording_url: added without a default"]
    assert compatibility_problems(fewer, current) == []
