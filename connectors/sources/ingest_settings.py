"""Ingest webhook configuration: credentials per tenant/source, limits, and the dev open mode."""

from __future__ import annotations

from infra.settings_connectors import ANY_SOURCE, TENANT_RE, IngestConfigError, IngestSection

__all__ = ["ANY_SOURCE", "TENANT_RE", "IngestConfigError", "IngestSettings"]


class IngestSettings(IngestSection):
    """The ingest section (C360_INGEST_*, C360_TWILIO_AUTH_TOKENS); the checks themselves are
    connectors.sources.ingest_auth's verifiers, run by web.access."""

    @property
    def open(self) -> bool:
        """C360_ENV=dev with no ingest credential configured at all: requests need none and
        act for the default tenant. Never true outside dev."""
        return self.dev and not (self.tokens or self.twilio_auth_tokens or self.signing_secrets)
