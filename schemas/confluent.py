"""Confluent wire format (0x00 + schema id + Avro body) with a small Schema Registry client."""

from __future__ import annotations

import base64
import io
import json
import struct
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas.codec import read_body, write_body
from schemas.errors import C360Error, SchemaError, UnknownRecordType
from schemas.registry import NAMESPACE, Entry, registry, standalone_json

MAGIC = b"\x00"
HEADER_BYTES = 5  # magic + 4-byte big-endian schema id
_JSON = "application/vnd.schemaregistry.v1+json"


class RegistryUnavailable(C360Error):
    """The schema registry did not answer or failed (5xx): transient, retry. Deliberately
    not a SchemaError: the message itself may be fine, so it must not be dead-lettered."""


@dataclass
class SchemaRegistryClient:
    """Confluent Schema Registry REST (`POST /subjects/{subject}/versions`,
    `GET /schemas/ids/{id}`) over urllib, both answers cached for the process.

    Credentials may be given in the URL (`https://key:secret@host`): sent as HTTP basic auth,
    never logged. Calls block; the first use per subject/id is the only network round trip.
    """

    url: str
    timeout: float = 5.0
    _ids: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)
    _schemas: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)

    def _endpoint(self) -> tuple[str, dict[str, str]]:
        parts = urllib.parse.urlsplit(self.url)
        headers = {"Content-Type": _JSON, "Accept": _JSON}
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            secret = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{secret}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
            parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1])
        return urllib.parse.urlunsplit(parts).rstrip("/"), headers

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        base, headers = self._endpoint()
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - operator-configured registry URL
            base + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            if exc.code >= 500 or exc.code == 429:
                raise RegistryUnavailable(f"registry {exc.code}: {detail}") from None
            raise SchemaError(f"registry rejected {method} {path}: {exc.code} {detail}") from None
        except (OSError, ValueError) as exc:  # refused, timed out, or not JSON
            raise RegistryUnavailable(f"registry unreachable: {type(exc).__name__}") from None

    def register(self, subject: str, schema_json: str) -> int:
        """The id of `schema_json` under `subject` (registers it on first use)."""
        key = (subject, schema_json)
        if key not in self._ids:
            path = f"/subjects/{urllib.parse.quote(subject, safe='')}/versions"
            doc = self._call("POST", path, {"schema": schema_json})
            if not isinstance(doc, dict) or not isinstance(doc.get("id"), int):
                raise SchemaError(f"registry answered {path} without an id")
            self._ids[key] = doc["id"]
        return self._ids[key]

    def schema(self, schema_id: int) -> dict[str, Any]:
        """The writer schema (JSON document) of an id."""
        if schema_id not in self._schemas:
            doc = self._call("GET", f"/schemas/ids/{schema_id}")
            if not isinstance(doc, dict) or doc.get("schemaType", "AVRO") != "AVRO":
                raise SchemaError(f"schema id {schema_id} is not an Avro schema")
            try:
                schema = json.loads(doc["schema"])
            except (KeyError, TypeError, ValueError):
                raise SchemaError(f"schema id {schema_id}: registry sent no schema") from None
            if not isinstance(schema, dict):
                raise UnknownRecordType(f"schema id {schema_id} is not a c360 record")
            self._schemas[schema_id] = schema
        return self._schemas[schema_id]


@dataclass
class ConfluentCodec:
    """Encode/decode c360 records in the Confluent wire format via a registry.

    Encode registers the record's self-contained schema under `<topic>-value` (the default
    TopicNameStrategy). Decode fetches the writer schema by id and resolves it into our
    reader schema, so newer/older writers that follow the evolution rules are read."""

    client: SchemaRegistryClient
    _writers: dict[int, tuple[Entry, Any]] = field(default_factory=dict, repr=False)

    def encode(self, record: Any, topic: str) -> bytes:
        """0x00 + 4-byte big-endian schema id (subject `<topic>-value`) + Avro body."""
        entry = registry().of(type(record))
        schema_id = self.client.register(f"{topic}-value", standalone_json(entry.name))
        buf = io.BytesIO()
        buf.write(MAGIC + struct.pack(">I", schema_id))
        write_body(buf, entry.schema, entry.cls, record)
        return buf.getvalue()

    def decode(self, data: bytes) -> Any:
        """The record in Confluent-framed `data`. Raises SchemaError/UnknownRecordType for
        bad data, RegistryUnavailable when the registry cannot be asked."""
        if len(data) < HEADER_BYTES or data[:1] != MAGIC:
            raise SchemaError("truncated or not Confluent wire format")
        (schema_id,) = struct.unpack(">I", data[1:HEADER_BYTES])
        entry, writer = self._writer(schema_id)
        reader = None if writer is entry.schema else entry.schema
        return read_body(data, HEADER_BYTES, writer, reader, entry.cls)

    def _writer(self, schema_id: int) -> tuple[Entry, Any]:
        if schema_id not in self._writers:
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
