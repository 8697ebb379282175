"""Ingest webhook configuration (credentials per tenant/source, limits) and the auth decision."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from infra.settings_connectors import ANY_SOURCE, TENANT_RE, IngestConfigError, IngestSection

__all__ = ["ALLOW", "ANY_SOURCE", "TENANT_RE", "AuthDecision", "IngestConfigError",
           "IngestSettings"]


@dataclass(frozen=True, slots=True)
class AuthDecision:
    """Outcome of checking one request's credentials: status 0 = allowed, else 401/403."""

    status: int
    reason: str = ""

    @property
    def allowed(self) -> bool:
        """True when the request may proceed."""
        return self.status == 0


ALLOW = AuthDecision(0)


class IngestSettings(IngestSection):
    """The ingest section (C360_INGEST_*, C360_TWILIO_AUTH_TOKENS) and the auth decision."""

    @property
    def open(self) -> bool:
        """Dev mode with no credential configured at all: requests need no authentication."""
        return self.dev and not self.tokens and not self.twilio_auth_tokens

    def authorize(
        self, tenant: str, source: str, bearer: str | None, twilio_signature_ok: bool | None
    ) -> AuthDecision:
        """Decide whether a request may ingest `source` payloads for `tenant`.

        Twilio requests of a tenant with a Twilio auth token must carry a valid signature
        (`twilio_signature_ok`; None = no signature header). Otherwise a bearer token
        configured for (tenant, source) or (tenant, "*") is required: none or an unknown one
        is 401; a token that is valid only for another tenant or source is 403.
        """
        if self.open:
            return ALLOW
        if source == "twilio" and tenant in self.twilio_auth_tokens:
            if twilio_signature_ok is None:
                return AuthDecision(401, "X-Twilio-Signature header is missing")
            if not twilio_signature_ok:
                return AuthDecision(401, "X-Twilio-Signature does not match this request")
            return ALLOW
        if not bearer:
            return AuthDecision(401, "Authorization: Bearer <token> is required")
        scopes = ((tenant, source), (tenant, ANY_SOURCE))
        if _matches(bearer, [t for scope in scopes for t in self.tokens.get(scope, ())]):
            return ALLOW
        others = [t for scope, ts in self.tokens.items() if scope not in scopes for t in ts]
        if _matches(bearer, others):
            return AuthDecision(403, f"this token may not ingest {source} for tenant {tenant}")
        return AuthDecision(401, "unknown bearer token")


def _matches(candidate: str, secrets: list[str]) -> bool:
    # Compare against every secret (no early exit) in constant time per comparison, so the
    # response time says nothing about which or how much of a token matched.
    found = False
    for secret in secrets:
        found |= hmac.compare_digest(candidate.encode(), secret.encode())
    return found

