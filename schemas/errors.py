"""The project's error root and the schema/codec errors."""

from __future__ import annotations


class C360Error(Exception):
    """Root of every error c360 raises on purpose."""


class SchemaError(C360Error, ValueError):
    """Bytes or JSON that do not decode to a known c360 record (permanent: dead-letter it)."""


class UnknownRecordType(SchemaError):
    """A fingerprint, schema id or type name that no registered schema has."""


class PayloadTooLarge(SchemaError):
    """A payload over the configured size limit (checked before decoding)."""
