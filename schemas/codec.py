"""Avro single-object encoding of c360 records; decode also reads canonical JSON and Confluent."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from fastavro import schemaless_reader, schemaless_writer

from schemas.convert import plan
from schemas.errors import PayloadTooLarge, SchemaError, UnknownRecordType
from schemas.registry import registry

if TYPE_CHECKING:
    from schemas.confluent import ConfluentCodec

MAGIC = b"\xc3\x01"  # Avro single-object encoding marker (Avro spec 1.8+)
HEADER_BYTES = 10  # marker + 8-byte CRC-64-AVRO fingerprint
DEFAULT_MAX_BYTES = 1_048_576


def encode(record: Any, *, confluent: ConfluentCodec | None = None, topic: str = "") -> bytes:
    """`C3 01` + 8-byte CRC-64-AVRO fingerprint (little-endian) + Avro binary body; or, when a
    registry-backed `confluent` codec is given, the Confluent wire format for `topic`.

    Raises UnknownRecordType for a non-record, SchemaError for values the schema rejects.
    """
    if confluent is not None:
        if not topic:
            raise SchemaError("the Confluent wire format needs the topic (subject <topic>-value)")
        return confluent.encode(record, topic)
    entry = registry().of(type(record))
    buf = io.BytesIO()
    buf.write(MAGIC)
    buf.write(entry.fingerprint)
    write_body(buf, entry.schema, entry.cls, record)
    return buf.getvalue()


def write_body(buf: io.BytesIO, schema: Any, cls: type, record: Any) -> None:
    """The Avro binary body of `record`; SchemaError when a value does not fit the schema."""
    try:
        schemaless_writer(buf, schema, plan(cls).to_avro(record))
    except SchemaError:
        raise
    except Exception as exc:  # fastavro raises ValueError/TypeError/OverflowError/KeyError...
        msg = f"{cls.__name__} does not match its schema: {type(exc).__name__}: {exc}"
        raise SchemaError(msg[:300]) from exc


def decode(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, confluent: ConfluentCodec | None = None
) -> Any:
    """The record in `data`: single-object Avro (`C3 01`), canonical JSON (first non-space
    byte `{`) or, when a registry-backed `confluent` codec is given, the Confluent wire
    format (`00`).

    Raises PayloadTooLarge, UnknownRecordType or SchemaError — nothing else for any bytes —
    so a caller can dead-letter what it cannot read. (With `confluent`, an unreachable
    registry raises schemas.confluent.RegistryUnavailable, which is not a data error.)
    """
    if not isinstance(data, bytes):
        if not isinstance(data, bytearray | memoryview):
            raise SchemaError(f"payload must be bytes, got {type(data).__name__}")
        data = bytes(data)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"payload of {len(data)} bytes exceeds the {max_bytes} limit")
    if not data:
        raise SchemaError("empty payload")
    if data[:2] == MAGIC:
        return _decode_single_object(data)
    if data[:1] == b"\x00":
        if confluent is None:
            raise SchemaError("Confluent wire format, but no schema registry is configured")
        return confluent.decode(data)
    if data.lstrip()[:1] == b"{":
        from schemas.canonical_json import from_json  # noqa: PLC0415 - avoids an import cycle

        return from_json(data)
    raise SchemaError(f"not a c360 record: starts with {data[:2].hex()} (neither C301 nor JSON)")


def _decode_single_object(data: bytes) -> Any:
    if len(data) < HEADER_BYTES:
        raise SchemaError("truncated single-object header")
    reg = registry()
    digest = data[2:HEADER_BYTES]
    entry = reg.by_fingerprint.get(digest)
    writer_schema = None
    if entry is None:
        writer = reg.writers.get(digest)
        if writer is None:
            raise UnknownRecordType(f"unknown schema fingerprint {digest.hex()}")
        entry, writer_schema = writer.entry, writer.schema
    if writer_schema is None:
        return read_body(data, HEADER_BYTES, entry.schema, None, entry.cls)
    return read_body(data, HEADER_BYTES, writer_schema, entry.schema, entry.cls)


def read_body(data: bytes, start: int, writer: Any, reader: Any, cls: type) -> Any:
    """The record of type `cls` in data[start:], written with `writer` and resolved into
    `reader` (None = same schema). Every failure is a SchemaError naming the record."""
    buf = io.BytesIO(data)
    buf.seek(start)
    name = cls.__name__
    try:
        plain = schemaless_reader(
            buf, writer, reader, return_record_name=True, return_record_name_override=True
        )
    except Exception as exc:  # truncated or garbage bodies raise many fastavro types
        raise SchemaError(f"{name} body does not decode: {type(exc).__name__}") from exc
    if buf.tell() != len(data):
        raise SchemaError(f"{name} body has {len(data) - buf.tell()} trailing bytes")
    if not isinstance(plain, dict):
        raise SchemaError(f"{name} body is not a record")
    try:
        return plan(cls).from_avro(plain)
    except Exception as exc:
        raise SchemaError(f"{name} body does not fit the record: {type(exc).__name__}") from exc
