"""Errors the source translators raise on purpose (subclasses of the project root)."""

from __future__ import annotations

from schemas.errors import C360Error


class SourcePayloadError(C360Error, ValueError):
    """A vendor payload that cannot be translated (permanent: dead-letter the original bytes).

    The message says which vendor and which field; it never quotes caller identifiers.
    """
