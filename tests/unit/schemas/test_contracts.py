"""Contracts: every .avsc mirrors its dataclass, and fingerprints follow the Avro spec."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import datetime
from pathlib import Path

import pytest
from fastavro import parse_schema
from fastavro.schema import to_parsing_canonical_form

from schemas import records
from schemas.errors import UnknownRecordType
from schemas.registry import NAMESPACE, registry, standalone, standalone_json

AVSC = Path(__file__).resolve().parents[3] / "schemas" / "avsc"
CLASSES = {cls.__name__: cls for cls in records.ALL_RECORD_TYPES}
DOCS = {json.loads(p.read_text())["name"]: (p, json.loads(p.read_text()))
        for p in AVSC.glob("*.avsc")}


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _avro_type(tp: typing.Any) -> typing.Any:
    """The Avro type our mapping rules give a dataclass field type."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        nulls = ["null"] if type(None) in args else []  # null first: the default is null
        return nulls + [_avro_type(a) for a in args if a is not type(None)]
    primitives = {type(None): "null", str: "string", int: "long", float: "double",
                  bool: "boolean", bytes: "bytes",
                  datetime: {"type": "long", "logicalType": "timestamp-millis"}}
    if tp in primitives:
        return primitives[tp]
    if typing.get_origin(tp) is tuple:
        return {"type": "array", "items": _avro_type(typing.get_args(tp)[0])}
    if typing.get_origin(tp) is dict:
        return {"type": "map", "values": "string"}
    return f"{NAMESPACE}.{tp.__name__}"


def _strip_docs(doc: typing.Any) -> typing.Any:
    if isinstance(doc, dict):
        return {k: _strip_docs(v) for k, v in doc.items() if k != "doc"}
    if isinstance(doc, list):
        return [_strip_docs(v) for v in doc]
    return doc


def test_one_avsc_per_record_and_one_record_per_avsc():
    """Record names = dataclass names; file = snake_case of the name; namespace c360.v1."""
    assert set(DOCS) == set(CLASSES)
    for name, (path, doc) in DOCS.items():
        assert path.stem == _snake(name)
        assert doc["namespace"] == NAMESPACE
        assert doc["type"] == "record"
        assert doc.get("doc"), f"{name} has no doc"


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_fields_mirror_the_dataclass(name):
    """Same field names, order, Avro types, optionality and default values."""
    cls = CLASSES[name]
    hints = typing.get_type_hints(cls, vars(records))
    fields = _strip_docs(DOCS[name][1]["fields"])
    assert [f["name"] for f in fields] == [f.name for f in dataclasses.fields(cls)]
    for avro, field in zip(fields, dataclasses.fields(cls), strict=True):
        where = f"{name}.{field.name}"
        assert avro["type"] == _avro_type(hints[field.name]), where
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            assert "default" not in avro, where
            continue
        assert avro["default"] == (list(default) if isinstance(default, tuple) else default)


def test_every_top_level_record_carries_the_common_fields():
    """event_id, tenant_id, occurred_at (timestamp-millis) and schema_version everywhere."""
    for cls in records.ALL_RECORD_TYPES:
        if cls in (records.CrmRecordHint, records.MatchCandidate):
            continue
        names = [f.name for f in dataclasses.fields(cls)]
        assert {"event_id", "tenant_id", "occurred_at", "schema_version"} <= set(names)
        assert names[-1] == "schema_version", cls.__name__


def test_the_interaction_union_lists_the_seven_lifecycle_records():
    """PartyInteraction.event is the union of the interaction records, in catalogue order."""
    event = next(f for f in DOCS["PartyInteraction"][1]["fields"] if f["name"] == "event")
    assert event["type"] == [f"{NAMESPACE}.{c.__name__}" for c in records.INTERACTION_EVENT_TYPES]


# --- fingerprints, recomputed from the Avro specification --------------------------------

_EMPTY = 0xC15D213AA4D7A795


def _rabin_table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY & -(fp & 1))
        table.append(fp)
    return table


_TABLE = _rabin_table()


def _crc64_avro(data: bytes) -> bytes:
    fp = _EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp.to_bytes(8, "little")  # single-object encoding writes it little-endian


def _pcf(schema: typing.Any, namespace: str, seen: set[str]) -> str:
    """Parsing Canonical Form per the Avro spec, for the constructs c360 uses."""
    if isinstance(schema, list):
        return "[" + ",".join(_pcf(s, namespace, seen) for s in schema) + "]"
    if isinstance(schema, str):
        return json.dumps(schema if "." in schema or schema in (
            "null", "string", "long", "double", "boolean", "bytes") else f"{namespace}.{schema}")
    kind = schema["type"]
    if kind == "record":
        ns = schema.get("namespace", namespace)
        full = schema["name"] if "." in schema["name"] else f"{ns}.{schema['name']}"
        seen.add(full)
        fields = ",".join(
            '{"name":' + json.dumps(f["name"]) + ',"type":' + _pcf(f["type"], ns, seen) + "}"
            for f in schema["fields"]
        )
        return '{"name":' + json.dumps(full) + ',"type":"record","fields":[' + fields + "]}"
    if kind == "array":
        return '{"type":"array","items":' + _pcf(schema["items"], namespace, seen) + "}"
    if kind == "map":
        return '{"type":"map","values":' + _pcf(schema["values"], namespace, seen) + "}"
    return json.dumps(kind)  # a primitive with attributes (logicalType) is its bare name


def test_the_spec_test_vector():
    """CRC-64-AVRO of "null" is 0x63dd24e7cc258f8a (Avro specification)."""
    assert _crc64_avro(b'"null"') == bytes.fromhex("8a8f25cce724dd63")


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_fingerprints_are_crc64_of_the_parsing_canonical_form(name):
    """Fingerprint = spec PCF (nested records inlined at first use) -> CRC-64-AVRO, so a
    Java or Go producer computing it from the same schema gets the same 8 bytes."""
    entry = registry().named(name)
    expected_pcf = _pcf(standalone(name), NAMESPACE, set())
    assert entry.canonical_form == expected_pcf
    assert entry.fingerprint == _crc64_avro(expected_pcf.encode())
    assert registry().by_fingerprint[entry.fingerprint] is entry


def test_nested_records_are_inlined_once_in_standalone_schemas():
    """The self-contained schema defines CrmRecordHint at its first use and parses alone."""
    text = standalone_json("InteractionOffered")
    assert text.count('"name":"CrmRecordHint"') == 1
    parse_schema(json.loads(text), named_schemas={})
    pcf = registry().named("InteractionOffered").canonical_form
    assert '{"name":"c360.v1.CrmRecordHint","type":"record"' in pcf
    assert "logicalType" not in pcf and "doc" not in pcf


def test_field_docs_do_not_change_fingerprints():
    """Docs are stripped by the canonical form: documenting a field is not a new schema."""
    doc = standalone("RecordingAvailable")
    for field in doc["fields"]:
        field["doc"] = "changed"
    parsed = parse_schema(doc, named_schemas={})
    assert to_parsing_canonical_form(parsed) == registry().named(
        "RecordingAvailable").canonical_form


def test_lookups_by_name_accept_short_and_full_names_only_in_c360_v1():
    """`c360.v1.X` and `X` resolve; another namespace does not."""
    reg = registry()
    assert reg.named("c360.v1.DeadLetter") is reg.named("DeadLetter")
    with pytest.raises(UnknownRecordType, match=r"c360\.v2\.DeadLetter"):
        reg.named("c360.v2.DeadLetter")
    with pytest.raises(UnknownRecordType, match="str is not a c360 record"):
        reg.of(str)
