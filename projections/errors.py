"""Errors of the read-model stores."""

from __future__ import annotations

from schemas.errors import C360Error


class StoreUnavailable(C360Error):
    """The store (Redis) cannot be reached or timed out: transient, retry in place."""


class CorruptEntry(C360Error, ValueError):
    """A stored value that does not parse (written by something else or truncated)."""
