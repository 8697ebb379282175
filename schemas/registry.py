"""Loads every .avsc once, maps record names to dataclasses, computes fingerprints."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas import records
from schemas.errors import SchemaError, UnknownRecordType

NAMESPACE = "c360.v1"


@dataclass(frozen=True, slots=True)
class Entry:
    """One registered record: its dataclass, parsed (self-contained) schema, canonical form
    and 8-byte fingerprint as written on the wire."""

    name: str
    cls: type
    schema: Any
    canonical_form: str
    fingerprint: bytes


@dataclass(frozen=True, slots=True)
class Writer:
    """A historic (older or newer) writer schema of a registered record, read into `entry`."""

    entry: Entry
    schema: Any
    fingerprint: bytes


@dataclass(frozen=True, slots=True)
class Registry:
    """All c360.v1 records, by name, dataclass and CRC-64-AVRO fingerprint, plus the known
    historic writer schemas (by fingerprint) that decode resolves into the current ones."""

    by_name: dict[str, Entry]
    by_class: dict[type, Entry]
    by_fingerprint: dict[bytes, Entry]
    writers: dict[bytes, Writer] = field(default_factory=dict)

    def of(self, cls: type) -> Entry:
        """The entry of a dataclass; raises UnknownRecordType."""
        try:
            return self.by_class[cls]
        except KeyError:
            raise UnknownRecordType(f"{cls.__name__} is not a c360 record") from None

    def named(self, name: str) -> Entry:
        """The entry of a record name, short (`InteractionOffered`) or full
        (`c360.v1.InteractionOffered`); raises UnknownRecordType."""
        namespace, _, short = name.rpartition(".")
        entry = self.by_name.get(short) if namespace in ("", NAMESPACE) else None
        if entry is None:
            raise UnknownRecordType(f"unknown record type {name!r}")
        return entry

    def add_writer(self, doc: dict[str, Any]) -> bytes:
        """Make a historic writer schema of a c360.v1 record known (self-contained JSON, as
        in avsc/history/); returns its fingerprint. Raises SchemaError when it is not a
        c360.v1 record or the current schema cannot read it (docs/schemas.md rules)."""
        from schemas.evolution import compatibility_problems  # noqa: PLC0415 - keeps import light

        if not isinstance(doc, dict) or doc.get("namespace", NAMESPACE) != NAMESPACE:
            raise SchemaError("a writer schema must be a c360.v1 record")
        entry = self.named(str(doc.get("name", "")))
        problems = compatibility_problems(standalone(entry.name), doc)
        if problems:
            raise SchemaError(f"{entry.name} cannot read this writer: {'; '.join(problems)}")
        try:
            schema = parse_schema(doc, named_schemas={})
        except Exception as exc:
            raise SchemaError(f"{entry.name} writer schema does not parse: {exc}") from exc
        digest = _fingerprint(schema)
        if digest not in self.by_fingerprint:
            self.writers[digest] = Writer(entry, schema, digest)
        return digest


def _fingerprint(parsed: Any) -> bytes:
    # fastavro renders CRC-64-AVRO as the little-endian bytes the single-object encoding
    # puts on the wire ("null" -> 8a8f25cce724dd63 = 0x63dd24e7cc258f8a, the spec's vector).
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))


@functools.cache
def raw_schemas() -> dict[str, dict[str, Any]]:
    """The .avsc documents by record name, as written (references by full name)."""
    folder = resources.files("schemas").joinpath("avsc")
    out: dict[str, dict[str, Any]] = {}
    for item in folder.iterdir():
        if item.name.endswith(".avsc"):
            doc = json.loads(item.read_text(encoding="utf-8"))
            out[doc["name"]] = doc
    return out


def _inline(doc: Any, raw: dict[str, dict[str, Any]], seen: set[str]) -> Any:
    # Avro defines a named type at its first use and refers to it by name afterwards.
    if isinstance(doc, str) and doc.startswith(NAMESPACE + "."):
        short = doc.rsplit(".", 1)[-1]
        if short in seen:
            return doc
        return _inline(raw[short], raw, seen)
    if isinstance(doc, list):
        return [_inline(item, raw, seen) for item in doc]
    if isinstance(doc, dict):
        if doc.get("type") == "record":
            seen.add(doc["name"])
            fields = [{**f, "type": _inline(f["type"], raw, seen)} for f in doc["fields"]]
            return {**doc, "fields": fields}
        return {k: _inline(v, raw, seen) if k in ("type", "items", "values") else v
                for k, v in doc.items()}
    return doc


@functools.cache
def standalone_json(name: str) -> str:
    """The record's schema with every referenced record inlined: what fingerprints are
    computed over, what a schema registry stores, and what another Avro library parses."""
    raw = raw_schemas()
    return json.dumps(_inline(raw[name], raw, set()), separators=(",", ":"))


def standalone(name: str) -> dict[str, Any]:
    """`standalone_json(name)` as a fresh dict."""
    doc: dict[str, Any] = json.loads(standalone_json(name))
    return doc


def history_documents(folder: Traversable | None = None) -> list[dict[str, Any]]:
    """The historic writer schemas in `folder` (default: the shipped avsc/history/), one
    self-contained .avsc document per file, in file-name order."""
    if folder is None:
        folder = resources.files("schemas").joinpath("avsc").joinpath("history")
    if not folder.is_dir():
        return []
    items = sorted((i for i in folder.iterdir() if i.name.endswith(".avsc")), key=_name)
    return [json.loads(item.read_text(encoding="utf-8")) for item in items]


def _name(item: Traversable) -> str:
    return item.name


@functools.cache
def registry() -> Registry:
    """The registry, built on first use (parsing every schema once per process)."""
    classes = {cls.__name__: cls for cls in records.ALL_RECORD_TYPES}
    entries = []
    for name in sorted(raw_schemas()):
        doc = json.loads(standalone_json(name))
        schema = parse_schema(doc, named_schemas={})
        canonical = to_parsing_canonical_form(schema)
        entries.append(Entry(name, classes[name], schema, canonical, _fingerprint(schema)))
    reg = Registry(
        by_name={e.name: e for e in entries},
        by_class={e.cls: e for e in entries},
        by_fingerprint={e.fingerprint: e for e in entries},
    )
    for doc in history_documents():
        reg.add_writer(doc)
    return reg
