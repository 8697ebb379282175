"""The connectors' sections: the CRM sink worker, the desktop gateway and the ingest webhook."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Literal

from pydantic import (
    AliasChoices,
    Field,
    PositiveFloat,
    PositiveInt,
    SecretBytes,
    SecretStr,
    ValidationInfo,
    field_validator,
)

from infra.settings_base import ConfigError, Section
from infra.settings_streams import KafkaSection, ModeSection

# `c360 dev up` must work with no configuration; a published secret is only acceptable
# there, because anyone holding it can mint a token for any agent.
DEV_SECRET = "c360-dev-gateway-secret-not-secret"  # noqa: S105 - dev-only, by design
MIN_SECRET = 16
DEV_AGENTS = ("agent-1", "agent-2", "agent-3")
# Tenant ids end up in event ids, Redis keys and Kafka keys: keep them to a boring alphabet.
TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ANY_SOURCE = "*"


class WorkerConfigError(ConfigError):
    """Invalid CRM sink worker configuration; the message lists every problem at once."""


class GatewayConfigError(ConfigError):
    """Invalid gateway configuration; the message lists every problem at once."""


class IngestConfigError(ConfigError):
    """Invalid ingest configuration; the message lists every problem at once."""


def _is_dev(value: object) -> object:
    # The dev flags are read from C360_ENV; constructed directly they are booleans.
    return value == "dev" if isinstance(value, str) else value


class WorkerSettings(KafkaSection, ModeSection):
    """Everything `python -m connectors.crm.worker` needs besides the adapters' own config."""

    config_error = WorkerConfigError
    error_title = "invalid CRM worker configuration: "

    group_id: str = Field(default="c360-crm-sink", validation_alias="C360_CRM_GROUP_ID")
    client_id: str = Field(default="c360-crm-sink", validation_alias="C360_CRM_CLIENT_ID")
    # Ledger of written activities (idempotency key -> CRM ids, revision): sqlite file in
    # data_dir, or "memory" (then the CRM-side upsert by key is the only dedupe).
    ledger: Literal["sqlite", "memory"] = Field(
        default="sqlite", validation_alias="C360_CRM_LEDGER"
    )
    data_dir: str = "./data"
    routing_file: str | None = Field(default=None, validation_alias="C360_CRM_ROUTING_FILE")
    default_crm: str | None = Field(default=None, validation_alias="C360_CRM_DEFAULT")
    create_contacts: bool = Field(default=False, validation_alias="C360_CRM_CREATE_CONTACTS")
    retry_initial_seconds: PositiveFloat = Field(
        default=0.5, validation_alias="C360_CRM_RETRY_INITIAL_SECONDS"
    )
    retry_max_seconds: PositiveFloat = Field(
        default=60.0, validation_alias="C360_CRM_RETRY_MAX_SECONDS"
    )
    # Past this, a request the CRM keeps refusing as transient is dead-lettered
    # (infra_unavailable) so one poisoned request cannot hold its partition forever.
    retry_deadline_seconds: PositiveFloat = Field(
        default=86_400.0, validation_alias="C360_CRM_RETRY_DEADLINE_SECONDS"
    )
    max_payload_bytes: PositiveInt = 1_048_576
    poll_timeout_seconds: PositiveFloat = Field(
        default=1.0, validation_alias="C360_CRM_POLL_TIMEOUT_SECONDS"
    )
    max_poll_interval_ms: PositiveInt = Field(
        default=300_000, validation_alias="C360_CRM_MAX_POLL_INTERVAL_MS"
    )
    # How long the group waits for a member that vanished (kill -9) before handing its
    # partitions to another: lower = faster failover, higher = fewer false evictions.
    session_timeout_ms: PositiveInt = Field(
        default=45_000, validation_alias="C360_CRM_SESSION_TIMEOUT_MS"
    )
    # TEST ONLY: exit(137) right after a successful CRM write, before the ledger and the
    # offset commit, to prove a restart does not duplicate the activity.
    crash_after_write: bool = Field(
        default=False, validation_alias="C360_CRM_TEST_CRASH_AFTER_WRITE"
    )

    @field_validator("retry_max_seconds")
    @classmethod
    def _cap_above_initial(cls, value: float, info: ValidationInfo) -> float:
        if value < info.data.get("retry_initial_seconds", 0.0):
            raise ValueError("must be >= C360_CRM_RETRY_INITIAL_SECONDS")
        return value


class GatewaySettings(Section):
    """What the gateway reads from the environment (see docs/desktop.md for each variable)."""

    config_error = GatewayConfigError
    error_title = "invalid gateway configuration: "

    dev: bool = Field(default=False, validation_alias=AliasChoices("C360_ENV", "dev"))
    signing_key: SecretBytes = Field(
        default=SecretBytes(b""),
        validation_alias=AliasChoices("C360_GATEWAY_SECRET", "secret"),
        repr=False,
        exclude=True,
    )
    token_ttl_seconds: int = Field(
        default=12 * 3600, ge=60, validation_alias="C360_GATEWAY_TOKEN_TTL_SECONDS"
    )
    buffer_size: int = Field(default=20, ge=1, validation_alias="C360_GATEWAY_BUFFER")
    recent_seconds: int = Field(default=900, ge=0, validation_alias="C360_GATEWAY_RECENT_SECONDS")
    # A pop that rang longer ago than this is shown as an earlier call, never as ringing.
    fresh_seconds: int = Field(default=120, ge=0, validation_alias="C360_GATEWAY_FRESH_SECONDS")
    heartbeat_seconds: int = Field(
        default=15, ge=1, validation_alias="C360_GATEWAY_HEARTBEAT_SECONDS"
    )
    max_reread: int = Field(default=10_000, ge=1, validation_alias="C360_GATEWAY_MAX_REREAD")
    warm_records: int = Field(default=200, ge=0, validation_alias="C360_GATEWAY_WARM_RECORDS")
    ready_timeout_seconds: int = Field(
        default=15, ge=1, validation_alias="C360_GATEWAY_READY_TIMEOUT_SECONDS"
    )
    dev_agents: tuple[str, ...] = Field(
        default=DEV_AGENTS, validation_alias=AliasChoices("C360_GATEWAY_DEV_AGENTS", "dev_agents")
    )

    @field_validator("dev", mode="before")
    @classmethod
    def _dev(cls, value: object) -> object:
        return _is_dev(value)

    @field_validator("signing_key")
    @classmethod
    def _secret_outside_dev(cls, value: SecretBytes, info: ValidationInfo) -> SecretBytes:
        if not value.get_secret_value():
            if info.data.get("dev"):
                return SecretBytes(DEV_SECRET.encode())
            raise ValueError("is required outside C360_ENV=dev")
        if len(value.get_secret_value()) < MIN_SECRET:
            raise ValueError(f"must be at least {MIN_SECRET} characters")
        return value

    @field_validator("dev_agents", mode="before")
    @classmethod
    def _agents(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(a.strip() for a in value.split(",") if a.strip()) or DEV_AGENTS
        return value

    @property
    def secret(self) -> bytes:
        """The token signing secret (revealed only where tokens are signed or checked)."""
        return self.signing_key.get_secret_value()


def _pairs(raw: str) -> list[tuple[str, str]]:
    """ "tenant[/source]:secret" entries; raises ValueError numbering every bad one (never
    quoting a secret)."""
    out: list[tuple[str, str]] = []
    bad: list[str] = []
    for n, item in enumerate(filter(None, (p.strip() for p in raw.split(","))), start=1):
        scope, sep, secret = item.partition(":")
        tenant = scope.partition("/")[0]
        if not sep or not secret.strip() or not TENANT_RE.match(tenant):
            bad.append(f"#{n}")
            continue
        out.append((scope.strip(), secret.strip()))
    if bad:
        raise ValueError(f"entries {', '.join(bad)} are not tenant[/source]:secret")
    return out


class IngestSection(Section):
    """Credentials and limits of POST /v1/ingest/{source} (docs/ingest.md).

    `bearer_tokens` maps (tenant, source or "*") to the legacy bearer tokens accepted for
    it and `signing` to the secrets of X-C360-Signature (several each, so one can be rotated
    without downtime); `twilio_tokens` maps tenant to the Twilio account auth token used to
    check X-Twilio-Signature. A credential always stands for exactly one tenant.
    """

    config_error = IngestConfigError
    error_title = "invalid ingest configuration: "

    bearer_tokens: dict[tuple[str, str], tuple[SecretStr, ...]] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("C360_INGEST_TOKENS", "tokens"),
        repr=False,
        exclude=True,
    )
    twilio_tokens: dict[str, SecretStr] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("C360_TWILIO_AUTH_TOKENS", "twilio_auth_tokens"),
        repr=False,
        exclude=True,
    )
    signing: dict[tuple[str, str], tuple[SecretStr, ...]] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("C360_INGEST_SIGNING_SECRETS", "signing_secrets"),
        repr=False,
        exclude=True,
    )
    dev: bool = Field(default=False, validation_alias=AliasChoices("C360_ENV", "dev"))
    public_base_url: str | None = Field(default=None, validation_alias="C360_INGEST_PUBLIC_URL")
    ack_timeout_ms: PositiveInt = Field(
        default=10_000, validation_alias="C360_INGEST_ACK_TIMEOUT_MS"
    )

    @field_validator("dev", mode="before")
    @classmethod
    def _dev(cls, value: object) -> object:
        return _is_dev(value)

    @field_validator("bearer_tokens", "signing", mode="before")
    @classmethod
    def _tokens(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        tokens: dict[tuple[str, str], tuple[str, ...]] = {}
        for scope, secret in _pairs(value):
            tenant, _, source = scope.partition("/")
            key = (tenant, source or ANY_SOURCE)
            tokens[key] = (*tokens.get(key, ()), secret)
        return tokens

    @field_validator("bearer_tokens")
    @classmethod
    def _one_tenant_per_token(
        cls, value: dict[tuple[str, str], tuple[SecretStr, ...]]
    ) -> dict[tuple[str, str], tuple[SecretStr, ...]]:
        # The tenant of an ingested event is the token's: a token shared by two tenants
        # would leave that undecided.
        owner: dict[str, str] = {}
        for (tenant, _source), secrets in value.items():
            for secret in secrets:
                first = owner.setdefault(secret.get_secret_value(), tenant)
                if first != tenant:
                    raise ValueError(f"one token is configured for both {first} and {tenant}")
        return value

    @field_validator("signing")
    @classmethod
    def _long_enough(
        cls, value: dict[tuple[str, str], tuple[SecretStr, ...]]
    ) -> dict[tuple[str, str], tuple[SecretStr, ...]]:
        short = sorted(
            f"{tenant}/{source}"
            for (tenant, source), secrets in value.items()
            for secret in secrets
            if len(secret.get_secret_value()) < MIN_SECRET
        )
        if short:
            raise ValueError(
                f"secrets must be at least {MIN_SECRET} characters: {', '.join(short)}"
            )
        return value

    @field_validator("twilio_tokens", mode="before")
    @classmethod
    def _twilio(cls, value: object) -> object:
        return dict(_pairs(value)) if isinstance(value, str) else value

    @field_validator("public_base_url")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        value = (value or "").rstrip("/") or None
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @cached_property
    def tokens(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """Bearer tokens by (tenant, source or "*"), revealed for comparison."""
        return {k: tuple(s.get_secret_value() for s in v) for k, v in self.bearer_tokens.items()}

    @cached_property
    def signing_secrets(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """X-C360-Signature secrets by (tenant, source or "*"), revealed for verification."""
        return {k: tuple(s.get_secret_value() for s in v) for k, v in self.signing.items()}

    @cached_property
    def twilio_auth_tokens(self) -> dict[str, str]:
        """Twilio account auth tokens by tenant, revealed for signature checks."""
        return {k: v.get_secret_value() for k, v in self.twilio_tokens.items()}

    @property
    def ack_timeout_seconds(self) -> float:
        """How long a request waits for the broker's acknowledgement."""
        return self.ack_timeout_ms / 1000
