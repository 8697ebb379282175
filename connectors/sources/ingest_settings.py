"""Ingest webhook configuration (credentials per tenant/source, limits) and the auth decision."""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from schemas.errors import C360Error

# Tenant ids end up in event ids, Redis keys and Kafka keys: keep them to a boring alphabet.
TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ANY_SOURCE = "*"


class IngestConfigError(C360Error, ValueError):
    """Invalid ingest configuration; the message lists every problem at once."""


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


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """Credentials and limits of POST /v1/ingest/{source}; build with `from_env`.

    `tokens` maps (tenant, source or "*") to the bearer tokens accepted for it (several, so
    a token can be rotated without downtime); `twilio_auth_tokens` maps tenant to the
    Twilio account auth token used to check X-Twilio-Signature.
    """

    tokens: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict, repr=False)
    twilio_auth_tokens: dict[str, str] = field(default_factory=dict, repr=False)
    dev: bool = False
    public_base_url: str | None = None
    ack_timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IngestSettings:
        """Parse C360_INGEST_TOKENS ("tenant:token" or "tenant/source:token", comma
        separated), C360_TWILIO_AUTH_TOKENS ("tenant:token,..."), C360_INGEST_PUBLIC_URL,
        C360_INGEST_ACK_TIMEOUT_MS and C360_ENV; raises IngestConfigError listing all
        problems (never quoting a secret)."""
        env = os.environ if env is None else env
        problems: list[str] = []
        tokens: dict[tuple[str, str], tuple[str, ...]] = {}
        for scope, secret in _pairs(env.get("C360_INGEST_TOKENS", ""), "C360_INGEST_TOKENS",
                                    problems):
            tenant, _, source = scope.partition("/")
            key = (tenant, source or ANY_SOURCE)
            tokens[key] = (*tokens.get(key, ()), secret)
        twilio = dict(
            _pairs(env.get("C360_TWILIO_AUTH_TOKENS", ""), "C360_TWILIO_AUTH_TOKENS", problems)
        )
        raw_timeout = env.get("C360_INGEST_ACK_TIMEOUT_MS", "10000")
        timeout = 10.0
        try:
            timeout = int(raw_timeout) / 1000
            if timeout <= 0:
                problems.append("C360_INGEST_ACK_TIMEOUT_MS must be > 0")
        except ValueError:
            problems.append(f"C360_INGEST_ACK_TIMEOUT_MS must be an integer, got {raw_timeout!r}")
        public = env.get("C360_INGEST_PUBLIC_URL", "").strip().rstrip("/") or None
        if public is not None and not public.startswith(("http://", "https://")):
            problems.append("C360_INGEST_PUBLIC_URL must start with http:// or https://")
        if problems:
            raise IngestConfigError("invalid ingest configuration: " + "; ".join(problems))
        return cls(tokens, twilio, env.get("C360_ENV", "prod") == "dev", public, timeout)

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


def _pairs(raw: str, name: str, problems: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for n, item in enumerate(filter(None, (p.strip() for p in raw.split(","))), start=1):
        scope, sep, secret = item.partition(":")
        tenant = scope.partition("/")[0]
        if not sep or not secret.strip() or not TENANT_RE.match(tenant):
            problems.append(f"{name} entry #{n} is not tenant[/source]:secret")
            continue
        out.append((scope.strip(), secret.strip()))
    return out
