"""The access section: the agent JWT issuer (OIDC) and the per-tenant rate limits."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from core.access import DESKTOP, TIMELINE_READ
from core.rate_limits import RateLimits, parse_rate_limits
from infra.oidc import OidcSettings
from infra.settings_base import Section

DEFAULT_RATE_LIMITS = "*:50/s:100"
AGENT_SCOPES = frozenset({DESKTOP, TIMELINE_READ})


class AccessSettings(Section):
    """Who may call the HTTP service (docs/api.md "Authentication", docs/desktop.md).
    The OIDC variables are all set or all unset: without them agent JWTs of an external
    issuer are refused (API keys and the gateway's desktop tokens still work)."""

    oidc_issuer: str = Field(default="", validation_alias="C360_OIDC_ISSUER")
    oidc_audience: str = Field(default="", validation_alias="C360_OIDC_AUDIENCE")
    oidc_jwks_url: str = Field(default="", validation_alias="C360_OIDC_JWKS_URL")
    oidc_leeway_seconds: int = Field(
        default=60, ge=0, le=600, validation_alias="C360_OIDC_LEEWAY_SECONDS"
    )
    oidc_tenant_claim: str = Field(
        default="c360_tenant",
        min_length=1,
        max_length=100,
        validation_alias="C360_OIDC_TENANT_CLAIM",
    )
    # `tenant:rate/s[:burst]`, comma separated; `*` is every tenant not named. Each
    # credential (API key, agent) of a tenant gets that budget, shared by every process.
    rate_limits: str = Field(default=DEFAULT_RATE_LIMITS, validation_alias="C360_RATE_LIMITS")

    @field_validator("oidc_jwks_url")
    @classmethod
    def _oidc_complete(cls, value: str, info: ValidationInfo) -> str:
        given = {
            "C360_OIDC_ISSUER": info.data.get("oidc_issuer", ""),
            "C360_OIDC_AUDIENCE": info.data.get("oidc_audience", ""),
            "C360_OIDC_JWKS_URL": value,
        }
        missing = [name for name, v in given.items() if not v]
        if 0 < len(missing) < len(given):
            raise ValueError(
                f"and the other OIDC variables go together; missing: {', '.join(missing)}"
            )
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("rate_limits")
    @classmethod
    def _limits(cls, value: str) -> str:
        try:
            parse_rate_limits(value, RateLimits().default)
        except ValueError as exc:  # names the bad entry, and the variable (said once)
            raise ValueError(str(exc).removeprefix("C360_RATE_LIMITS: ")) from None
        return value

    @property
    def limits(self) -> RateLimits:
        """The parsed per-tenant limits."""
        return parse_rate_limits(self.rate_limits, RateLimits().default)

    @property
    def oidc(self) -> OidcSettings | None:
        """The issuer agent JWTs are checked against; None when not configured."""
        if not self.oidc_jwks_url:
            return None
        return OidcSettings(
            issuer=self.oidc_issuer,
            audience=self.oidc_audience,
            jwks_url=self.oidc_jwks_url,
            leeway_seconds=self.oidc_leeway_seconds,
            tenant_claim=self.oidc_tenant_claim,
            # An agent token without a scope claim may do what a desktop token may.
            default_scopes=AGENT_SCOPES,
        )
