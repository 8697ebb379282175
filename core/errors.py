"""Errors the pure core and the store ports raise on purpose (subclasses of the project root)."""

from __future__ import annotations

from schemas.errors import C360Error


class InvalidIdentifier(C360Error, ValueError):
    """An identifier that cannot be normalized (permanent: dead-letter it).

    The message names the problem only; it never contains the raw value (PII).
    """


class StoreUnavailable(C360Error):
    """The store (Redis) cannot be reached or timed out: transient, retry in place."""


class CorruptEntry(C360Error, ValueError):
    """A stored value that does not parse (written by something else or truncated)."""


class ConfigError(C360Error, ValueError):
    """Missing or invalid configuration; the message lists every problem at once."""
