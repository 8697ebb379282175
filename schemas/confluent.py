"""Confluent wire format (0x00 + schema id + Avro body) over a schema source (the registry)."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas.codec import read_body, write_body
from schemas.errors import C360Error, SchemaError, UnknownRecordType
from schemas.registry import NAMESPACE, Entry, registry, standalone_json

MAGIC = b"\x00"
HEADER_BYTES = 5  # magic + 4-byte big-endian schema id


class RegistryUnavailable(C360Error):
    """The schema registry did not answer or failed (5xx): transient, retry. Deliberately
    not a SchemaError: the message itself may be fine, so it must not be dead-lettered."""


class SchemaSource(Protocol):
    """Where schema ids and writer schemas come from: infra.schema_registry.RegistryClient
    on a Confluent Schema Registry. Both calls may block on the network; they raise
    RegistryUnavailable (transient) or SchemaError (the registry refused: permanent)."""

    def register(self, subject: str, schema_json: str) -> int:
        """The id of `schema_json` under `subject` (registered on first use)."""
        ...

    def schema(self, schema_id: int) -> dict[str, Any]:
        """The writer schema (JSON document) of an id."""
        ...


def schema_id_of(data: bytes) -> int | None:
    """The schema id in a Confluent-framed payload; None when `data` is not one."""
    if len(data) < HEADER_BYTES or data[:1] != MAGIC:
        return None
    (schema_id,) = struct.unpack(">I", data[1:HEADER_BYTES])
    return int(schema_id)


@dataclass(frozen=True, slots=True)
class Lookups:
    """What encoding/decoding some records still needs from the registry (nothing = empty)."""

    ids: frozenset[int] = frozenset()
    subjects: frozenset[tuple[str, str]] = frozenset()  # (subject, record full name)

    def __bool__(self) -> bool:
        return bool(self.ids or self.subjects)


@dataclass
class ConfluentCodec:
    """Encode/decode c360 records in the Confluent wire format via a registry.

    Encode registers the record's self-contained schema under `<topic>-value` (the default
    TopicNameStrategy). Decode fetches the writer schema by id and resolves it into our
    reader schema, so newer/older writers that follow the evolution rules are read.

    Ids and writer schemas are cached for the process. `encode`/`decode` ask the source on
    a cache miss, which blocks: async callers first take `missing(...)` and run
    `resolve(...)` in a worker thread, after which encode/decode are pure CPU work."""

    client: SchemaSource
    _ids: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)
    _writers: dict[int, tuple[Entry, Any]] = field(default_factory=dict, repr=False)
    # Ids that resolve() found unusable (404, not a c360 record): decode raises the cached
    # error instead of asking again on the event loop; the next resolve() asks again.
    _failed: dict[int, SchemaError] = field(default_factory=dict, repr=False)

    def encode(self, record: Any, topic: str) -> bytes:
        """0x00 + 4-byte big-endian schema id (subject `<topic>-value`) + Avro body."""
        entry = registry().of(type(record))
        schema_id = self._register(f"{topic}-value", entry.name)
        buf = io.BytesIO()
        buf.write(MAGIC + struct.pack(">I", schema_id))
        write_body(buf, entry.schema, entry.cls, record)
        return buf.getvalue()

    def decode(self, data: bytes) -> Any:
        """The record in Confluent-framed `data`. Raises SchemaError/UnknownRecordType for
        bad data, RegistryUnavailable when the registry cannot be asked."""
        schema_id = schema_id_of(data)
        if schema_id is None:
            raise SchemaError("truncated or not Confluent wire format")
        entry, writer = self._writer(schema_id)
        reader = None if writer is entry.schema else entry.schema
        return read_body(data, HEADER_BYTES, writer, reader, entry.cls)

    def missing(
        self, payloads: Iterable[bytes] = (), outputs: Iterable[tuple[type, str]] = ()
    ) -> Lookups:
        """What decoding `payloads` and encoding records of (type, topic) `outputs` would
        still ask the registry for (pure: reads the caches only). Payloads in another
        format and record types that are not c360 records need nothing."""
        ids = {i for p in payloads if (i := schema_id_of(p)) is not None}
        subjects = set()
        reg = registry()
        for cls, topic in outputs:
            try:
                name = reg.of(cls).name
            except UnknownRecordType:
                continue  # encode raises it, without asking the registry
            subjects.add((f"{topic}-value", name))
        return Lookups(
            frozenset(ids - self._writers.keys()), frozenset(subjects - self._ids.keys())
        )

    def resolve(self, lookups: Lookups) -> None:
        """Ask the registry for `lookups` and cache the answers (blocking: run it in a
        thread from async code). Unknown or foreign ids are left for decode to report on
        the message itself; RegistryUnavailable propagates (the caller retries)."""
        for subject, name in sorted(lookups.subjects):
            self._register(subject, name)
        for schema_id in sorted(lookups.ids):
            self._failed.pop(schema_id, None)
            try:
                self._writer(schema_id)
            except SchemaError as exc:  # a data error of that message: decode raises it
                self._failed[schema_id] = exc

    def _register(self, subject: str, name: str) -> int:
        key = (subject, name)
        if key not in self._ids:
            self._ids[key] = self.client.register(subject, standalone_json(name))
        return self._ids[key]

    def _writer(self, schema_id: int) -> tuple[Entry, Any]:
        if schema_id not in self._writers:
            failed = self._failed.get(schema_id)
            if failed is not None:
                raise type(failed)(str(failed))
            doc = self.client.schema(schema_id)
            name = str(doc.get("name", ""))
            if "." not in name:
                name = f"{doc.get('namespace', NAMESPACE)}.{name}"
            try:
                entry = registry().named(name)
            except UnknownRecordType:
                raise UnknownRecordType(f"schema id {schema_id} is not a c360 record") from None
            try:
                parsed = parse_schema(doc, named_schemas={})
                canonical = to_parsing_canonical_form(parsed)
            except Exception as exc:
                raise SchemaError(f"schema id {schema_id} does not parse: {exc}") from None
            same = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")) == entry.fingerprint
            self._writers[schema_id] = (entry, entry.schema if same else parsed)
        return self._writers[schema_id]
