"""Errors the streams pure core raises on purpose (subclasses of the project root)."""

from __future__ import annotations

from schemas.errors import C360Error


class InvalidIdentifier(C360Error, ValueError):
    """An identifier that cannot be normalized (permanent: dead-letter it).

    The message names the problem only; it never contains the raw value (PII).
    """
