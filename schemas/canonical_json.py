"""The canonical JSON form of c360 records, for producers that cannot speak Avro."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from schemas import json_limits
from schemas.convert import plan
from schemas.errors import SchemaError
from schemas.registry import registry

# Form (docs/schemas.md): {"type": "<RecordName>", ...fields in schema order}; timestamps
# RFC 3339 UTC with milliseconds (epoch milliseconds also accepted on input); bytes base64;
# a union member (PartyInteraction.event) carries its own "type". Missing optional fields take
# their defaults. Unknown extra fields are ignored, so a newer producer (one that adds an
# optional field) does not break an older consumer.


def to_json(record: Any) -> str:
    """The canonical JSON text of a record (compact, "type" first, fields in schema order).

    Raises UnknownRecordType for a non-record, SchemaError for a value JSON cannot carry
    (NaN or an infinite float)."""
    entry = registry().of(type(record))
    body = plan(entry.cls).to_json(record)
    return json.dumps({"type": entry.name, **body}, ensure_ascii=False, separators=(",", ":"))


def _no_constants(token: str) -> NoReturn:
    raise ValueError(f"{token} is not JSON")


def from_json(text: str | bytes) -> Any:
    """Parse and validate canonical JSON into its record; raises SchemaError naming every
    missing or mistyped field (UnknownRecordType for an unknown "type", JsonTooDeep past
    json_limits.MAX_DEPTH levels of nesting)."""
    doc = json_limits.loads(text, parse_constant=_no_constants)  # bounded depth: JsonTooDeep
    if not isinstance(doc, dict) or not isinstance(doc.get("type"), str):
        raise SchemaError('canonical JSON must be an object with a "type" field')
    entry = registry().named(doc["type"])
    return plan(entry.cls).from_json(doc)
